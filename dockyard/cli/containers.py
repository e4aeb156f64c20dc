"""Container commands: run, create, start, stop, restart, kill, rm, ps, logs, exec, attach, wait, ..."""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from urllib.parse import quote

import click

from ..client import DockerClient
from ..errors import DockyardError, NotFound
from ..network.portspec import parse_expose, parse_port_key, parse_publish_all
from .group import DockerGroup
from .common import (client, confirm_or_exit, copy_to_file, each_name, fail, inspect_objects, parse_filters, path_error,
                     print_deleted, print_reclaimed, short)
from ..units import human_size
from .copy import cp
from .create_flags import RunError, apply_more_options, attach_streams, capabilities, more_create_options
from .flagtypes import Duration, GoInt, MemBytes, NanoCPUs
from .format import ago, local_time, render_rows, table
from .streams import copy_output, on_resize, proxy_signals, pump_stdin, raw_terminal, terminal_size


# ---------------------------------------------------------------- create options shared by run and create
def create_options(f):
    options = [
        click.option("-i", "--interactive", is_flag=True), click.option("-t", "--tty", is_flag=True),
        click.option("--name"), click.option("-e", "--env", multiple=True), click.option("--env-file", multiple=True),
        click.option("-w", "--workdir"), click.option("-u", "--user"), click.option("--entrypoint"),
        click.option("-h", "--hostname"), click.option("-l", "--label", multiple=True),
        click.option("--stop-signal"), click.option("--stop-timeout", type=GoInt()), click.option("--init", is_flag=True),
        click.option("-v", "--volume", multiple=True), click.option("-p", "--publish", multiple=True),
        click.option("-P", "--publish-all", is_flag=True), click.option("--expose", multiple=True),
        click.option("--restart", default="no"), click.option("--rm", is_flag=True),
        click.option("--privileged", is_flag=True), click.option("--cap-add", multiple=True),
        click.option("--cap-drop", multiple=True), click.option("--network", "--net", default=None),
        click.option("--network-alias", multiple=True), click.option("--ip"), click.option("--dns", multiple=True),
        click.option("--dns-search", multiple=True), click.option("--dns-option", multiple=True),
        click.option("--add-host", multiple=True),
        click.option("--read-only", is_flag=True), click.option("--tmpfs", multiple=True),
        click.option("-m", "--memory", type=MemBytes()), click.option("--cpus", type=NanoCPUs()),
        click.option("--pids-limit", type=GoInt()),
        click.option("--platform"), click.option("--pull", default="missing"),
        click.option("--security-opt", multiple=True), click.option("--runtime"),
        click.option("--health-cmd"), click.option("--health-interval", type=Duration()),
        click.option("--health-timeout", type=Duration()), click.option("--health-start-period", type=Duration()),
        click.option("--health-start-interval", type=Duration()),
        click.option("--health-retries", type=GoInt()), click.option("--no-healthcheck", is_flag=True),
    ] + more_create_options()
    for opt in reversed(options):
        f = opt(f)
    f = click.argument("command", nargs=-1, type=click.UNPROCESSED)(f)
    f = click.argument("image")(f)
    return f


def port_bindings(publish, expose=()) -> tuple[dict, dict]:
    """`-p` and `--expose` values -> (ExposedPorts, PortBindings), parsed as the docker CLI does."""
    try:
        exposed, bindings = parse_publish_all(publish)
        for e in expose:
            exposed.update({key: {} for key in parse_expose(e)})
    except DockyardError as err:
        fail(f"dockyard: {err}\n\nRun 'dockyard run --help' for more information", 125)
    return exposed, bindings


def healthcheck(o: dict) -> dict | None:
    """--health-* flags as the docker CLI turns them into Config.Healthcheck (durations in ns)."""
    if o["no_healthcheck"]:
        return {"Test": ["NONE"]}
    hc = {"Test": ["CMD-SHELL", o["health_cmd"]]} if o["health_cmd"] else {}
    for key, opt in (("Interval", "health_interval"), ("Timeout", "health_timeout"),
                     ("StartPeriod", "health_start_period"), ("StartInterval", "health_start_interval")):
        if o[opt]:
            hc[key] = o[opt]
    if o["health_retries"] is not None:
        hc["Retries"] = o["health_retries"]
    return hc or None


