"""The attributes a json-file log entry carries (`"attrs"`, shown by `docker logs --details`): moby's
logger.Info.ExtraAttributes over the container's labels and environment, chosen by --log-opt labels,
labels-regex, env and env-regex."""
from __future__ import annotations

import re


def log_attributes(log_opts: dict, labels: dict, env: list[str]) -> dict[str, str]:
    """Raises ValueError (the regex's own message) for a bad labels-regex or env-regex, which fails the
    start as moby's logger creation does."""
    extra: dict[str, str] = {}
    for key in _names(log_opts.get("labels")):
        if key in labels:
            extra[key] = labels[key]
    if log_opts.get("labels-regex"):
        wanted = _compile(log_opts["labels-regex"])
        extra.update({k: v for k, v in labels.items() if wanted.search(k)})
    variables = dict(e.split("=", 1) for e in env if "=" in e)
    for key in _names(log_opts.get("env")):
        if key in variables:
            extra[key] = variables[key]
    if log_opts.get("env-regex") and variables:
        wanted = _compile(log_opts["env-regex"])
        extra.update({k: v for k, v in variables.items() if wanted.search(k)})
    return extra


def _names(value: str | None) -> list[str]:
    return value.split(",") if value else []


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ValueError(f"error parsing regexp: {err}: `{pattern}`") from None
