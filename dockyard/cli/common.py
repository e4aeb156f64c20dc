"""Helpers the command modules share: the client of the current invocation, errors, short IDs."""
from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from ..client import DockerClient
from ..errors import DockyardError
from ..units import human_size
from .format import render


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


def path_error(err: OSError) -> str:
    """An OSError on a file the user named, as Go's os.PathError prints it: `open /x: no such file or directory`."""
    return f"open {err.filename}: {err.strerror[0].lower()}{err.strerror[1:]}"


def copy_to_file(resp, output: str | None) -> None:
    """A streamed answer (an export's or a save's tar) to stdout, or to `output` whole or not at all: written
    beside it, then renamed, as the docker CLI's CopyToFile does."""
    try:
        if not output:
            for chunk in resp.iter_bytes():
                sys.stdout.buffer.write(chunk)
            return
        tmp = output + ".tmp"
        try:
            with open(tmp, "wb") as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.replace(tmp, output)
    finally:
        resp.close()


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


def each_name(names, action, summary: str = ""):
    """Run `action` on each name, yielding those that worked; print errors like docker and exit 1 at the end
    if any failed, after docker's `summary` line naming them (e.g. "failed to start containers: {}")."""
    failed = []
    for name in names:
        try:
            action(name)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed.append(name)
            continue
        yield name
    if failed:
        if summary:
            click.echo("Error: " + summary.format(", ".join(failed)), err=True)
        raise SystemExit(1)


def inspect_objects(getter, names, fmt):
    """`inspect` of images, volumes, ...: a JSON array (or --format lines) of what was found, then an error line
    for each name that was not (the daemon's words; `Error: No such object` from an untyped lookup), exit 1 if
    any was missing."""
    results, errors = [], []
    for name in names:
        try:
            results.append(getter(name))
        except DockyardError as err:
            errors.append(f"Error: {err}" if str(err).startswith("No such object:")
                          else f"Error response from daemon: {err}")
    if fmt:
        for r in results:
            click.echo(render(fmt, r))
    else:
        click.echo(json.dumps(results, indent=4))
    if errors:
        fail("\n".join(errors))


def key_values(values, flag: str, require_value: bool = True) -> dict:
    """Repeated KEY=VALUE flags (--opt, --label, ...) as a dict; docker's error for a pair without `=`."""
    out = {}
    for v in values:
        k, sep, val = v.partition("=")
        if require_value and not sep:
            raise click.BadParameter(f"invalid key/value pair format: {v}", param_hint=flag)
        out[k] = val
    return out


def print_deleted(title: str, lines: list[str]) -> None:
    """One section of a prune report: `Deleted Containers:`, the IDs, a blank line (nothing when empty)."""
    if lines:
        click.echo(f"Deleted {title}:")
        for line in lines:
            click.echo(line)
        click.echo("")


def image_prune_lines(result: dict) -> list[str]:
    return [f"{k.lower()}: {v}" for rec in result.get("ImagesDeleted") or [] for k, v in rec.items()]


def print_reclaimed(size: int) -> None:
    click.echo(f"Total reclaimed space: {human_size(size, 4)}")
