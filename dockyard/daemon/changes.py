"""`--change` instructions (import, commit): a small subset of Dockerfile applied to an image config."""
from __future__ import annotations

import json
import shlex

from ..errors import InvalidParameter

ALLOWED = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL",
           "HEALTHCHECK"}


def _json_or_shell(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list) and all(isinstance(x, str) for x in value):
                return value
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest]


def apply_changes(config: dict, changes) -> dict:
    config = dict(config)
    for change in changes or []:
        for line in change.splitlines():
            line = line.strip()
            if not line:
                continue
            word, _, rest = line.partition(" ")
            word = word.upper()
            if word not in ALLOWED:
                raise InvalidParameter(f"{word} is not a valid change command")
            if word == "CMD":
                config["Cmd"] = _json_or_shell(rest)
            elif word == "ENTRYPOINT":
                config["Entrypoint"] = _json_or_shell(rest)
            elif word == "ENV":
                env = list(config.get("Env") or [])
                pairs = shlex.split(rest)
                if pairs and "=" not in pairs[0]:
                    pairs = [f"{pairs[0]}={rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ''}"]
                for p in pairs:
                    k = p.split("=", 1)[0]
                    env = [e for e in env if e.split("=", 1)[0] != k] + [p]
                config["Env"] = env
            elif word == "EXPOSE":
                ports = dict(config.get("ExposedPorts") or {})
                for p in rest.split():
                    ports[p if "/" in p else f"{p}/tcp"] = {}
                config["ExposedPorts"] = ports
            elif word == "LABEL":
                labels = dict(config.get("Labels") or {})
                for p in shlex.split(rest):
                    k, _, v = p.partition("=")
                    labels[k] = v
                config["Labels"] = labels
            elif word == "USER":
                config["User"] = rest.strip()
            elif word == "WORKDIR":
                config["WorkingDir"] = rest.strip()
            elif word == "STOPSIGNAL":
                config["StopSignal"] = rest.strip()
            elif word == "VOLUME":
                vols = dict(config.get("Volumes") or {})
                for v in (_json_or_shell(rest) if rest.strip().startswith("[") else rest.split()):
                    vols[v] = {}
                config["Volumes"] = vols
            elif word == "ONBUILD":
                config["OnBuild"] = list(config.get("OnBuild") or []) + [rest.strip()]
    return config
