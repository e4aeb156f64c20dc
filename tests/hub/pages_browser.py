"""Harness for the Hub page tests (the Hub server itself is conftest's `hub` fixture): a real headless Chromium
(Debian's chromium + chromedriver, driven by Selenium) that a test uses the way a person would: open a page,
fill a field found by its label, press a button found by its text, read the visible text. FormClient posts
the same forms without a browser (for the rights matrix and CSRF checks).

Chromium runs with the flags that keep it off the network (no background networking, sync, component
updates or QUIC), so the only server it ever talks to is the test's Hub on 127.0.0.1.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                  "--metrics-recording-only", "--disable-client-side-phishing-detection"]


class Browser:
    """One person's browser (own profile, own cookies), with helpers that find things as a person does."""

    def __init__(self, base_url: str, shots, name: str):
        self.base_url, self.shots, self.name = base_url, Path(shots), name
        self.profile = tempfile.mkdtemp(prefix=f"chromium-{name}-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={self.profile}", "--window-size=1280,1000"]:
            opts.add_argument(flag)
        self.log_path = self.shots / f"chromedriver-{name}.log"
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(self.log_path)), options=opts)
        self.driver.set_page_load_timeout(60)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            subprocess.run(["rm", "-rf", self.profile])

    # ---- navigation and reading ----
    def open(self, path: str) -> "Browser":
        self.driver.get(self.base_url + path)
        return self

    @property
    def path(self) -> str:
        url = self.driver.current_url
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    def text(self) -> str:
        """Everything a person can read on the page (rendered text, not markup)."""
        return self.driver.find_element(By.TAG_NAME, "body").text

    def heading(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "h1").text

    def links(self) -> list[str]:
        return [a.text for a in self.driver.find_elements(By.TAG_NAME, "a") if a.is_displayed()]

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{self.name}-{name}.png"
        height = self.driver.execute_script("return document.body.scrollHeight")
        width = self.driver.get_window_size()["width"]
        self.driver.set_window_size(width, min(max(height + 150, 600), 4000))
        self.driver.save_screenshot(str(path))
        return path

    def phone(self) -> None:
        self.driver.set_window_size(390, 844)

    def desktop(self) -> None:
        self.driver.set_window_size(1280, 1000)

    # ---- acting ----
    def field(self, label: str):
        """The form control whose <label> reads `label` (a person finds fields by their label)."""
        found = [el.get_attribute("for") for el in self.driver.find_elements(By.TAG_NAME, "label")
                 if el.text.strip() == label and el.get_attribute("for")]
        if len(found) != 1:     # none, or ambiguous: a person could not tell which field is meant either
            raise NoSuchElementException(f"{len(found)} fields labelled {label!r} on {self.path}")
        return self.driver.find_element(By.ID, found[0])

    def fill(self, label: str, value: str) -> "Browser":
        el = self.field(label)
        if el.tag_name == "select":
            from selenium.webdriver.support.ui import Select
            Select(el).select_by_visible_text(value)
        else:
            el.clear()
            el.send_keys(value)
        return self

    def choose(self, label: str) -> "Browser":
        self.field(label).click()
        return self

    def press(self, text: str, within: str | None = None) -> "Browser":
        """Click the visible button whose text or accessible name (what a screen reader says) is `text`,
        optionally inside the element with aria-label `within`."""
        scope = self.driver.find_element(By.CSS_SELECTOR, f'[aria-label="{within}"]') if within else self.driver
        for b in scope.find_elements(By.TAG_NAME, "button"):
            if b.is_displayed() and text in (b.text.strip(), b.accessible_name.strip()):
                if b.get_attribute("type") == "submit":
                    self._navigate(b.click)
                else:
                    b.click()
                return self
        raise NoSuchElementException(f"no button {text!r} on {self.path}")

    def follow(self, text: str) -> "Browser":
        self._navigate(self.driver.find_element(By.LINK_TEXT, text).click)
        return self

    def _navigate(self, action) -> None:
        """Do `action` (a click that loads a page) and wait until the new page replaced the old one."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        action()
        WebDriverWait(self.driver, 60).until(lambda _d: _gone(old))
        WebDriverWait(self.driver, 60).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def cookie(self, name: str) -> dict | None:
        return self.driver.get_cookie(name)

    # ---- journeys ----
    def sign_up(self, user: str, password: str) -> None:
        self.open("/signup").fill("Username", user).fill("Email", f"{user}@example.test").fill("Password", password)
        self.press("Sign up")

    def sign_in(self, user: str, password: str) -> None:
        self.open("/login").fill("Username", user).fill("Password", password).press("Sign in")


class FormClient:
    """A person's browser without the browser: httpx with a cookie jar, posting the pages' own forms (with the
    CSRF token read from the page the form is on). For the rights matrix and the CSRF tests."""

    TOKEN_RE = __import__("re").compile(r'name="csrf_token" value="([^"]*)"')

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def token(self, path: str) -> str:
        """The CSRF token in the forms of the page at `path`."""
        r = self.http.get(path)
        m = self.TOKEN_RE.search(r.text)
        assert m, (path, r.status_code, r.text[:500])
        return m.group(1)

    def post(self, path: str, data: dict, token: str | None = None) -> httpx.Response:
        """POST a form; `token` None sends no csrf_token field at all."""
        return self.http.post(path, data=data if token is None else {**data, "csrf_token": token})

    def sign_up(self, user: str, password: str) -> None:
        r = self.post("/signup", {"username": user, "email": f"{user}@example.test", "password": password},
                      self.token("/signup"))
        assert r.status_code == 303, r.text[:500]

    def sign_in(self, user: str, password: str) -> None:
        r = self.post("/login", {"username": user, "password": password, "next": "/"}, self.token("/login"))
        assert r.status_code == 303, r.text[:500]


def _gone(element) -> bool:
    """The element left the document (expected_conditions.staleness_of, plus Chrome's other word for it: an
    element caught mid-navigation answers "Node with given id does not belong to the document")."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        if "does not belong to the document" in str(err):
            return True
        raise
    return False
