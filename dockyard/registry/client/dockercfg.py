"""The docker CLI's credentials: `~/.docker/config.json` and the `X-Registry-Auth` header.

config.json keeps `auths: {"<registry>": {"auth": base64("user:password"), "identitytoken": ...}}`,
with Docker Hub under `https://index.docker.io/v1/`. When `credHelpers[<registry>]` or `credsStore`
names a helper, credentials live in `docker-credential-<name>` instead (stdin/stdout protocol: `get`
reads the server URL and prints `{"ServerURL","Username","Secret"}`, `store` reads that JSON, `erase`
reads the URL); `auths` then only lists the registry with an empty entry, as docker writes it.
So docker and dockyard share logins.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import tempfile
from pathlib import Path

from ...errors import InvalidParameter, NotFound, SystemError_
from .endpoints import config_key, normalize_registry

TOKEN_USERNAME = "<token>"  # how helpers mark an identity token instead of a password


def default_config_dir() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env) if env else Path.home() / ".docker"


class DockerConfigFile:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_config_dir() / "config.json"
        self.data: dict = {}
        self.load()

    # ------------------------------------------------------------------ file
    def load(self) -> None:
        try:
            self.data = json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            self.data = {}
        except ValueError as err:
            raise InvalidParameter(f"loading config file {self.path}: {err}") from None

    def save(self) -> None:
        """Atomic replace, mode 0600 (the file holds secrets); other keys are kept as they were."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="config.json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.data, f, indent="\t")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ credentials
    def helper_for(self, registry: str) -> str | None:
        key = config_key(registry)
        helpers = self.data.get("credHelpers") or {}
        return helpers.get(key) or helpers.get(normalize_registry(registry)) or self.data.get("credsStore") or None

    def _auths_key(self, registry: str) -> str | None:
        """The existing `auths` key that means `registry` (docker accepts URLs with scheme and path)."""
        want = normalize_registry(registry)
        auths = self.data.get("auths") or {}
        if config_key(registry) in auths:
            return config_key(registry)
        return next((k for k in auths if normalize_registry(k) == want), None)

    def get(self, registry: str) -> dict:
        """An AuthConfig dict (username, password, identitytoken, serveraddress); empty fields if none."""
        key = config_key(registry)
        helper = self.helper_for(registry)
        if helper:
            got = credential_helper(helper, "get", key)
            if got:
                user, secret = got.get("Username", ""), got.get("Secret", "")
                if user == TOKEN_USERNAME:
                    return {"serveraddress": key, "identitytoken": secret}
                return {"serveraddress": key, "username": user, "password": secret}
            return {"serveraddress": key}
        entry = (self.data.get("auths") or {}).get(self._auths_key(registry) or "", {})
        out = {"serveraddress": key}
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidParameter(f"invalid auth configuration file {self.path}") from None
            out.update(username=user, password=password)
        for field in ("username", "password"):
            if entry.get(field) and field not in out:
                out[field] = entry[field]
        if entry.get("identitytoken"):
            out["identitytoken"] = entry["identitytoken"]
        return out

    def store(self, registry: str, auth: dict) -> None:
        key = config_key(registry)
        auths = self.data.setdefault("auths", {})
        old = self._auths_key(registry)
        if old and old != key:
            auths.pop(old)
        helper = self.helper_for(registry)
        user, secret = auth.get("username", ""), auth.get("password", "")
        if auth.get("identitytoken"):
            user, secret = TOKEN_USERNAME, auth["identitytoken"]
        if helper:
            credential_helper(helper, "store", json.dumps({"ServerURL": key, "Username": user, "Secret": secret}))
            auths[key] = {}
        else:
            entry = {}
            if auth.get("username") or auth.get("password"):
                entry["auth"] = base64.b64encode(f"{auth.get('username', '')}:{auth.get('password', '')}".encode()).decode()
            if auth.get("identitytoken"):
                entry["identitytoken"] = auth["identitytoken"]
            auths[key] = entry
        self.save()

    def erase(self, registry: str) -> bool:
        """Forget a login; False when there was none (docker then says `Not logged in to ...`)."""
        key = config_key(registry)
        auths = self.data.get("auths") or {}
        old = self._auths_key(registry)
        helper = self.helper_for(registry)
        found = old is not None
        if helper:
            try:
                credential_helper(helper, "erase", key)
                found = True
            except NotFound:
                pass
        if old is not None:
            auths.pop(old)
        if found:
            self.save()
        return found


def credential_helper(name: str, action: str, payload: str) -> dict | None:
    """Run `docker-credential-<name> <action>` with `payload` on stdin; `get` returns the parsed JSON."""
    program = f"docker-credential-{name}"
    try:
        p = subprocess.run([program, action], input=payload.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        raise SystemError_(f"error getting credentials - err: exec: \"{program}\": executable file not found "
                           f"in $PATH, out: ``") from None
    out = p.stdout.decode(errors="replace").strip()
    if p.returncode != 0:
        if "credentials not found" in out.lower():
            if action == "get":
                return None
            raise NotFound(out)
        raise SystemError_(f"error {'getting' if action == 'get' else action + 'ing'} credentials - "
                           f"err: exit status {p.returncode}, out: `{out}`")
    if action != "get":
        return None
    try:
        return json.loads(out)
    except ValueError:
        raise SystemError_(f"error getting credentials - {program} printed something other than JSON") from None


# ---------------------------------------------------------------------- X-Registry-Auth
def decode_registry_auth(header: str | None) -> dict | None:
    """The AuthConfig the docker CLI sends: base64url (padded or not) JSON. None when empty."""
    if not header:
        return None
    raw = header.strip()
    try:
        padded = raw + "=" * (-len(raw) % 4)
        data = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        cfg = json.loads(data)
    except (binascii.Error, ValueError) as err:
        raise InvalidParameter(f"invalid X-Registry-Auth header: {err}") from None
    if not isinstance(cfg, dict):
        raise InvalidParameter("invalid X-Registry-Auth header: not a JSON object")
    return {str(k).lower(): v for k, v in cfg.items()} or None


def encode_registry_auth(auth: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