def _pass_through(variable: str) -> list[str]:
    """`-e VAR` / a bare `VAR` line: the client's value when it has one (docker's ValidateEnv)."""
    return [f"{variable}={os.environ[variable]}"] if variable in os.environ else [variable]


def _env_file(path: str, pass_through: bool = True) -> list[str]:
    """docker's env-file rules: leading blanks and `#` lines skipped, values passed through untrimmed; a bare
    `VAR` takes the client's value (env files) or stays as it is (label files)."""
    env = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f.read().splitlines():
            line = line.lstrip()
            if not line or line.startswith("#"):
                continue
            variable, eq, value = line.partition("=")
            if any(ch.isspace() for ch in variable):
                raise DockyardError(f"variable '{variable}' contains whitespaces")
            if not variable:
                raise DockyardError(f"no variable name on line '{line}'")
            env += [f"{variable}={value}"] if eq or not pass_through else _pass_through(variable)
    return env


def environment(flags, files, pass_through: bool = True) -> list[str]:
    """The Env of a create or exec body: --env-file contents first, then -e values, as the docker CLI orders
    them; a file that cannot be read fails the command as docker's does. (Labels too: --label-file, -l.)"""
    env = []
    try:
        for path in files:
            env += _env_file(path, pass_through)
    except (OSError, DockyardError) as err:
        text = path_error(err) if isinstance(err, OSError) else f"invalid env file ({path}): {err}"
        command = click.get_current_context().info_name
        if command == "exec":
            fail(text)
        fail(f"dockyard: {text}\n\nRun 'dockyard {command} --help' for more information", 125)
    for value in flags:
        env += [value] if "=" in value or not pass_through else _pass_through(value)
    return env


def volumes_and_binds(volumes) -> tuple[dict, list]:
    """-v values as the docker CLI splits them: `/data` alone is an anonymous volume (Config.Volumes), anything
    with a source is a bind or named volume (HostConfig.Binds), a relative `./src` made absolute."""
    anonymous, binds = {}, []
    for v in volumes:
        source, colon, rest = v.partition(":")
        if not colon or not source:
            anonymous[v] = {}
            continue
        if source.startswith("."):
            source = os.path.abspath(source)
        binds.append(f"{source}:{rest}")
    return anonymous, binds


def build_create_body(o: dict, image: str, command, detach: bool = False) -> dict:
    env = environment(o["env"], o["env_file"])
    labels = dict(l.split("=", 1) if "=" in l else (l, "")
                  for l in environment(o["label"], o["label_file"], pass_through=False))
    exposed, bindings = port_bindings(o["publish"], o["expose"])
    name, _, retries = (o["restart"] or "no").partition(":")
    if o["rm"] and name != "no":
        raise RunError("conflicting options: cannot specify both --restart and --rm")
    anonymous, binds = volumes_and_binds(o["volume"])
    host_config = {
        "Binds": binds or None, "PortBindings": bindings, "PublishAllPorts": o["publish_all"],
        "AutoRemove": o["rm"], "Privileged": o["privileged"], "CapAdd": capabilities(o["cap_add"]),
        "CapDrop": capabilities(o["cap_drop"]), "ReadonlyRootfs": o["read_only"],
        "RestartPolicy": {"Name": name, "MaximumRetryCount": int(retries or 0)},
        "Tmpfs": {t.split(":", 1)[0]: (t.split(":", 1)[1] if ":" in t else "") for t in o["tmpfs"]} or None,
        "SecurityOpt": list(o["security_opt"]) or None, "Init": o["init"] or None,
        "NetworkMode": o["network"] or "default", "Dns": list(o["dns"]),
        "DnsSearch": list(o["dns_search"]), "DnsOptions": list(o["dns_option"]),
        "ExtraHosts": list(o["add_host"]) or None,
    }
    if o["runtime"]:
        host_config["Runtime"] = o["runtime"]
    if o["memory"]:
        host_config["Memory"] = o["memory"]
    if o["cpus"]:
        host_config["NanoCpus"] = o["cpus"]
    host_config["PidsLimit"] = o["pids_limit"] or 0
    if o["tty"]:
        host_config["ConsoleSize"] = list(terminal_size())
    body = {
        "Image": image, "Cmd": list(command) or None, "Env": env, "Tty": o["tty"], "OpenStdin": o["interactive"],
        **attach_streams(o, detach), "Labels": labels, "ExposedPorts": exposed or None,
        "Volumes": anonymous or None, "HostConfig": host_config,
    }
    endpoint = {}
    if o["network_alias"]:
        endpoint["Aliases"] = list(o["network_alias"])
    if o["ip"]:
        endpoint["IPAMConfig"] = {"IPv4Address": o["ip"]}
    apply_more_options(o, body, host_config, endpoint)
    if endpoint:
        body["NetworkingConfig"] = {"EndpointsConfig": {o["network"] or "default": endpoint}}
    for key, opt in (("WorkingDir", "workdir"), ("User", "user"), ("Hostname", "hostname"),
                     ("StopSignal", "stop_signal"), ("StopTimeout", "stop_timeout")):
        if o[opt] is not None:
            body[key] = o[opt]
    if o["entrypoint"] is not None:
        body["Entrypoint"] = [o["entrypoint"]] if o["entrypoint"] else [""]
    hc = healthcheck(o)
    if hc:
        body["Healthcheck"] = hc
    return body


