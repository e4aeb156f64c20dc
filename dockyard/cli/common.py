"""Helpers the command modules share: the client of the current invocation, errors, short IDs."""
from __future__ import annotations

import click

from ..client import DockerClient


def client() -> DockerClient:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if "client" not in root.obj:
        root.obj["client"] = DockerClient(root.obj.get("host"))
    return root.obj["client"]


def short(image_or_container_id: str) -> str:
    return image_or_container_id.split(":", 1)[-1][:12]


def fail(message: str, code: int = 1):
    click.echo(message, err=True)
    raise SystemExit(code)


def parse_filters(values) -> str | None:
    import json

    if not values:
        return None
    out: dict[str, list[str]] = {}
    for v in values:
        k, _, val = v.partition("=")
        out.setdefault(k, []).append(val)
    return json.dumps(out)


def confirm_or_exit(force: bool, message: str) -> None:
    if force:
        return
    click.echo(message)
    answer = click.prompt("Are you sure you want to continue? [y/N]", default="N", show_default=False)
    if answer.lower() not in ("y", "yes"):
        raise SystemExit(0)
