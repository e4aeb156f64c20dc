"""`dockyard cp`: files between a container and the local filesystem, as the docker CLI's cp.go copies them
(`-` for a tar stream on stdin/stdout, -a for ownership, -L to follow a symlink source)."""
from __future__ import annotations

import base64
import io
import json
import os
import posixpath
import sys
import tarfile

import click

from .common import client, fail


def split_cp_arg(arg: str) -> tuple[str, str]:
    """(container, path) as docker's splitCpArg reads `CONTAINER:PATH`; container "" for a local path (an
    absolute one, or one whose part before the first colon holds a slash, such as `./a:b`)."""
    if arg.startswith("/"):
        return "", arg
    container, colon, path = arg.partition(":")
    if not colon or "/" in container:
        return "", arg
    return container, path


def _link_stat(c, container: str, path: str) -> dict | None:
    """The container path's stat (HEAD /archive), or None when it cannot be read."""
    try:
        resp = c.request("HEAD", f"/containers/{container}/archive", params={"path": path})
    except Exception:
        return None  # the GET that follows reports a missing path in the daemon's words
    header = resp.headers.get("X-Docker-Container-Path-Stat")
    return json.loads(base64.b64decode(header)) if header else None


def followed_source(c, container: str, path: str) -> tuple[str, str | None]:
    """-L: a symlink source becomes its target (relative targets from the link's directory); the entries of
    the target's archive are then renamed to the link's name (archive.GetRebaseName)."""
    info = _link_stat(c, container, path)
    if not info or not info.get("mode", 0) & (1 << 27):  # Go's os.ModeSymlink
        return path, None
    target = info.get("linkTarget") or ""
    if not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(path.rstrip("/")) or "/", target)
    return target, posixpath.basename(path.rstrip("/"))


def _rebased(members: list[tarfile.TarInfo], new_top: str) -> None:
    """Rename the archive's top entry (and everything under it) to new_top."""
    top = members[0].name.rstrip("/")
    for m in members:
        if m.name == top or m.name.startswith(top + "/"):
            m.name = new_top + m.name[len(top):]


def copy_from_container(c, container: str, path: str, dest: str, follow_link: bool) -> None:
    rebase = None
    if follow_link:
        path, rebase = followed_source(c, container, path)
    resp = c.stream("GET", f"/containers/{container}/archive", {"path": path})
    try:
        if dest == "-":  # the archive itself, as the daemon sent it
            for chunk in resp.iter_bytes():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        data = b"".join(resp.iter_bytes())
    finally:
        resp.close()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.chown = lambda *args, **kwargs: None  # files are the caller's, as docker's untar (NoLchown) makes them
        members = tar.getmembers()
        if rebase and members:
            _rebased(members, rebase)
        if os.path.isdir(dest):
            extract(tar, dest, members)
        else:  # copy to a new name
            _rebased(members, os.path.basename(dest))
            extract(tar, os.path.dirname(os.path.abspath(dest)), members)


def extract(tar: tarfile.TarFile, dest: str, members: list) -> None:
    """extractall with tarfile's "tar" filter. Python gained filters in 3.11.4 and Debian 12's python3 is 3.11.2:
    there the filter's work is done here: no member lands outside dest (symlinks extracted before it included),
    and no setuid/setgid/sticky or group/other write bits."""
    if hasattr(tarfile, "tar_filter"):
        tar.extractall(dest, members=members, filter="tar")
        return
    root = os.path.realpath(dest)
    for m in members:  # one at a time: a symlink extracted earlier counts when resolving a later name
        m.name = m.name.lstrip("/")
        if os.path.commonpath([root, os.path.realpath(os.path.join(root, m.name))]) != root:
            raise tarfile.ExtractError(f"{m.name!r} would be extracted to a path outside the destination")
        if m.isfile() or m.isdir():
            m.mode &= ~0o7022
        tar.extract(m, dest)


def _local_archive(src: str, follow_link: bool, name: str) -> bytes:
    """The local source as a tar whose top entry is `name` (-L: a symlink source is sent as its target)."""
    local = os.path.realpath(src) if follow_link else src
    if not os.path.lexists(local):
        fail(f"lstat {os.path.abspath(src)}: no such file or directory")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(local, arcname=name)
    return buf.getvalue()


def copy_to_container(c, src: str, container: str, path: str, archive: bool, follow_link: bool) -> None:
    """archive.PrepareArchiveCopy: into an existing directory as it is; otherwise renamed to the destination's
    name and extracted into its parent (a new name, or a file replaced)."""
    dest_info = _link_stat(c, container, path)
    if dest_info and dest_info.get("mode", 0) & (1 << 27):  # a symlink destination: its target
        target = dest_info.get("linkTarget") or ""
        path = target if target.startswith("/") else posixpath.join(posixpath.dirname(path) or "/", target)
        dest_info = _link_stat(c, container, path)
    dest_is_dir = bool(dest_info and dest_info.get("mode", 0) & (1 << 31))  # Go's os.ModeDir
    if src == "-":  # a tar archive from stdin, extracted as it is
        if not dest_is_dir:
            fail(f'destination "{container}:{path}" must be a directory')
        target_dir, content = path, sys.stdin.buffer.read()
    elif dest_is_dir:
        target_dir, content = path, _local_archive(src, follow_link, os.path.basename(src.rstrip("/")) or ".")
    else:
        src_is_dir = os.path.isdir(os.path.realpath(src) if follow_link else src)
        if dest_info and src_is_dir:
            fail("cannot copy directory")
        if not dest_info and not src_is_dir and path.endswith(("/", "/.")):
            fail("no such directory")
        target_dir = posixpath.dirname(path.rstrip("/")) or "/"
        content = _local_archive(src, follow_link, posixpath.basename(path.rstrip("/")))
    params = {"path": target_dir, "noOverwriteDirNonDir": "true", "copyUIDGID": "true" if archive else None}
    c.request("PUT", f"/containers/{container}/archive", params=params, content=content)


@click.command("cp")
@click.argument("src")
@click.argument("dest")
@click.option("-a", "--archive", is_flag=True)
@click.option("-L", "--follow-link", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
def cp(src, dest, archive, follow_link, quiet):
    """Copy files/folders between a container and the local filesystem"""
    # -q: the docker CLI's progress line is only ever written to a terminal; dockyard writes none at all
    if not src:
        fail("source can not be empty")
    if not dest:
        fail("destination can not be empty")
    src_container, src_path = split_cp_arg(src)
    dest_container, dest_path = split_cp_arg(dest)
    if src_container and dest_container:
        fail("copying between containers is not supported")
    if src_container:
        copy_from_container(client(), src_container, src_path, dest, follow_link)
    elif dest_container:
        copy_to_container(client(), src, dest_container, dest_path, archive, follow_link)
    else:
        fail("must specify at least one container source")
