"""Test helpers for the registry client: Debian's docker-registry as a real process, a token server,
images built from /bin/busybox in OCI layouts, and skopeo to put them into a registry.

Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import asyncio
import base64
import datetime
import gzip
import hashlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

DOCKER_REGISTRY = "/usr/bin/docker-registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(coro):
    """Run a coroutine to completion (tests are plain functions; no pytest-asyncio needed)."""
    return asyncio.run(coro)


# ---------------------------------------------------------------------- docker-registry
def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """bcrypt entries, the only kind docker-registry's htpasswd auth accepts (as `htpasswd -B` writes)."""
    import bcrypt

    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(5)).decode()}\n"
                            for u, p in users.items()))
    return path


class DockerRegistry:
    """`docker-registry <config.yml>` (distribution 2.8) on a free loopback port, filesystem storage."""

    def __init__(self, workdir: Path, auth: dict | None = None, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage = self.workdir / "storage"
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.config_path = self.workdir / "config.yml"
        self.log_path = self.workdir / "registry.log"
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}, "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if auth:
            config["auth"] = auth
        self.config_path.write_text(yaml.safe_dump(config))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> "DockerRegistry":
        self._log = open(self.log_path, "ab")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OTEL_TRACES_EXPORTER": "none"}
        self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", str(self.config_path)], stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}:\n{self.log()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not come up:\n" + self.log()[-2000:])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def blob_path(self, digest: str) -> Path:
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


