"""Platforms as Go names them (os/architecture/variant), the host's own, and choosing an index entry.

Matching follows containerd's `platforms` package, which Docker uses: architectures and variants are
normalised first (x86_64 -> amd64, aarch64 -> arm64 with variant v8 implied), and an arm host also
runs older arm variants (v7 runs v6 and v5), preferring the closest one.
"""
from __future__ import annotations

import platform as _stdlib_platform
from dataclasses import dataclass

from ...errors import InvalidParameter, NotFound

_ARCH_ALIASES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "aarch64": "arm64", "arm64": "arm64",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386", "386": "386",
    "armhf": "arm", "armel": "arm", "arm": "arm", "armv5l": "arm", "armv6l": "arm", "armv7l": "arm",
    "armv8l": "arm",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "mips64el": "mips64le",
    "mips64le": "mips64le", "loong64": "loong64",
}
# Variants implied by the machine name when it carries one.
_MACHINE_VARIANT = {"armv5l": "v5", "armv6l": "v6", "armv7l": "v7", "armv8l": "v8", "armhf": "v7", "armel": "v6"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def normalized(self) -> "Platform":
        arch = _ARCH_ALIASES.get(self.architecture.lower(), self.architecture.lower())
        variant = self.variant or _MACHINE_VARIANT.get(self.architecture.lower(), "")
        if arch == "arm64" and variant in ("8", "v8"):
            variant = ""  # arm64 means v8 unless said otherwise; compare without it
        if arch == "arm" and not variant:
            variant = "v7"  # containerd's default for 32-bit arm
        if arch == "amd64" and variant == "v1":
            variant = ""
        if variant and variant[0].isdigit():
            variant = "v" + variant
        return Platform(self.os.lower(), arch, variant)


def host_platform() -> Platform:
    """The platform of this machine with Go names: x86_64 -> linux/amd64, aarch64 -> linux/arm64/v8."""
    machine = _stdlib_platform.machine()
    arch = _ARCH_ALIASES.get(machine.lower(), machine.lower())
    variant = _MACHINE_VARIANT.get(machine.lower(), "")
    if arch == "arm64":
        variant = "v8"
    return Platform("linux", arch, variant)


def parse_platform(spec: str) -> Platform:
    """`--platform os[/arch[/variant]]`, or just `arch` like containerd accepts; normalised."""
    parts = spec.strip().split("/")
    if not spec.strip() or any(not p for p in parts) or len(parts) > 3:
        raise InvalidParameter(f"\"{spec}\": unknown operating system or architecture: invalid argument")
    host = host_platform()
    if len(parts) == 1:
        word = parts[0].lower()
        if word in _ARCH_ALIASES:
            return Platform(host.os, word, "").normalized()
        return Platform(word, host.architecture, host.variant).normalized()
    os_name, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ""
    return Platform(os_name, arch, variant).normalized()


def _compatible_variants(p: Platform) -> list[str]:
    """Variants a platform can run, best first (containerd's arm fallbacks)."""
    if p.architecture == "arm":
        order = ["v8", "v7", "v6", "v5"]
        start = order.index(p.variant) if p.variant in order else 1
        return order[start:]
    return [p.variant]


def matches(want: Platform, have: dict | Platform) -> bool:
    return _score(want.normalized(), _as_platform(have)) is not None


def _as_platform(have: dict | Platform) -> Platform:
    if isinstance(have, Platform):
        return have.normalized()
    return Platform(have.get("os", ""), have.get("architecture", ""), have.get("variant", "")).normalized()


def _score(want: Platform, have: Platform) -> int | None:
    """Lower is better; None means the platform cannot run `have`."""
    if want.os != have.os or want.architecture != have.architecture:
        return None
    variants = _compatible_variants(want)
    if not want.variant:
        return 0 if not have.variant else (variants.index(have.variant) + 1 if have.variant in variants else 50)
    if have.variant in variants:
        return variants.index(have.variant)
    if not have.variant:
        return len(variants)  # an entry without variant still runs, as a last resort
    return None


def select_manifest(index: dict, want: Platform | None = None) -> dict:
    """The descriptor of an image index / manifest list best matching `want` (default: the host)."""
    want = (want or host_platform()).normalized()
    best, best_score = None, None
    for desc in index.get("manifests") or []:
        plat = desc.get("platform")
        if not plat:
            continue
        if (desc.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        score = _score(want, _as_platform(plat))
        if score is not None and (best_score is None or score < best_score):
            best, best_score = desc, score
    if best is None:
        shown = f"{want.os}/{want.architecture}" + (f"/{want.variant}" if want.variant else "")
        raise NotFound(f"no matching manifest for {shown} in the manifest list entries")
    return best
