"""Docker image references, parsed and normalised like distribution/reference's ParseNormalizedNamed.

    busybox                      -> docker.io/library/busybox:latest
    me/app:1                     -> docker.io/me/app:1
    localhost:5000/x             -> localhost:5000/x:latest
    name@sha256:<hex>            -> no default tag when a digest is given
    name:tag@sha256:<hex>        -> both kept

The grammar and the error messages are Docker's, so the CLI prints what docker prints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# distribution/reference regexp.go, spelled out with ASCII classes (Python's \w would accept Unicode).
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = f"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = f"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

REFERENCE_RE = re.compile(f"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
NAME_RE = re.compile(f"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})")
TAG_RE = re.compile(_TAG)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
_ID_PREFIX_RE = re.compile(r"(?:sha256:)?[a-f0-9]{1,64}")

# go-digest: the algorithms it knows, with their hex lengths.
_DIGEST_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    def name(self) -> str:
        """Fully qualified repository name: `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    def repository(self) -> str:
        """Familiar repository name without tag or digest: `busybox`, `me/app`, `localhost:5000/x`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name()
        rest = self.path[len(OFFICIAL_REPO_PREFIX):] if self.path.startswith(OFFICIAL_REPO_PREFIX) else None
        if rest is not None and "/" not in rest:
            return rest
        return self.path

    def full(self) -> str:
        """`docker.io/library/busybox:latest` (and `@digest` when there is one)."""
        return self.name() + self._suffix()

    def familiar(self) -> str:
        """What docker shows: `busybox:latest`, `me/app:1`, `localhost:5000/x:latest`."""
        return self.repository() + self._suffix()

    def with_tag(self, tag: str) -> Reference:
        if not TAG_RE.fullmatch(tag):
            raise InvalidParameter("invalid tag format")
        return replace(self, tag=tag)

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.full()


def parse(s: str, default_tag: bool = True) -> Reference:
    """ParseNormalizedNamed plus TagNameOnly: a bare name gets tag `latest` unless default_tag is False."""
    if _IDENTIFIER_RE.fullmatch(s):
        raise InvalidParameter(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(s)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidParameter(
            f"invalid reference format: repository name ({remote_name}) must be lowercase")
    ref = _parse_strict(f"{domain}/{remainder}")
    if default_tag and ref.tag is None and ref.digest is None:
        ref = replace(ref, tag=DEFAULT_TAG)
    return ref


def normalize(s: str) -> str:
    """`busybox` -> `docker.io/library/busybox:latest`."""
    return parse(s).full()


def familiar(s: str) -> str:
    """`docker.io/library/busybox:latest` -> `busybox:latest`."""
    return parse(s).familiar()


def looks_like_id(s: str) -> bool:
    """True when `s` could only be (a prefix of) an image ID: `sha256:<hex>` or 64 hex digits.

    A short bare hex string such as `abc` is also a valid repository name; docker tries it as a
    name first and as an ID prefix second, and so should callers (see `could_be_id_prefix`).
    """
    if s.startswith("sha256:"):
        return bool(_ID_PREFIX_RE.fullmatch(s))
    return bool(_IDENTIFIER_RE.fullmatch(s))


def could_be_id_prefix(s: str) -> bool:
    """True when `s` is a syntactically valid image ID or ID prefix (`sha256:` optional)."""
    return bool(_ID_PREFIX_RE.fullmatch(s))


def id_prefix_hex(s: str) -> str:
    """The hex part of an ID or ID prefix: `sha256:abc` -> `abc`."""
    return s[len("sha256:"):] if s.startswith("sha256:") else s


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain: the first component is a domain only if it looks like one."""
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _parse_strict(s: str) -> Reference:
    """reference.Parse: the grammar check, length limit and digest validation."""
    m = REFERENCE_RE.fullmatch(s)
    if m is None:
        if s == "":
            raise InvalidParameter("repository name must have at least one component")
        if REFERENCE_RE.fullmatch(s.lower()):
            raise InvalidParameter("repository name must be lowercase")
        raise InvalidParameter("invalid reference format")
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    nm = NAME_RE.fullmatch(name)
    domain, path = (nm.group(1) or "", nm.group(2))
    if digest:
        validate_digest(digest)
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def validate_digest(digest: str) -> str:
    """go-digest Digest.Validate, with its messages; returns the digest."""
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not encoded:
        raise InvalidParameter("invalid checksum digest format")
    if algorithm not in _DIGEST_HEX_LEN:
        raise InvalidParameter("unsupported digest algorithm")
    if len(encoded) != _DIGEST_HEX_LEN[algorithm]:
        raise InvalidParameter("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidParameter("invalid checksum digest format")
    return digest