# ---------------------------------------------------------------------- images
def tar_layer(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A deterministic uncompressed layer tar: {path: content} (mode 0755) plus {path: symlink target}."""
    buf = io.BytesIO()
    entries = {**{p: ("file", c) for p, c in files.items()}, **{p: ("link", t) for p, t in (symlinks or {}).items()}}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for path in sorted(entries):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
            kind, value = entries[path]
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = 0o755, 0
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
    return buf.getvalue()


def busybox_layer() -> bytes:
    return tar_layer({"bin/busybox": Path("/bin/busybox").read_bytes()},
                     {"bin/sh": "busybox", "bin/echo": "busybox", "bin/cat": "busybox", "bin/ls": "busybox"})


class Image:
    """An OCI image with gzip layers (as registries keep them), ready for an OCI layout."""

    def __init__(self, tars: list[bytes], arch: str = "amd64", variant: str = "", label: str = "",
                 cmd: list[str] | None = None):
        self.tars = tars
        self.layers = [gzip.compress(t, mtime=0) for t in tars]
        self.diff_ids = [sha256(t) for t in tars]
        self.arch, self.variant = arch, variant
        config = {
            "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"], "Labels": {"test": label} if label else None},
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(tars))],
        }
        if variant:
            config["variant"] = variant
        self.config = json.dumps(config, sort_keys=True).encode()
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(l), "size": len(l)} for l in self.layers],
        }, sort_keys=True).encode()
        self.digest = sha256(self.manifest)
        self.id = sha256(self.config)

    @property
    def platform(self) -> dict:
        p = {"architecture": self.arch, "os": "linux"}
        if self.variant:
            p["variant"] = self.variant
        return p

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


def index_of(images: list[Image]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest), "platform": img.platform}
        for img in images]}, sort_keys=True).encode()


def oci_layout(layout: Path, tag: str, images: list[Image], as_index: bool = False) -> Path:
    """An OCI image layout whose `tag` is the single image, or an index of all `images`."""
    blobs = Path(layout) / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (Path(layout) / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def put(data: bytes) -> str:
        d = sha256(data)
        (blobs / d.split(":")[1]).write_bytes(data)
        return d

    for img in images:
        for b in [*img.blobs(), img.manifest]:
            put(b)
    if as_index:
        idx = index_of(images)
        entry = {"mediaType": OCI_INDEX, "digest": put(idx), "size": len(idx)}
    else:
        entry = {"mediaType": OCI_MANIFEST, "digest": images[0].digest, "size": len(images[0].manifest)}
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (Path(layout) / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return Path(layout)


def skopeo_copy(layout: Path, tag: str, dest: str, all_images: bool = False, creds: str | None = None,
                preserve: bool = True) -> None:
    """`skopeo copy oci:<layout>:<tag> docker://<dest>` over plain HTTP, keeping the OCI manifest bytes."""
    args = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "-q"]
    if all_images:
        args.append("--all")
    if preserve:
        args.append("--preserve-digests")
    if creds:
        args += ["--dest-creds", creds]
    args += [f"oci:{layout}:{tag}", f"docker://{dest}"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{p.stderr}")


# ---------------------------------------------------------------------- token server
def make_signing_cert(workdir: Path) -> tuple[object, Path, str]:
    """A self-signed RSA certificate: (private key, cert PEM path for rootcertbundle, base64 DER for x5c)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = Path(workdir) / "token-cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return key, path, der


class TokenServer:
    """A docker-distribution token server (auth-token.md) in a thread with its own event loop.

    `users` {name: password} may have any access; anonymous callers get `pull` on repositories whose
    name starts with `public/`. Every request is recorded in `requests` as (method, query, user).
    """

    SERVICE = "dockyard-test-registry"
    ISSUER = "dockyard-test-issuer"

    def __init__(self, workdir: Path, users: dict[str, str]):
        self.users = users
        self.key, self.cert_path, self.x5c = make_signing_cert(workdir)
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.requests: list[tuple[str, dict, str]] = []
        self.refresh_tokens: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = None

    def registry_auth(self) -> dict:
        return {"token": {"realm": self.realm, "service": self.SERVICE, "issuer": self.ISSUER,
                          "rootcertbundle": str(self.cert_path)}}

    def start(self) -> "TokenServer":
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/token", self._handle)
        app.router.add_post("/token", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(web), self._loop).result(10)
        return self

    async def _start(self, web) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _authenticate(self, request, form) -> str | None | bool:
        """The user name, None for anonymous, False for bad credentials."""
        if form.get("grant_type") == "refresh_token":
            return self.refresh_tokens.get(form.get("refresh_token", ""), False)
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else False

    async def _handle(self, request):
        from aiohttp import web
        import jwt

        form = dict(await request.post()) if request.method == "POST" else {}
        query = {k: request.query.getall(k) for k in request.query}
        scopes = query.get("scope", []) + (form.get("scope", "").split() if form.get("scope") else [])
        user = self._authenticate(request, form)
        self.requests.append((request.method, {**query, **{k: [v] for k, v in form.items()}}, user or ""))
        if user is False:
            return web.json_response({"details": "incorrect username or password"}, status=401)
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if user else [a for a in wanted if a == "pull" and name.startswith("public/")]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": self.ISSUER, "sub": user or "", "aud": self.SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [self.x5c]})
        body = {"token": token, "access_token": token, "expires_in": 300,
                "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if user and (query.get("offline_token") == ["true"] or form.get("grant_type") == "refresh_token"):
            refresh = secrets.token_hex(16)
            self.refresh_tokens[refresh] = user
            body["refresh_token"] = refresh
        return web.json_response(body)


# ---------------------------------------------------------------------- slow link
class ThrottledProxy:
    """A TCP proxy on 127.0.0.1 that sends the upstream's bytes at `rate` bytes/s per connection, so a
    test can stop the registry while a pull is surely in the middle of a blob. `stop()` drops every
    connection and stops listening (connections are then refused)."""

    def __init__(self, upstream_port: int, rate: int, port: int | None = None):
        self.upstream_port, self.rate = upstream_port, rate
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._loop = None
        self._thread = None
        self._server = None
        self._writers: set = set()

    def start(self) -> "ThrottledProxy":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _handle(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pump(src, dst, throttle: bool):
            try:
                while data := await src.read(16384):
                    dst.write(data)
                    await dst.drain()
                    if throttle:
                        await asyncio.sleep(len(data) / self.rate)
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))

    def stop(self) -> None:
        async def close():
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
