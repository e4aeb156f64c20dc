"""`dockyard build`: send the context (honouring .dockerignore) to POST /build and show the stream."""
from __future__ import annotations

import io
import json
import os
import sys
import tarfile

import click

from ..build.dockerignore import read_patterns, walk_context
from ..errors import DockyardError
from ..registry.client.dockercfg import DockerConfigFile, encode_registry_auth
from .common import client, fail
from .create_flags import ulimit
from .flagtypes import GoInt, MemBytes, MemSwapBytes, Validated
from ..units import human_size


def context_tar(root: str, dockerfile: str | None) -> bytes:
    """The context as the docker CLI sends it: mtimes in whole seconds (moby's archive package truncates
    them), so no per-file PAX headers, and nothing after the two end-of-archive blocks."""
    patterns = read_patterns(open(os.path.join(root, ".dockerignore")).read()) \
        if os.path.exists(os.path.join(root, ".dockerignore")) else []
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in walk_context(root, patterns):
            _add(tar, os.path.join(root, rel), rel)
        if dockerfile and not os.path.abspath(dockerfile).startswith(os.path.abspath(root) + os.sep):
            _add(tar, dockerfile, ".dockerfile." + os.path.basename(dockerfile))  # -f outside the context
        end = tar.offset + 2 * tarfile.BLOCKSIZE  # tarfile pads on to a 10 KiB record on close
    return buf.getvalue()[:end]


def _add(tar: tarfile.TarFile, path: str, arcname: str) -> None:
    info = tar.gettarinfo(path, arcname)
    info.mtime = int(info.mtime)
    if info.isreg():
        with open(path, "rb") as f:
            tar.addfile(info, f)
    else:
        tar.addfile(info)


def dockerfile_path(context: str, dockerfile: str | None) -> str:
    """The Dockerfile the build will read, checked before anything is sent, in the docker CLI's words."""
    path = os.path.abspath(dockerfile if dockerfile else os.path.join(context, "Dockerfile"))
    if not os.path.lexists(path):
        fail(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {path}: "
             "no such file or directory")
    return path


def registry_config_header() -> str:
    """X-Registry-Config: every login config.json knows, so the daemon can pull FROM images with them (the
    docker CLI sends the same)."""
    try:
        cfg = DockerConfigFile()
    except DockyardError:
        return ""  # an unreadable config.json: build without logins, as before
    auths = {}
    for registry in sorted(set(cfg.data.get("auths") or {}) | set(cfg.data.get("credHelpers") or {})):
        try:
            auths[registry] = cfg.get(registry)
        except DockyardError:
            continue  # a failing credential helper costs that registry's login, not the build
    return encode_registry_auth(auths)


def run_step_params(o: dict) -> list[tuple[str, str]]:
    """The limits of the containers RUN steps run in, as the docker CLI puts them in POST /build's query.
    (--security-opt is parsed and dropped: the docker CLI's classic build never sends it either.)"""
    params = [(name, o[key]) for name, key in (
        ("cgroupparent", "cgroup_parent"), ("cpushares", "cpu_shares"), ("cpuperiod", "cpu_period"),
        ("cpuquota", "cpu_quota"), ("cpusetcpus", "cpuset_cpus"), ("cpusetmems", "cpuset_mems"),
        ("memory", "memory"), ("memswap", "memory_swap"), ("shmsize", "shm_size"))]
    if o["ulimits"]:
        params.append(("ulimits", json.dumps(list(o["ulimits"]))))
    return [(name, value) for name, value in params if value is not None]


@click.command("build")
@click.argument("path")
@click.option("-t", "--tag", "tags", multiple=True)
@click.option("-f", "--file", "dockerfile")
@click.option("--build-arg", "build_args", multiple=True)
@click.option("--label", "labels", multiple=True)
@click.option("--target")
@click.option("--no-cache", is_flag=True)
@click.option("--pull", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--rm", default=True, type=bool)
@click.option("--force-rm", is_flag=True)
@click.option("--network")
@click.option("--iidfile")
@click.option("--cache-from", multiple=True)
@click.option("--add-host", "add_hosts", multiple=True)
@click.option("--cgroup-parent")
@click.option("-c", "--cpu-shares", type=GoInt())
@click.option("--cpu-period", type=GoInt())
@click.option("--cpu-quota", type=GoInt())
@click.option("--cpuset-cpus")
@click.option("--cpuset-mems")
@click.option("-m", "--memory", type=MemBytes())
@click.option("--memory-swap", type=MemSwapBytes())
@click.option("--shm-size", type=MemBytes())
@click.option("--ulimit", "ulimits", type=Validated(ulimit), multiple=True)
@click.option("--security-opt", multiple=True)
@click.option("--platform")
def build(path, tags, dockerfile, build_args, labels, target, no_cache, pull, quiet, rm, force_rm, network, iidfile,
          cache_from, add_hosts, platform, **run_limits):
    """Build an image from a Dockerfile"""
    if not os.path.isdir(path):
        fail(f'unable to prepare context: path "{path}" not found')
    dockerfile_path(path, dockerfile)
    data = context_tar(path, dockerfile)
    df_name = None
    if dockerfile:
        inside = os.path.abspath(dockerfile).startswith(os.path.abspath(path) + os.sep)
        df_name = os.path.relpath(dockerfile, path) if inside else ".dockerfile." + os.path.basename(dockerfile)
    args = dict(a.split("=", 1) if "=" in a else (a, os.environ.get(a)) for a in build_args)
    params = [("t", t) for t in tags] + [
        ("dockerfile", df_name), ("buildargs", json.dumps(args)), ("labels", json.dumps(dict(
            l.split("=", 1) if "=" in l else (l, "") for l in labels))), ("target", target), ("nocache", no_cache),
        ("pull", pull), ("q", quiet), ("rm", rm), ("forcerm", force_rm), ("networkmode", network),
        ("cachefrom", json.dumps(list(cache_from))), ("platform", platform)]
    params += [("extrahosts", h) for h in add_hosts] + run_step_params(run_limits)
    sending = f"Sending build context to Docker daemon  {human_size(len(data), 4)}\n"
    if not quiet:
        sys.stdout.write(sending)
    # with -q the daemon holds the steps back until the build fails; the docker CLI shows them on stderr then,
    # after the context line it held back too
    out = sys.stderr if quiet else sys.stdout
    held = sending if quiet else ""
    image_id = None
    try:
        for msg in client().json_stream("POST", "/build", params, content=data,
                                        headers={"Content-Type": "application/x-tar",
                                                 "X-Registry-Config": registry_config_header()}):
            stream = msg.get("stream") or ""
            if quiet and stream.startswith("sha256:"):
                sys.stdout.write(stream)
            elif stream:
                out.write(held + stream)
                held = ""
                out.flush()
            if (msg.get("aux") or {}).get("ID"):
                image_id = msg["aux"]["ID"]
    except DockyardError as err:
        in_stream = hasattr(err, "code")  # a step failed; otherwise the daemon refused the request itself
        out.write(held)
        click.echo(str(err) if in_stream else f"Error response from daemon: {err}", err=True)
        code = getattr(err, "code", 1)
        raise SystemExit(code if isinstance(code, int) and code > 0 else 1)
    if iidfile and image_id:
        with open(iidfile, "w") as f:
            f.write(image_id)


def register(cli):
    cli.add_command(build)
    from .images import image_group
    image_group.add_command(build)
