"""Manifests against the Kubernetes OpenAPI schemas (PyPI kubernetes-validate ships them offline): strict, so an
unknown field is an error, with the field's path in the message."""
from __future__ import annotations

import kubernetes_validate

from ..errors import InvalidParameter

VERSIONS = ("1.30", "1.37")  # an older supported minor and the newest the package knows


def problems(doc: dict, version: str) -> list[str]:
    """What the schema of `version` says is wrong with one document ([] when it validates)."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = field_path(err.path)
        return [f"{path}: {err.message}" if path else err.message]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"unknown kind {doc.get('kind')!r} for apiVersion {doc.get('apiVersion')!r}"]
    return []


def check(doc: dict, version: str = VERSIONS[-1], where: str = "") -> None:
    found = problems(doc, version)
    if found:
        name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        raise InvalidParameter(f"{where}{name}: {found[0]}")


def field_path(parts) -> str:
    """["spec", "containers", 0, "image"] -> "spec.containers[0].image" (as kubectl names fields)."""
    out = ""
    for p in parts or []:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
