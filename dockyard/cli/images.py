"""Image commands: images, inspect, history, tag, rmi, prune, import, save, load."""
from __future__ import annotations

import datetime as dt
import os
import sys
from urllib.parse import quote

import click

from .group import DockerGroup
from .common import (client, confirm_or_exit, copy_to_file, fail, image_prune_lines, inspect_objects, parse_filters,
                     print_deleted, print_reclaimed, short)
from ..units import human_size
from .platform_flag import platform_json
from .format import ago, local_time, render_rows, table


class ImageRow:
    """One row of `docker images`: an image under one of its tags (or <none>). The daemon sends -1 for what it
    did not compute (containers, shared size): docker shows N/A."""

    json_fields = ("Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size",
                   "Tag", "UniqueSize", "VirtualSize")

    def __init__(self, summary: dict, repo_tag: str | None, no_trunc: bool):
        self.raw = summary
        repo, _, tag = (repo_tag or "<none>:<none>").rpartition(":")
        self.Repository, self.Tag = repo, tag
        digests = [d for d in summary.get("RepoDigests") or [] if d.split("@")[0] == repo]
        self.Digest = digests[0].split("@", 1)[1] if digests else "<none>"
        self.ID = summary["Id"] if no_trunc else short(summary["Id"])
        self.CreatedSince = ago(summary["Created"])
        self.CreatedAt = local_time(summary["Created"])
        self.Size = human_size(summary["Size"])
        self.VirtualSize = human_size(summary["Size"], 4)  # the docker CLI shows Size (VirtualSize left API 1.44)
        containers, shared = summary.get("Containers", -1), summary.get("SharedSize", -1)
        self.Containers = "N/A" if containers == -1 else str(containers)
        self.SharedSize = "N/A" if shared == -1 else human_size(shared)
        self.UniqueSize = "N/A" if shared == -1 else human_size(summary["Size"] - shared)


def image_rows(summaries, no_trunc) -> list[ImageRow]:
    rows = []
    for s in summaries:
        tags = s.get("RepoTags") or [None]
        rows += [ImageRow(s, t, no_trunc) for t in tags]
    return rows


@click.command("ls")
@click.argument("reference", required=False)
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--digests", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
def images_ls(reference, all_, quiet, digests, no_trunc, filters, fmt):
    """List images"""
    if reference:
        filters = (*filters, f"reference={reference}")
    summaries = client().get("/images/json", all=all_, digests=digests, filters=parse_filters(filters))
    rows = image_rows(summaries, no_trunc)
    if quiet:
        seen = []
        for r in rows:
            if r.ID not in seen:
                seen.append(r.ID)
        click.echo("\n".join(seen) + ("\n" if seen else ""), nl=False)
        return
    if fmt and fmt != "table":  # bare `table` is the default table
        render_rows(fmt, rows, sys.stdout, {"ID": "IMAGE ID"})
        return
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    body = [[r.Repository, r.Tag] + ([r.Digest] if digests else []) + [r.ID, r.CreatedSince, r.Size] for r in rows]
    table([header] + body, sys.stdout)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt")
@click.option("--platform")
def image_inspect(names, fmt, platform):
    """Display detailed information on one or more images"""
    wanted = platform_json(platform)
    inspect_objects(lambda n: client().get(f"/images/{quote(n, safe='/:@')}/json", platform=wanted), names, fmt)


