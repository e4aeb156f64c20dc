"""Docker's volume plugin protocol (docs: "Docker volume plugins"): JSON over HTTP on a unix socket found by
name in the plugin directories (`/run/docker/plugins/<name>.sock`, or a `<name>.spec` file holding
`unix:///path`). Each call is `POST /VolumeDriver.<Method>`; an answer's non-empty `Err` is the error."""
from __future__ import annotations

import http.client
import json
import os
import socket

from ..errors import NotFound, SystemError_

PLUGIN_DIRS = ("/run/docker/plugins", "/etc/docker/plugins", "/usr/lib/docker/plugins")
CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"
TIMEOUT = 30.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("plugin", timeout=TIMEOUT)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.path)


def find_socket(name: str, dirs=PLUGIN_DIRS) -> str | None:
    for d in dirs:
        for sock in (os.path.join(d, name + ".sock"), os.path.join(d, name, name + ".sock")):
            if os.path.exists(sock):
                return sock
        spec = os.path.join(d, name + ".spec")
        if os.path.exists(spec):
            with open(spec) as f:
                address = f.read().strip()
            if address.startswith("unix://"):  # tcp plugins would send volume traffic off this machine
                return address[len("unix://"):]
    return None


class PluginDriver:
    def __init__(self, name: str, socket_path: str):
        self.name, self.socket_path = name, socket_path
        self.scope = "local"

    @classmethod
    def lookup(cls, name: str, dirs=PLUGIN_DIRS) -> "PluginDriver":
        """The activated plugin, or NotFound in moby's words (the caller prefixes `create NAME: `)."""
        path = find_socket(name, dirs)
        if path is None:
            raise NotFound(f'error looking up volume plugin {name}: plugin "{name}" not found')
        driver = cls(name, path)
        try:
            manifest = driver._call("Plugin.Activate", {})
        except SystemError_ as err:
            raise NotFound(f"error looking up volume plugin {name}: {err}") from None
        if "VolumeDriver" not in (manifest.get("Implements") or []):
            raise NotFound(f"error looking up volume plugin {name}: Plugin does not implement the requested driver")
        try:
            caps = driver._call("VolumeDriver.Capabilities", {})
            driver.scope = (caps.get("Capabilities") or {}).get("Scope") or "local"
        except SystemError_:
            pass  # Capabilities is optional in the protocol
        return driver

    def _call(self, method: str, body: dict) -> dict:
        conn = _UnixConnection(self.socket_path)
        try:
            conn.request("POST", "/" + method, body=json.dumps(body),
                         headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as err:
            raise SystemError_(f"{method}: {err}") from None
        finally:
            conn.close()
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:
            answer = {"Err": raw.decode(errors="replace").strip()}
        if answer.get("Err") or resp.status >= 400:
            raise SystemError_(f"{method}: {answer.get('Err') or resp.reason}")
        return answer

    def create(self, name: str, options: dict) -> None:
        self._call("VolumeDriver.Create", {"Name": name, "Opts": options or {}})

    def remove(self, name: str) -> None:
        self._call("VolumeDriver.Remove", {"Name": name})

    def mount(self, name: str, mount_id: str) -> str:
        return self._call("VolumeDriver.Mount", {"Name": name, "ID": mount_id}).get("Mountpoint") or ""

    def unmount(self, name: str, mount_id: str) -> None:
        self._call("VolumeDriver.Unmount", {"Name": name, "ID": mount_id})

    def path(self, name: str) -> str:
        try:
            return self._call("VolumeDriver.Path", {"Name": name}).get("Mountpoint") or ""
        except SystemError_:
            return ""