def create_container(o: dict, image: str, command, detach: bool = False) -> str:
    """Create the container (pulling its image if --pull says so); the ID goes to --cidfile too."""
    c = client()
    command_name = click.get_current_context().info_name
    try:
        body = build_create_body(o, image, command, detach)
    except RunError as err:
        fail(f"dockyard: {err}\n\nRun 'dockyard {command_name} --help' for more information", 125)
    if o["cidfile"] and os.path.exists(o["cidfile"]):
        message = f"container ID file found, make sure the other container isn't running or delete {o['cidfile']}"
        if command_name == "run":
            fail(f"dockyard: {message}\n\nRun 'dockyard run --help' for more information", 125)
        fail(message)
    cid = _create(c, o, image, body)
    if o["cidfile"]:
        with open(o["cidfile"], "w") as f:
            f.write(cid)
    return cid


def _create(c, o: dict, image: str, body: dict) -> str:
    params = {"name": o["name"], "platform": o["platform"]}
    try:
        if o["pull"] == "always":
            raise NotFound("pull requested")
        return c.request("POST", "/containers/create", params=params, json_body=body).json()["Id"]
    except NotFound as err:
        if "No such image" not in str(err) and o["pull"] != "always":
            raise
        if o["pull"] == "never":
            raise
        if o["pull"] != "always" and not o["quiet"]:
            click.echo(f"Unable to find image '{_with_tag(image)}' locally", err=True)
        from .registry import pull_image
        with open(os.devnull, "w") as devnull:
            pull_image(image, o["platform"], out=devnull if o["quiet"] else sys.stderr)
        return c.request("POST", "/containers/create", params=params, json_body=body).json()["Id"]


def _with_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if (":" in last or "@" in image) else image + ":latest"