class HistoryRow:
    """One layer of `docker history`, with docker's truncation and -H (human) rendering."""

    json_fields = ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")

    def __init__(self, h: dict, human: bool, no_trunc: bool):
        self.raw = h
        self.ID = h["Id"] if (no_trunc or h["Id"] == "<missing>") else short(h["Id"])
        self.CreatedAt = dt.datetime.fromtimestamp(h["Created"], dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.CreatedSince = ago(h["Created"]) if human else self.CreatedAt
        created_by = h["CreatedBy"].replace("\t", " ")
        self.CreatedBy = created_by if no_trunc or len(created_by) <= 45 else created_by[:44] + "…"
        self.Size = human_size(h["Size"]) if human else str(h["Size"])
        self.Comment = h.get("Comment", "")


@click.command("history")
@click.argument("image")
@click.option("-H", "--human/--no-human", default=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--format", "fmt")
@click.option("--platform")
def history(image, human, no_trunc, quiet, fmt, platform):
    """Show the history of an image"""
    rows = [HistoryRow(h, human, no_trunc) for h in client().get(f"/images/{quote(image, safe='/:@')}/history",
                                                                 platform=platform_json(platform, "invalid platform: "))]
    if quiet:
        for r in rows:
            click.echo(r.ID)
        return
    if fmt and fmt != "table":  # bare `table` is the default table
        render_rows(fmt, rows, sys.stdout, {"ID": "IMAGE", "CreatedSince": "CREATED"})
        return
    header = ["IMAGE", "CREATED" if human else "CREATED AT", "CREATED BY", "SIZE", "COMMENT"]
    table([header] + [[r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment] for r in rows], sys.stdout)


@click.command("tag")
@click.argument("source")
@click.argument("target")
def tag(source, target):
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"""
    repo, tag_ = split_tag(target)
    client().request("POST", f"/images/{quote(source, safe='/:@')}/tag", params={"repo": repo, "tag": tag_})


def split_tag(name: str) -> tuple[str, str]:
    last = name.rsplit("/", 1)[-1]
    if ":" in last and "@" not in name:
        repo, _, t = name.rpartition(":")
        return repo, t
    return name, ""


@click.command("rm")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True)
@click.option("--no-prune", is_flag=True)
def rmi(images, force, no_prune):
    """Remove one or more images"""
    failed = False
    for name in images:
        try:
            for rec in client().delete(f"/images/{quote(name, safe='/:@')}", force=force, noprune=no_prune) or []:
                for k, v in rec.items():
                    click.echo(f"{k}: {v}")
        except Exception as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed = True
    if failed:
        raise SystemExit(1)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
def image_prune(all_, force, filters):
    """Remove unused images"""
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if all_ else "WARNING! This will remove all dangling images.")
    confirm_or_exit(force, warning)
    f = list(filters) + (["dangling=false"] if all_ else [])
    result = client().post("/images/prune", filters=parse_filters(f))
    print_deleted("Images", image_prune_lines(result))
    print_reclaimed(result.get("SpaceReclaimed", 0))


@click.command("import")
@click.argument("source")
@click.argument("reference", required=False)
@click.option("-c", "--change", "changes", multiple=True)
@click.option("-m", "--message", default="")
@click.option("--platform", default="")
def import_(source, reference, changes, message, platform):
    """Import the contents from a tarball to create a filesystem image"""
    data = sys.stdin.buffer if source == "-" else open(source, "rb")
    params = [("fromSrc", "-"), ("message", message)] + [("changes", c) for c in changes]
    if reference:
        params.append(("repo", reference))
    if platform:
        params.append(("platform", platform))
    for msg in client().json_stream("POST", "/images/create", params, content=_chunks(data)):
        if msg.get("status"):
            click.echo(msg["status"])


def _chunks(f, size=1 << 20):
    while chunk := f.read(size):
        yield chunk


@click.command("save")
@click.argument("images", nargs=-1, required=True)
@click.option("-o", "--output")
@click.option("--platform")
def save(images, output, platform):
    """Save one or more images to a tar archive (streamed to STDOUT by default)"""
    if not output and sys.stdout.isatty():
        click.echo("cowardly refusing to save to a terminal. Use the -o flag or redirect", err=True)
        raise SystemExit(1)
    folder = os.path.dirname(output or "") or "."
    if output and not os.path.isdir(folder):
        fail(f"failed to save image: invalid output path: stat {folder}: no such file or directory")
    resp = client().stream("GET", "/images/get", [("names", n) for n in images]
                             + [("platform", platform_json(platform, "invalid platform: "))])
    copy_to_file(resp, output)


@click.command("load")
@click.option("-i", "--input", "input_")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--platform")
def load(input_, quiet, platform):
    """Load an image from a tar archive or STDIN"""
    if not input_ and sys.stdin.isatty():
        click.echo("requested load from stdin, but stdin is empty", err=True)
        raise SystemExit(1)
    data = open(input_, "rb") if input_ else sys.stdin.buffer
    params = {"quiet": quiet, "platform": platform_json(platform, "invalid platform: ")}
    for msg in client().json_stream("POST", "/images/load", params, content=_chunks(data)):
        if msg.get("stream"):
            click.echo(msg["stream"], nl=False)


@click.group("image", cls=DockerGroup)
def image_group():
    """Manage images"""


def register(cli):
    for cmd, name in ((images_ls, "ls"), (image_inspect, "inspect"), (history, "history"), (tag, "tag"),
                      (rmi, "rm"), (image_prune, "prune"), (import_, "import"), (save, "save"), (load, "load")):
        image_group.add_command(cmd, name)
    image_group.add_command(images_ls, "list")
    cli.add_command(image_group)
    cli.add_command(images_ls, "images")
    cli.add_command(rmi, "rmi")
    for cmd, name in ((history, "history"), (tag, "tag"), (import_, "import"), (save, "save"), (load, "load")):
        cli.add_command(cmd, name)
