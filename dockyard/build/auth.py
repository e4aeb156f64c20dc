"""Registry credentials for a build: the X-Registry-Config header the docker CLI sends with POST /build
(base64url JSON of {registry: AuthConfig}, every login it knows), and the entry a pull of one image uses."""
from __future__ import annotations

import base64
import binascii
import json

from ..errors import InvalidParameter
from ..image import reference
from ..registry.client.endpoints import normalize_registry


def decode_registry_config(header: str | None) -> dict:
    """{registry: AuthConfig} from the header; {} when it is absent or empty."""
    if not header or not header.strip():
        return {}
    raw = header.strip()
    try:
        data = base64.urlsafe_b64decode((raw + "=" * (-len(raw) % 4)).replace("+", "-").replace("/", "_"))
        configs = json.loads(data or b"{}")
    except (binascii.Error, ValueError) as err:
        raise InvalidParameter(f"invalid X-Registry-Config header: {err}") from None
    if not isinstance(configs, dict) or not all(isinstance(v, dict) for v in configs.values()):
        raise InvalidParameter("invalid X-Registry-Config header: not a map of registries to auth configs")
    return configs


def auth_for_image(image: str, configs: dict) -> dict | None:
    """The AuthConfig for the registry `image` lives on (Docker Hub under any of its spellings), or None."""
    if not configs:
        return None
    try:
        registry = normalize_registry(reference.parse(image).domain)
    except InvalidParameter:
        return None
    for key, auth in configs.items():
        if normalize_registry(key) == registry:
            return {str(k).lower(): v for k, v in auth.items()} or None
    return None
