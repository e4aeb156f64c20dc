"""Helpers for the Hub tests: a real `dockyard registry serve --hub` process, accounts made with the real admin
CLI, Hub API clients signed in with a JWT, registry tokens from the token service, a web hook receiver."""
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "registry_server"))
from regsrv_helpers import (OCI_MANIFEST, Image, Server, error_code, oci_layout, push_blob,  # noqa: E402,F401
                            push_image, skopeo, tar_layer)

HUB_CONFIG = {"hub": {"enabled": True, "webhook_allowlist": ["127.0.0.1"], "bcrypt_rounds": 4,
                      "webhook_backoff": "100ms", "webhook_timeout": "2s"}}


def password(user: str) -> str:
    return f"{user}-password"


class HubServer(Server):
    """`dockyard registry serve --hub` (through the real CLI) on a free 127.0.0.1 port."""

    def start(self, timeout: float = 20) -> "HubServer":
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "registry", "serve", "--hub", "--listen", self.host,
             "--storage", self.storage, "--config", self.config_path], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hub did not come up:\n{self.log()}")

    # ---- the admin CLI ----
    def user_cli(self, *args, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "dockyard", "registry", "user", *args, "--storage", self.storage,
                            "--config", self.config_path], input=input, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"user {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p

    def add_user(self, name: str, pw: str | None = None) -> str:
        self.user_cli("add", name, "--password-stdin", input=(pw or password(name)) + "\n")
        return name

    # ---- clients ----
    def jwt(self, user: str, secret: str | None = None) -> str:
        r = httpx.post(f"{self.url}/v2/users/login", json={"username": user, "password": secret or password(user)})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def api(self, user: str | None = None, secret: str | None = None) -> httpx.Client:
        """A Hub API client: signed in as `user` (a Bearer JWT from /v2/users/login) or anonymous."""
        headers = {"Authorization": f"Bearer {self.jwt(user, secret)}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def registry_token(self, user: str | None, scope: str, secret: str | None = None) -> tuple[int, list]:
        """(status, granted actions on the scope's repository) from the token service, as docker asks it."""
        headers = {}
        if user:
            creds = f"{user}:{secret or password(user)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
        r = httpx.get(f"{self.url}/token", params={"service": "dockyard-registry", "scope": scope}, headers=headers)
        if r.status_code != 200:
            return r.status_code, []
        payload = r.json()["token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return 200, [a for entry in claims["access"] for a in entry["actions"]]

    def v2(self, user: str | None, repo: str, actions: str = "pull", secret: str | None = None) -> httpx.Client:
        """A v2 API client holding a registry token for `repository:<repo>:<actions>` (what docker does)."""
        headers = {}
        if user:
            creds = f"{user}:{secret or password(user)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
        r = httpx.get(f"{self.url}/token", params={"service": "dockyard-registry",
                                                   "scope": f"repository:{repo}:{actions}"}, headers=headers)
        assert r.status_code == 200, r.text
        return httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {r.json()['token']}"})

    def push(self, user: str, repo: str, tag: str, img: Image | None = None) -> Image:
        img = img or Image([f"{repo}:{tag} layer".encode()])
        with self.v2(user, repo, "pull,push") as c:
            push_image(c, repo, tag, img)
        return img


class Receiver:
    """A web hook receiver on 127.0.0.1; answers `codes` in turn (then 200)."""

    def __init__(self, codes: list[int] | None = None):
        self.bodies, self.codes = [], list(codes or [])
        self.attempts = 0
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.cond:
                    outer.attempts += 1
                    code = outer.codes.pop(0) if outer.codes else 200
                    if code == 200:
                        outer.bodies.append(json.loads(body))
                    outer.cond.notify_all()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int = 1, timeout: float = 20) -> list[dict]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.bodies) >= count, timeout)
            return list(self.bodies)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(pred, timeout: float = 20, what: str = "condition"):
    """Poll `pred` (a state the server reaches asynchronously, e.g. a delivery recorded) until it is truthy."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def message(r: httpx.Response) -> str:
    return r.json()["message"]


TOKEN_RE = re.compile(r"^dckr_pat_[A-Za-z0-9_-]{20,}$")