def exit_code_for(message: str) -> int:
    """docker run's exit code for a daemon error: 127/126 when the command cannot run, else 125."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 125


# ---------------------------------------------------------------- run / create / start
def run_failed(err: DockyardError, code: int):
    fail(f"dockyard: Error response from daemon: {err}\n\nRun 'dockyard run --help' for more information", code)


@click.command("run", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True)
@click.option("--detach-keys")
@click.option("--sig-proxy", type=bool, default=True)
@create_options
def run(detach, detach_keys, sig_proxy, image, command, **o):
    """Create and run a new container from an image"""
    if detach and o["attach"]:
        fail("conflicting options: cannot specify both --attach and --detach")
    try:
        cid = create_container(o, image, command, detach)
    except DockyardError as err:
        run_failed(err, 125)
    c = client()
    if detach:
        try:
            c.request("POST", f"/containers/{cid}/start")
        except DockyardError as err:
            run_failed(err, exit_code_for(str(err)))
        click.echo(cid)
        return
    streams = attach_streams(o, detach)
    sock = c.hijack(f"/containers/{cid}/attach", {"stream": True, "stdin": streams["AttachStdin"],
                                                   "stdout": streams["AttachStdout"],
                                                   "stderr": streams["AttachStderr"], "detachKeys": detach_keys})
    status = {}
    waiter = threading.Thread(target=_wait, args=(c.host, cid, "removed" if o["rm"] else "next-exit", status),
                              daemon=True)
    waiter.start()
    time.sleep(0.01)
    if sig_proxy and not o["tty"]:  # before the start, as docker does: a signal right after the start is forwarded
        proxy_signals(c, cid)
    try:
        c.request("POST", f"/containers/{cid}/start")
    except DockyardError as err:
        sock.close()
        if o["rm"]:
            waiter.join(10)
        run_failed(err, exit_code_for(str(err)))
    with raw_terminal(o["tty"] and o["interactive"]):
        if o["tty"]:
            on_resize(lambda h, w: c.request("POST", f"/containers/{cid}/resize", params={"h": h, "w": w}))
        if streams["AttachStdin"]:
            pump_stdin(sock)
        copy_output(sock, o["tty"])
    waiter.join(2 if not o["rm"] else 30)
    if "code" not in status:  # the stream ended without an exit: the user detached
        return
    raise SystemExit(status["code"])


def _wait(host: str, cid: str, condition: str, status: dict) -> None:
    try:
        status["code"] = DockerClient(host).post(f"/containers/{cid}/wait", condition=condition)["StatusCode"]
    except DockyardError:
        status["code"] = 125


@click.command("create", context_settings={"allow_interspersed_args": False})
@create_options
def create(image, command, **o):
    """Create a new container"""
    click.echo(create_container(o, image, command))


@click.command("start")
@click.argument("containers", nargs=-1, required=True)
@click.option("-a", "--attach", is_flag=True)
@click.option("-i", "--interactive", is_flag=True)
@click.option("--detach-keys")
def start(containers, attach, interactive, detach_keys):
    """Start one or more stopped containers"""
    c = client()
    if attach:
        info = c.get(f"/containers/{containers[0]}/json")
        tty = info["Config"]["Tty"]
        sock = c.hijack(f"/containers/{info['Id']}/attach",
                        {"stream": True, "stdin": interactive, "stdout": True, "stderr": True,
                         "detachKeys": detach_keys})
        status = {}
        waiter = threading.Thread(target=_wait, args=(c.host, info["Id"], "next-exit", status), daemon=True)
        waiter.start()
        c.request("POST", f"/containers/{info['Id']}/start")
        with raw_terminal(tty and interactive):
            if interactive:
                pump_stdin(sock)
            copy_output(sock, tty)
        waiter.join(5)
        raise SystemExit(status.get("code", 0))
    for name in each_name(containers, lambda n: c.request("POST", f"/containers/{n}/start"),
                          summary="failed to start containers: {}"):
        click.echo(name)


def _post_each(containers, action: str, **params) -> None:
    """POST /containers/{name}/{action} for each name, echoing those that worked, as docker's stop, restart,
    kill, pause and unpause do (errors as each_name prints them)."""
    for name in each_name(containers, lambda n: client().request("POST", f"/containers/{n}/{action}", params=params)):
        click.echo(name)


@click.command("stop")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=GoInt())
@click.option("-s", "--signal")
def stop(containers, timeout, signal):
    """Stop one or more running containers"""
    _post_each(containers, "stop", t=timeout, signal=signal)


@click.command("restart")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=GoInt())
@click.option("-s", "--signal")
def restart(containers, timeout, signal):
    """Restart one or more containers"""
    _post_each(containers, "restart", t=timeout, signal=signal)


@click.command("kill")
@click.argument("containers", nargs=-1, required=True)
@click.option("-s", "--signal")
def kill(containers, signal):
    """Kill one or more running containers"""
    _post_each(containers, "kill", signal=signal)


@click.command("pause")
@click.argument("containers", nargs=-1, required=True)
def pause(containers):
    """Pause all processes within one or more containers"""
    _post_each(containers, "pause")


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True)
def unpause(containers):
    """Unpause all processes within one or more containers"""
    _post_each(containers, "unpause")


@click.command("rm")
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True)
@click.option("-v", "--volumes", is_flag=True)
@click.option("-l", "--link", is_flag=True, help="Remove the specified link")
def rm(containers, force, volumes, link):
    """Remove one or more containers"""
    params = {"force": force, "v": volumes, **({"link": True} if link else {})}
    for name in each_name(containers, lambda n: client().request("DELETE", f"/containers/{n.strip('/')}",
                                                             params=params)):
        click.echo(name)


@click.command("wait")
@click.argument("containers", nargs=-1, required=True)
def wait(containers):
    """Block until one or more containers stop, then print their exit codes"""
    for name in containers:
        click.echo(client().post(f"/containers/{name}/wait")["StatusCode"])


@click.command("rename")
@click.argument("container")
@click.argument("new_name")
def rename(container, new_name):
    """Rename a container"""
    for _ in each_name([container], lambda n: client().request("POST", f"/containers/{n}/rename",
                                                               params={"name": new_name}),
                       summary="failed to rename container named {}"):
        pass


# ---------------------------------------------------------------- ps
class PsRow:
    json_fields = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks",
                   "Platform", "Ports", "RunningFor", "Size", "State", "Status")

    def __init__(self, c: dict, no_trunc: bool):
        self.raw = c
        self.ID = c["Id"] if no_trunc else c["Id"][:12]
        image = c["Image"]
        self.Image = short(image) if image.startswith("sha256:") and not no_trunc else image
        command = c["Command"]
        if not no_trunc and len(command) > 20:
            command = command[:19] + "…"
        self.Command = json.dumps(command, ensure_ascii=False)
        self.RunningFor = ago(c["Created"])
        self.CreatedAt = local_time(c["Created"])
        self.Status = c["Status"]
        self.State = c["State"]
        self.Ports = displayable_ports(c.get("Ports") or [])
        self.Names = ",".join(n.lstrip("/") for n in c["Names"])
        self.Labels = ",".join(f"{k}={v}" for k, v in (c.get("Labels") or {}).items())
        self.Size = human_size(c.get("SizeRw") or 0)
        if c.get("SizeRootFs"):
            self.Size += f" (virtual {human_size(c['SizeRootFs'])})"
        mounts = [m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []]
        self.Mounts = ",".join(m if no_trunc or len(m) <= 15 else m[:14] + "…" for m in mounts)
        self.LocalVolumes = str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local"))
        self.Networks = ",".join((c.get("NetworkSettings") or {}).get("Networks") or {})
        self.Platform = None  # docker shows the image platform only for the containerd image store

    def call(self, name, args):
        if name == "Label":
            return (self.raw.get("Labels") or {}).get(args[0], "")
        return ""


def displayable_ports(ports: list[dict]) -> str:
    """The PORTS column as the docker CLI writes it: runs of ports grouped (`80-81/tcp`), then mappings
    to other host ports (`0.0.0.0:8080->80/tcp`)."""
    def key(p):
        return p["PrivatePort"], p.get("IP") or "", p.get("PublicPort") or 0, p["Type"]

    groups: dict[str, list[int]] = {}
    result, mappings = [], []
    for p in sorted(ports, key=key):
        port, ip = p["PrivatePort"], p.get("IP") or ""
        group_key = p["Type"]
        if ip:
            if p.get("PublicPort") != port:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{p.get('PublicPort')}->{port}/{p['Type']}")
                continue
            group_key = f"{ip}/{p['Type']}"
        g = groups.get(group_key)
        if g is None:
            groups[group_key] = [port, port]
        elif port == g[1] + 1:
            g[1] = port
        else:
            result.append(_port_group(group_key, *g))
            groups[group_key] = [port, port]
    result += [_port_group(k, *g) for k, g in groups.items()]
    return ", ".join(result + mappings)


def _port_group(group_key: str, first: int, last: int) -> str:
    ip, _, proto = group_key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{ports}->{ports}/{proto}" if ip else f"{ports}/{proto}"


@click.command("ls")
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("-n", "--last", type=GoInt(), default=-1)
@click.option("-l", "--latest", is_flag=True)
@click.option("-s", "--size", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
def ps(all_, quiet, last, latest, size, no_trunc, filters, fmt):
    """List containers"""
    # as docker, a --format template that shows .Size (or the whole row: `{{json .}}`) asks the daemon to
    # compute it; the bare `json` format does not
    size = size or bool(fmt and not quiet and re.search(r"\.Size\b|json\s+\.\s*-?}}", fmt))
    items = client().get("/containers/json", all=all_, limit=1 if latest else (None if last == -1 else last), size=size,
                         filters=parse_filters(filters))
    rows = [PsRow(c, no_trunc) for c in items]
    if quiet:
        for r in rows:
            click.echo(r.ID)
        return
    if fmt and fmt != "table":  # bare `table` is the default table
        render_rows(fmt, rows, sys.stdout)
        return
    header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"] + (["SIZE"] if size else [])
    body = [[r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names] + ([r.Size] if size else [])
            for r in rows]
    table([header] + body, sys.stdout)


# ---------------------------------------------------------------- logs, attach, exec
@click.command("logs")
@click.argument("container")
@click.option("-f", "--follow", is_flag=True)
@click.option("-n", "--tail", default="all")
@click.option("--since")
@click.option("--until")
@click.option("-t", "--timestamps", is_flag=True)
@click.option("--details", is_flag=True)
def logs(container, follow, tail, since, until, timestamps, details):
    """Fetch the logs of a container"""
    c = client()
    info = c.get(f"/containers/{container}/json")
    resp = c.stream("GET", f"/containers/{info['Id']}/logs",
                    {"stdout": True, "stderr": True, "follow": follow, "tail": tail, "since": since,
                     "until": until, "timestamps": timestamps})
    try:
        if info["Config"]["Tty"]:
            for chunk in resp.iter_raw():
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
            return
        from ..stdcopy import demux
        it = resp.iter_raw()
        buf = bytearray()

        def read(n):
            if not buf:
                buf.extend(next(it, b""))
            data = bytes(buf[:n])
            del buf[:n]
            return data

        for stream, data in demux(read):
            target = sys.stderr.buffer if stream == 2 else sys.stdout.buffer
            target.write(data)
            target.flush()
    finally:
        resp.close()


@click.command("attach")
@click.argument("container")
@click.option("--no-stdin", is_flag=True)
@click.option("--detach-keys")
@click.option("--sig-proxy", default=True, type=bool)
def attach(container, no_stdin, detach_keys, sig_proxy):
    """Attach local standard input, output, and error streams to a running container"""
    c = client()
    info = c.get(f"/containers/{container}/json")
    if not info["State"]["Running"]:
        fail("You cannot attach to a stopped container, start it first")
    tty = info["Config"]["Tty"]
    use_stdin = not no_stdin and info["Config"]["OpenStdin"]
    sock = c.hijack(f"/containers/{info['Id']}/attach", {"stream": True, "stdin": use_stdin, "stdout": True,
                                                          "stderr": True, "detachKeys": detach_keys})
    if sig_proxy and not tty:
        proxy_signals(c, info["Id"])
    with raw_terminal(tty and use_stdin):
        if tty:
            on_resize(lambda h, w: c.request("POST", f"/containers/{info['Id']}/resize", params={"h": h, "w": w}))
        if use_stdin:
            pump_stdin(sock)
        copy_output(sock, tty)
    final = c.get(f"/containers/{info['Id']}/json")
    if not final["State"]["Running"]:
        raise SystemExit(final["State"]["ExitCode"])


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-i", "--interactive", is_flag=True)
@click.option("-t", "--tty", is_flag=True)
@click.option("-d", "--detach", is_flag=True)
@click.option("-e", "--env", multiple=True)
@click.option("--env-file", multiple=True)
@click.option("-w", "--workdir")
@click.option("-u", "--user")
@click.option("--privileged", is_flag=True)
@click.option("--detach-keys")
def exec_(container, command, interactive, tty, detach, env, env_file, workdir, user, privileged, detach_keys):
    """Execute a command in a running container"""
    c = client()
    body = {"Cmd": list(command), "AttachStdin": interactive and not detach, "AttachStdout": not detach,
            "AttachStderr": not detach, "Tty": tty, "Env": environment(env, env_file), "WorkingDir": workdir or "",
            "User": user or "",
            "Privileged": privileged, "DetachKeys": detach_keys or ""}
    if tty:
        body["ConsoleSize"] = list(terminal_size())
    exec_id = c.request("POST", f"/containers/{container}/exec", json_body=body).json()["Id"]
    if detach:
        c.request("POST", f"/exec/{exec_id}/start", json_body={"Detach": True, "Tty": tty})
        return
    sock = c.hijack(f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty})
    with raw_terminal(tty and interactive):
        if tty:
            on_resize(lambda h, w: c.request("POST", f"/exec/{exec_id}/resize", params={"h": h, "w": w}))
        if interactive:
            pump_stdin(sock)
        copy_output(sock, tty)
    code = c.get(f"/exec/{exec_id}/json").get("ExitCode")
    raise SystemExit(code if code is not None else 126)


# ---------------------------------------------------------------- inspect, top, port, diff, cp, export, commit
@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt")
@click.option("-s", "--size", is_flag=True)
@click.option("--type", "type_", type=click.Choice(["container", "image", "volume", "network"]))
def inspect(names, fmt, size, type_):
    """Return low-level information on dockyard objects"""
    c = client()

    def lookup(name: str) -> dict:
        getters = {"container": lambda: c.get(f"/containers/{name}/json", size=size),
                   "image": lambda: c.get(f"/images/{quote(name, safe='/:@')}/json"),
                   "volume": lambda: c.get(f"/volumes/{name}"), "network": lambda: c.get(f"/networks/{name}")}
        if type_:  # a typed lookup fails in the daemon's words
            return getters[type_]()
        for kind in getters:
            try:
                return getters[kind]()
            except NotFound:
                continue
        raise NotFound(f"No such object: {name}")

    inspect_objects(lookup, names, fmt)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt")
@click.option("-s", "--size", is_flag=True)
def container_inspect(names, fmt, size):
    """Display detailed information on one or more containers"""
    inspect_objects(lambda n: client().get(f"/containers/{n}/json", size=size), names, fmt)


@click.command("top", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
def top(container, ps_args):
    """Display the running processes of a container"""
    result = client().get(f"/containers/{container}/top", ps_args=" ".join(ps_args) or None)
    table([result["Titles"]] + result["Processes"], sys.stdout, min_width=20)


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False)
def port(container, private_port):
    """List port mappings or a specific mapping for the container"""
    ports = client().get(f"/containers/{container}/json")["NetworkSettings"].get("Ports") or {}
    if private_port:
        try:
            number, proto = parse_port_key(private_port)
        except DockyardError as err:
            fail(f"Error: {err}")
        bindings = ports.get(f"{number}/{proto}")
        if not bindings:
            fail(f"Error: No public port '{private_port}' published for {container}")
        for b in bindings:
            click.echo(_host_addr(b))
        return
    for key, bindings in sorted(ports.items(), key=lambda kv: parse_port_key(kv[0])):
        for b in bindings or []:
            click.echo(f"{key} -> {_host_addr(b)}")


def _host_addr(b: dict) -> str:
    ip = b.get("HostIp") or "0.0.0.0"
    return f"[{ip}]:{b['HostPort']}" if ":" in ip else f"{ip}:{b['HostPort']}"


@click.command("diff")
@click.argument("container")
def diff(container):
    """Inspect changes to files or directories on a container's filesystem"""
    for ch in client().get(f"/containers/{container}/changes") or []:
        click.echo(f"{'CAD'[ch['Kind']]} {ch['Path']}")


