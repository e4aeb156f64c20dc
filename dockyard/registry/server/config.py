"""Registry configuration: a YAML file shaped like docker/distribution's config.yml, plus dockyard's `access` rules.

    http:    {addr: 127.0.0.1:5000, tls: {certificate: cert.pem, key: key.pem}}
    storage: {filesystem: {rootdirectory: /var/lib/registry}, delete: {enabled: true}}
    auth:    {htpasswd: {realm: r, path: users.htpasswd}}
          or {token: {realm: (default <scheme>://<host>/token), service: s, issuer: i,
                      key: private.pem | secret: hmac-secret, htpasswd: users.htpasswd, expiration: 300}}
    access:  {admins: [root], user_namespaces: true,
              default: {public: false, pull: ["*"], push: ["*"]},   (public: anonymous pulls)
              repositories: [{match: "team/*", public: false, pull: [bob], push: [alice]}]}
    notifications: {endpoints: [{name, url, headers, timeout: 1s, threshold: 10, backoff: 1s,
                                 ignoredmediatypes: [...], ignore: {mediatypes: [...], actions: [...]}}]}
             (threshold: consecutive failures retried at once before each retry waits `backoff`;
              distribution's defaults apply to missing or non-positive values)
    log:     {accesslog: {disabled: false, path: (stderr)}}
    hub:     {enabled: false, ...}   the Docker Hub layer's own settings, read by dockyard.hub.config
Command-line --listen and --storage override http.addr and the storage root.
"""
from dataclasses import dataclass, field
import re

import yaml

from ...units import parse_duration as go_duration


@dataclass
class Rule:
    """Who may do what on repositories whose name matches `match` (fnmatch glob). "*" in a list = any signed-in user.
    Not public unless configured: with auth on, anonymous callers get nothing, as with registry:2."""
    match: str = "*"
    public: bool = False
    pull: list[str] = field(default_factory=lambda: ["*"])
    push: list[str] = field(default_factory=lambda: ["*"])


@dataclass
class AccessConfig:
    admins: list[str] = field(default_factory=list)
    user_namespaces: bool = True      # user "alice" may push/pull "alice/*"
    default: Rule = field(default_factory=Rule)
    repositories: list[Rule] = field(default_factory=list)


@dataclass
class AuthConfig:
    kind: str = "none"                 # none | htpasswd | token
    realm: str = ""
    htpasswd: str = ""
    service: str = "dockyard-registry"
    issuer: str = "dockyard-registry-token-issuer"
    key: str = ""                      # PEM private key (RSA -> RS256, EC -> ES256)
    secret: str = ""                   # or a shared secret (HS256)
    expiration: int = 300


@dataclass
class Endpoint:
    name: str
    url: str
    headers: dict = field(default_factory=dict)
    timeout: float = 1.0
    threshold: int = 10
    backoff: float = 1.0
    ignored_mediatypes: list[str] = field(default_factory=list)
    ignored_actions: list[str] = field(default_factory=list)
    disabled: bool = False


@dataclass
class Config:
    listen: str = "127.0.0.1:5000"
    storage: str = "/var/lib/dockyard-registry"
    delete_enabled: bool = True
    tls_cert: str = ""
    tls_key: str = ""
    auth: AuthConfig = field(default_factory=AuthConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    endpoints: list[Endpoint] = field(default_factory=list)
    accesslog: bool = True
    accesslog_path: str = ""
    max_manifest_size: int = 4 * 1024 * 1024
    hub: dict = field(default_factory=dict)   # raw `hub:` section; dockyard.hub.config parses it

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0] or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


def parse_duration(value) -> float:
    """Go-style durations ("500ms", "1s", "2m"); bare numbers are seconds."""
    if isinstance(value, (int, float)) or re.fullmatch(r"\s*[0-9.]+\s*", str(value)):
        return float(value)
    return go_duration(str(value))


def _positive(value, default):
    return value if value > 0 else default


def _rule(d: dict, default: Rule | None = None) -> Rule:
    base = default or Rule()
    return Rule(match=d.get("match", base.match), public=bool(d.get("public", base.public)),
                pull=list(d.get("pull", base.pull)), push=list(d.get("push", base.push)))


def load(path: str | None = None, listen: str | None = None, storage: str | None = None) -> Config:
    raw = {}
    if path:
        with open(path) as f:
            raw = yaml.safe_load(f) or {}
    cfg = Config()
    http = raw.get("http") or {}
    cfg.listen = listen or http.get("addr") or cfg.listen
    tls = http.get("tls") or {}
    cfg.tls_cert, cfg.tls_key = tls.get("certificate", ""), tls.get("key", "")

    st = raw.get("storage") or {}
    root = (st.get("filesystem") or {}).get("rootdirectory")
    cfg.storage = storage or root or cfg.storage
    cfg.delete_enabled = bool((st.get("delete") or {}).get("enabled", True))

    auth = raw.get("auth") or {}
    if "htpasswd" in auth:
        h = auth["htpasswd"]
        cfg.auth = AuthConfig(kind="htpasswd", realm=h.get("realm", "dockyard-registry"), htpasswd=h["path"])
    elif "token" in auth:
        t = auth["token"]
        cfg.auth = AuthConfig(kind="token", realm=t.get("realm", ""), htpasswd=t.get("htpasswd", ""),
                              service=t.get("service", AuthConfig.service),
                              issuer=t.get("issuer", AuthConfig.issuer), key=t.get("key", ""),
                              secret=t.get("secret", ""), expiration=int(t.get("expiration", 300)))

    acc = raw.get("access") or {}
    default = _rule(acc.get("default") or {})
    cfg.access = AccessConfig(admins=list(acc.get("admins", [])),
                              user_namespaces=bool(acc.get("user_namespaces", True)),
                              default=default,
                              repositories=[_rule(r, default) for r in acc.get("repositories", [])])

    for ep in (raw.get("notifications") or {}).get("endpoints", []) or []:
        ignore = ep.get("ignore") or {}
        cfg.endpoints.append(Endpoint(
            name=ep.get("name", ep["url"]), url=ep["url"], headers=ep.get("headers") or {},
            timeout=_positive(parse_duration(ep.get("timeout", 0)), Endpoint.timeout),
            threshold=int(_positive(int(ep.get("threshold", 0)), Endpoint.threshold)),
            backoff=_positive(parse_duration(ep.get("backoff", 0)), Endpoint.backoff),
            ignored_mediatypes=list(ep.get("ignoredmediatypes", [])) + list(ignore.get("mediatypes", [])),
            ignored_actions=list(ignore.get("actions", [])), disabled=bool(ep.get("disabled", False))))

    cfg.hub = dict(raw.get("hub") or {})
    accesslog = (raw.get("log") or {}).get("accesslog") or {}
    cfg.accesslog = not accesslog.get("disabled", False)
    cfg.accesslog_path = accesslog.get("path", "")
    return cfg
