"""Syntax of repository names, tags and digests (distribution spec, "Pulling manifests" / grammar)."""
import re

from dockyard.registry.server.errors import RegistryError

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NAME = 255


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not NAME_RE.match(name):
        raise RegistryError("NAME_INVALID", detail={"name": name})
    return name


def is_digest(ref: str) -> bool:
    return ":" in ref


def check_digest(digest: str) -> str:
    if not DIGEST_RE.match(digest):
        raise RegistryError("DIGEST_INVALID", detail={"digest": digest})
    return digest


def check_reference(ref: str) -> str:
    """A manifest reference is a tag or a digest."""
    if is_digest(ref):
        return check_digest(ref)
    if not TAG_RE.match(ref):
        raise RegistryError("TAG_INVALID", detail={"tag": ref})
    return ref


def split_digest(digest: str) -> tuple[str, str]:
    algo, _, hexpart = digest.partition(":")
    return algo, hexpart
