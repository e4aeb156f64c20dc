"""The `hub:` section of the registry's config file (all optional):

    hub:
      enabled: true               # or `dockyard registry serve --hub`
      signup: true                # anyone may create an account (the sign-up page / POST /v2/users/signup)
      default_private: false      # a repository created by its first push (Docker Hub's default: public)
      admins: [root]              # site administrators (with access.admins): every right everywhere
      database: <storage>/hub.db  # SQLite (WAL) beside the registry storage
      webhook_allowlist: [127.0.0.1, hooks.example.com]   # hosts web hooks may call; empty = none
      webhook_timeout: 5s
      webhook_retries: 3          # attempts after the first failure, each after webhook_backoff * 2^n
      webhook_backoff: 1s
      login_max_failures: 5       # failed sign-ins (per user name and client address) before a lockout
      login_lockout: 5m           # how long a lockout lasts (and the window failures are counted in)
      session_ttl: 14d            # web sessions (cookie)
      jwt_ttl: 24h                # JWTs from POST /v2/users/login and /v2/auth/token
      bcrypt_rounds: 10
"""
from dataclasses import dataclass, field
import os

from dockyard.registry.server.config import Config, parse_duration

def _duration(raw: dict, key: str, default: float) -> float:
    value = raw.get(key)
    if value is None:
        return default
    text = str(value).strip()
    if text.endswith("d") and text[:-1].isdigit():     # Go has no "d"; a session lifetime wants one
        return int(text[:-1]) * 86400.0
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(f"hub.{key} must be a duration like 5s, 10m or 14d, not {value!r}") from None


def _int(raw: dict, key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"hub.{key} must be a whole number, not {value!r}")
    return value


@dataclass
class HubConfig:
    enabled: bool = False
    signup: bool = True
    default_private: bool = False
    admins: list[str] = field(default_factory=list)
    database: str = ""
    webhook_allowlist: list[str] = field(default_factory=list)
    webhook_timeout: float = 5.0
    webhook_retries: int = 3
    webhook_backoff: float = 1.0
    login_max_failures: int = 5
    login_lockout: float = 300.0
    session_ttl: float = 14 * 86400.0
    jwt_ttl: float = 86400.0
    bcrypt_rounds: int = 10


def load(config: Config) -> HubConfig:
    """HubConfig from the registry Config's raw `hub` section (and its storage root and access.admins)."""
    raw = config.hub or {}
    d = HubConfig()
    if not 4 <= _int(raw, "bcrypt_rounds", d.bcrypt_rounds) <= 31:
        raise ValueError("hub.bcrypt_rounds must be between 4 and 31")
    if _int(raw, "login_max_failures", d.login_max_failures) < 1:
        raise ValueError("hub.login_max_failures must be at least 1")
    return HubConfig(
        enabled=bool(raw.get("enabled", False)),
        signup=bool(raw.get("signup", d.signup)),
        default_private=bool(raw.get("default_private", d.default_private)),
        admins=sorted(set(raw.get("admins") or []) | set(config.access.admins)),
        database=raw.get("database") or os.path.join(config.storage, "hub.db"),
        webhook_allowlist=[str(h).lower() for h in raw.get("webhook_allowlist") or []],
        webhook_timeout=_duration(raw, "webhook_timeout", d.webhook_timeout),
        webhook_retries=_int(raw, "webhook_retries", d.webhook_retries),
        webhook_backoff=_duration(raw, "webhook_backoff", d.webhook_backoff),
        login_max_failures=_int(raw, "login_max_failures", d.login_max_failures),
        login_lockout=_duration(raw, "login_lockout", d.login_lockout),
        session_ttl=_duration(raw, "session_ttl", d.session_ttl),
        jwt_ttl=_duration(raw, "jwt_ttl", d.jwt_ttl),
        bcrypt_rounds=_int(raw, "bcrypt_rounds", d.bcrypt_rounds),
    )