@click.command("export")
@click.argument("container")
@click.option("-o", "--output")
def export(container, output):
    """Export a container's filesystem as a tar archive"""
    copy_to_file(client().stream("GET", f"/containers/{container}/export"), output)


@click.command("commit")
@click.argument("container")
@click.argument("repository", required=False)
@click.option("-a", "--author", default="")
@click.option("-m", "--message", default="")
@click.option("-c", "--change", "changes", multiple=True)
@click.option("-p", "--pause", default=True, type=bool)
def commit(container, repository, author, message, changes, pause):
    """Create a new image from a container's changes"""
    from .images import split_tag

    repo, tag = split_tag(repository) if repository else ("", "")
    params = [("container", container), ("repo", repo), ("tag", tag), ("author", author), ("comment", message),
              ("pause", "1" if pause else "0")] + [("changes", ch) for ch in changes]
    click.echo(client().request("POST", "/commit", params=params).json()["Id"])


@click.command("prune")
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
def container_prune(force, filters):
    """Remove all stopped containers"""
    confirm_or_exit(force, "WARNING! This will remove all stopped containers.")
    result = client().post("/containers/prune", filters=parse_filters(filters))
    print_deleted("Containers", result.get("ContainersDeleted") or [])
    print_reclaimed(result.get("SpaceReclaimed", 0))


@click.group("container", cls=DockerGroup)
def container_group():
    """Manage containers"""


COMMANDS = {"run": run, "create": create, "start": start, "stop": stop, "restart": restart, "kill": kill,
            "pause": pause, "unpause": unpause, "rm": rm, "wait": wait, "rename": rename, "logs": logs,
            "attach": attach, "exec": exec_, "top": top, "port": port, "diff": diff, "cp": cp, "export": export,
            "commit": commit}


def register(cli):
    for name, cmd in COMMANDS.items():
        cli.add_command(cmd, name)
        container_group.add_command(cmd, name)
    container_group.add_command(ps, "ls")
    container_group.add_command(ps, "ps")
    container_group.add_command(container_prune, "prune")
    container_group.add_command(container_inspect, "inspect")
    cli.add_command(ps, "ps")
    cli.add_command(inspect, "inspect")
    cli.add_command(container_group)
