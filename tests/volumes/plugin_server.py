"""A small volume plugin of the tests' own, speaking Docker's volume plugin protocol on a unix socket in
/run/docker/plugins: volumes are directories under its root; every call is recorded for the tests to check."""
from __future__ import annotations

import json
import os
import shutil
import socketserver
import threading
from http.server import BaseHTTPRequestHandler

PLUGIN_DIR = "/run/docker/plugins"


class VolumePlugin:
    def __init__(self, name: str, root: str, fail_create: str = ""):
        self.name, self.root, self.fail_create = name, root, fail_create
        self.calls: list[tuple[str, dict]] = []
        self.volumes: dict[str, dict] = {}
        os.makedirs(PLUGIN_DIR, exist_ok=True)
        self.socket = os.path.join(PLUGIN_DIR, name + ".sock")
        plugin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                method = self.path.lstrip("/")
                plugin.calls.append((method, body))
                answer = plugin.handle(method, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.server = Server(self.socket, Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def data_dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def handle(self, method: str, body: dict) -> dict:
        name = body.get("Name", "")
        if method == "Plugin.Activate":
            return {"Implements": ["VolumeDriver"]}
        if method == "VolumeDriver.Capabilities":
            return {"Capabilities": {"Scope": "local"}}
        if method == "VolumeDriver.Create":
            if name == self.fail_create:
                return {"Err": "no space left in the test plugin"}
            os.makedirs(self.data_dir(name), exist_ok=True)
            self.volumes[name] = {"opts": body.get("Opts") or {}, "mounts": set()}
            return {"Err": ""}
        if name not in self.volumes:
            return {"Err": f"no such volume {name}"}
        if method == "VolumeDriver.Remove":
            shutil.rmtree(self.data_dir(name), ignore_errors=True)
            del self.volumes[name]
        elif method == "VolumeDriver.Mount":
            self.volumes[name]["mounts"].add(body["ID"])
            return {"Mountpoint": self.data_dir(name), "Err": ""}
        elif method == "VolumeDriver.Unmount":
            self.volumes[name]["mounts"].discard(body["ID"])
        elif method == "VolumeDriver.Path":
            return {"Mountpoint": self.data_dir(name), "Err": ""}
        elif method == "VolumeDriver.Get":
            return {"Volume": {"Name": name, "Mountpoint": self.data_dir(name)}, "Err": ""}
        return {"Err": ""}

    def methods(self, name: str) -> list[str]:
        return [m.split(".", 1)[1] for m, body in self.calls if body.get("Name") == name]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        if os.path.exists(self.socket):
            os.unlink(self.socket)
