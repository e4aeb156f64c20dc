"""Helpers for the registry server tests: a real server subprocess, OCI layouts to push, skopeo, raw uploads."""
import gzip
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time

import httpx
import yaml

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m dockyard.registry.server serve` as a real process on a free 127.0.0.1 port."""

    def __init__(self, storage: str, config: dict | None = None, workdir: str | None = None, tls: bool = False):
        self.storage = storage
        self.port = free_port()
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.workdir = workdir or storage + "-run"
        os.makedirs(self.workdir, exist_ok=True)
        self.config_path = os.path.join(self.workdir, "config.yml")
        with open(self.config_path, "w") as f:
            yaml.safe_dump(config or {}, f)
        self.log_path = os.path.join(self.workdir, "server.log")
        self.proc = None

    def start(self, timeout: float = 15) -> "Server":
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.registry.server", "serve", "--listen", self.host,
             "--storage", self.storage, "--config", self.config_path],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"registry exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", verify=False, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"registry did not come up:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def access_log(self) -> list[dict]:
        out = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=False, timeout=60, **kw)


# ---------- images ----------
def tar_layer(files: dict[str, bytes]) -> bytes:
    """A deterministic uncompressed layer tar of {path: content} (mode 0755 so binaries run)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()
        for path in sorted(files):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(files[path]), 0o755, 0
            tar.addfile(info, io.BytesIO(files[path]))
    return buf.getvalue()


def busybox_layer() -> bytes:
    with open("/bin/busybox", "rb") as f:
        return tar_layer({"bin/busybox": f.read()})


def image_config(layers: list[bytes], arch: str = "amd64", label: str = "") -> bytes:
    return json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/busybox", "sh"], "Labels": {"test": label} if label else {}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in layers]},
    }, sort_keys=True).encode()


class Image:
    """An OCI image whose layers are gzip-compressed (as registries hold them; skopeo keeps them as they are)."""

    def __init__(self, tars: list[bytes], arch: str = "amd64", label: str = ""):
        self.layers = [gzip.compress(t, mtime=0) for t in tars]
        self.config = image_config(tars, arch, label)
        self.arch = arch
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": OCI_LAYER + "+gzip", "digest": sha256(layer), "size": len(layer)} for layer in self.layers],
        }, sort_keys=True).encode()
        self.digest = sha256(self.manifest)

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


def write_blob(layout: str, data: bytes) -> str:
    digest = sha256(data)
    path = os.path.join(layout, "blobs", "sha256", digest.split(":")[1])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return digest


def oci_layout(layout: str, images: dict[str, Image], index_tag: str | None = None) -> str:
    """Write an OCI image layout. images: {tag: Image}. With index_tag, also an image index of all images."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    entries = []
    for tag, img in images.items():
        for blob in [*img.blobs(), img.manifest]:
            write_blob(layout, blob)
        entries.append({"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest),
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                        "platform": {"architecture": img.arch, "os": "linux"}})
    if index_tag:
        idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {k: v for k, v in e.items() if k != "annotations"} for e in entries]}, sort_keys=True).encode()
        write_blob(layout, idx)
        entries.append({"mediaType": OCI_INDEX, "digest": sha256(idx), "size": len(idx),
                        "annotations": {"org.opencontainers.image.ref.name": index_tag}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)
    return layout


# ---------- clients ----------
def skopeo(*args, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def push_blob(client: httpx.Client, repo: str, data: bytes, headers: dict | None = None) -> str:
    """Monolithic POST+PUT upload; returns the digest."""
    digest = sha256(data)
    r = client.post(f"/v2/{repo}/blobs/uploads/", headers=headers)
    assert r.status_code == 202, r.text
    r = client.put(r.headers["Location"], params={"digest": digest}, content=data,
                   headers={"Content-Type": "application/octet-stream", **(headers or {})})
    assert r.status_code == 201, r.text
    return digest


def push_image(client: httpx.Client, repo: str, tag: str, img: Image, headers: dict | None = None) -> httpx.Response:
    for blob in img.blobs():
        push_blob(client, repo, blob, headers)
    r = client.put(f"/v2/{repo}/manifests/{tag}", content=img.manifest,
                   headers={"Content-Type": OCI_MANIFEST, **(headers or {})})
    assert r.status_code == 201, r.text
    return r


def error_code(r: httpx.Response) -> str:
    return r.json()["errors"][0]["code"]
