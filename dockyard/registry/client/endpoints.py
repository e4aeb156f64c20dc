"""Where a registry name leads: URLs to try, in order, and the TLS settings for each, as Docker decides.

- `docker.io` (Docker Hub) is served by https://registry-1.docker.io (tokens from auth.docker.io);
  `registry-mirrors` are tried first when pulling from it, never when pushing.
- Every other registry is HTTPS with the system CAs plus `<certs_dir>/<host[:port]>/*.crt` (and client
  certificates `*.cert` + `*.key`), from /etc/dockyard/certs.d and /etc/docker/certs.d.
- An *insecure* registry (listed in `insecure-registries` by name or CIDR; loopback always is) is tried
  with HTTPS without verification first and then with plain HTTP, like dockerd does.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

DOCKER_HUB = "docker.io"
HUB_REGISTRY_URL = "https://registry-1.docker.io"
HUB_AUTH_REALM = "https://auth.docker.io/token"
# The key docker stores Hub credentials under in config.json, and what `docker login` sends.
HUB_CONFIG_KEY = "https://index.docker.io/v1/"
HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", HUB_CONFIG_KEY,
               "https://index.docker.io/v1", "index.docker.io/v1/", "https://registry-1.docker.io"}
DEFAULT_CERTS_DIRS = ("/etc/dockyard/certs.d", "/etc/docker/certs.d")
# dockerd's default insecure CIDRs: loopback only.
LOOPBACK_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class Endpoint:
    url: str                          # scheme://host[:port], no trailing slash
    ssl: ssl.SSLContext | bool        # aiohttp's `ssl=` argument: a context, or False for no verification
    mirror: bool = False

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://") and self.ssl is not False


def normalize_registry(server: str) -> str:
    """`https://index.docker.io/v1/`, `index.docker.io`, `docker.io` -> `docker.io`; others lose scheme/path."""
    s = (server or "").strip()
    if not s or s in HUB_ALIASES:
        return DOCKER_HUB
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    s = s.split("/", 1)[0]
    return DOCKER_HUB if s in HUB_ALIASES else s


def config_key(registry: str) -> str:
    """The config.json `auths` key for a registry (Hub keeps its historical v1 URL)."""
    registry = normalize_registry(registry)
    return HUB_CONFIG_KEY if registry == DOCKER_HUB else registry


def split_host_port(host: str) -> tuple[str, str]:
    """`[::1]:5000` -> (`::1`, `5000`); `localhost` -> (`localhost`, ``)."""
    if host.startswith("["):
        end = host.find("]")
        return host[1:end], host[end + 2:] if host[end + 1:end + 2] == ":" else ""
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port
    return host, ""


def split_insecure_registries(entries) -> tuple[list[str], list]:
    """dockerd's insecure-registries: CIDRs (networks) and registry names (host[:port]), scheme dropped."""
    names, nets = [], []
    for entry in entries or ():
        entry = entry.strip()
        for prefix in ("http://", "https://"):
            if entry.startswith(prefix):
                entry = entry[len(prefix):]
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry.rstrip("/"))
    return names, nets


class RegistryHosts:
    """Resolves registry names to endpoints; one instance per daemon configuration."""

    def __init__(self, insecure_registries=(), registry_mirrors=(), certs_dirs=DEFAULT_CERTS_DIRS,
                 resolve=socket.getaddrinfo, hub_url: str = HUB_REGISTRY_URL):
        self.configure(insecure_registries, registry_mirrors)
        self.certs_dirs = [Path(d) for d in certs_dirs]
        self.hub_url = hub_url  # the daemon's docker-hub-endpoint setting, if any
        self._resolve = resolve
        self._ssl_cache: dict[str, ssl.SSLContext] = {}

    def configure(self, insecure_registries=(), registry_mirrors=()) -> None:
        """The daemon's insecure-registries and registry-mirrors (at start, and again on a reload)."""
        names, nets = split_insecure_registries(insecure_registries)
        self.insecure_names: set[str] = set(names)
        self.insecure_nets: list = list(LOOPBACK_NETS) + nets
        self.mirrors = [m.rstrip("/") for m in registry_mirrors or ()]
        # The endpoint that last worked per registry, tried first next time (saves a TLS attempt on HTTP).
        self._preferred: dict[str, str] = {}

    # ------------------------------------------------------------------ decisions
    def is_insecure(self, registry: str) -> bool:
        registry = normalize_registry(registry)
        if registry == DOCKER_HUB:
            return False
        if registry in self.insecure_names:
            return True
        name, _ = split_host_port(registry)
        if name in self.insecure_names or name == "localhost":
            return True
        try:
            ips = [ipaddress.ip_address(name)]
        except ValueError:
            if len(self.insecure_nets) == len(LOOPBACK_NETS) and not name.endswith(".localhost"):
                return False  # only the defaults: a name cannot match without resolving it
            ips = self._lookup(name)
        return any(ip in net for ip in ips for net in self.insecure_nets)

    def _lookup(self, name: str) -> list:
        try:
            infos = self._resolve(name, None)
        except OSError:
            return []
        out = []
        for info in infos:
            try:
                out.append(ipaddress.ip_address(info[4][0]))
            except ValueError:
                pass
        return out

    def endpoints(self, registry: str, push: bool = False) -> list[Endpoint]:
        """Endpoints to try in order for `registry` (a reference's domain)."""
        registry = normalize_registry(registry)
        if registry == DOCKER_HUB:
            out = [] if push else [self._mirror(m) for m in self.mirrors]
            hub_host = self.hub_url.split("://", 1)[1]
            hub_tls = False if self.hub_url.startswith("http://") else self.ssl_context(hub_host)
            out.append(Endpoint(self.hub_url, hub_tls))
            return out
        if self.is_insecure(registry):
            out = [Endpoint(f"https://{registry}", False), Endpoint(f"http://{registry}", False)]
        else:
            out = [Endpoint(f"https://{registry}", self.ssl_context(registry))]
        preferred = self._preferred.get(registry)
        if preferred:
            out.sort(key=lambda e: e.url != preferred)
        return out

    def remember(self, registry: str, endpoint: Endpoint) -> None:
        if not endpoint.mirror:
            self._preferred[normalize_registry(registry)] = endpoint.url

    def _mirror(self, url: str) -> Endpoint:
        if "://" not in url:
            url = "https://" + url
        host = url.split("://", 1)[1].split("/", 1)[0]
        insecure = url.startswith("http://") or self.is_insecure(host)
        return Endpoint(url, False if insecure else self.ssl_context(host), mirror=True)

    # ------------------------------------------------------------------ TLS
    def ssl_context(self, host: str) -> ssl.SSLContext:
        """System CAs plus the registry's own CA files and client certificate from the certs dirs."""
        if host in self._ssl_cache:
            return self._ssl_cache[host]
        ctx = ssl.create_default_context()
        for base in self.certs_dirs:
            d = base / host
            if not d.is_dir():
                continue
            for f in sorted(d.iterdir()):
                if f.suffix == ".crt":
                    ctx.load_verify_locations(cafile=str(f))
                elif f.suffix == ".cert":
                    key = f.with_suffix(".key")
                    if key.exists():
                        ctx.load_cert_chain(str(f), str(key))
        self._ssl_cache[host] = ctx
        return ctx
