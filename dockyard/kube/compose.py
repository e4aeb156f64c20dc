"""A compose file -> PodSources, one per service, following the Compose Specification
(/work/shared/reference/compose): what `docker compose up` would run, as Kubernetes pods. Every service that
has ports gets a Service (compose services reach each other by name; in a cluster that takes a Service), and
`depends_on` becomes init containers that wait for the dependency's Service where Kubernetes can say it."""
from __future__ import annotations

import os
import re
import shlex

import yaml

from ..errors import InvalidParameter
from . import quantity
from .objects import DOCKER_RESTART, PodSource, Warnings, add_host_aliases, add_mount, dns_label, exec_probe, resources, \
    security_context, set_interactive, split_labels

SUPPORTED = {"image", "command", "entrypoint", "environment", "env_file", "working_dir", "user", "ports", "expose",
             "volumes", "healthcheck", "restart", "labels", "annotations", "depends_on", "mem_limit",
             "mem_reservation", "cpus", "cpu_shares", "deploy", "tty", "stdin_open", "privileged", "cap_add",
             "cap_drop", "read_only", "container_name", "hostname", "networks", "extra_hosts"}
INTERPOLATION = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def load(path: str, environ=None) -> dict:
    """The compose file, interpolated from the environment (and the project's .env), as a dict."""
    env = dict(os.environ if environ is None else environ)
    dot_env = os.path.join(os.path.dirname(os.path.abspath(path)), ".env")
    if os.path.exists(dot_env):
        env = {**read_env_file(dot_env), **env}
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise InvalidParameter(f"{path}: a compose file needs a services mapping")
    return interpolate(data, env)


def interpolate(value, env: dict):
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        current = env.get(name)
        if op in (":-", "-"):
            return arg if current is None or (op == ":-" and current == "") else current
        if op in (":?", "?") and (current is None or (op == ":?" and current == "")):
            raise InvalidParameter(f"required variable {name} is missing a value: {arg}")
        return current or ""
    return INTERPOLATION.sub(sub, value)


def read_env_file(path: str) -> dict:
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip().strip("'\"")
    return out


def pods_from_compose(project: dict, project_dir: str, warnings: Warnings, wait_image: str = "busybox",
                      image_digest=None) -> list[PodSource]:
    """A PodSource per service, in file order. `image_digest(ref)` gives `repo@digest` for --digests."""
    services = project["services"]
    volumes_top = project.get("volumes") or {}
    pods = []
    for name, svc in services.items():
        svc = svc or {}
        where = f"service {name}"
        for key in svc:
            if key not in SUPPORTED:
                warnings.add(f"{where}: {key} is not translated to Kubernetes (ignored)")
        if "image" not in svc:
            raise InvalidParameter(f"{where}: image is required (build the image and push it to a registry the "
                                   f"cluster can pull from, then name it here)")
        src = PodSource(name=dns_label(name))
        src.containers.append(container_from_service(name, svc, src, project_dir, volumes_top, warnings,
                                                     image_digest))
        src.init_containers = wait_for_dependencies(name, svc, services, wait_image, warnings)
        pods.append(src)
    return pods


def container_from_service(name: str, svc: dict, src: PodSource, project_dir: str, volumes_top: dict,
                           warnings: Warnings, image_digest) -> dict:
    where = f"service {name}"
    image = svc["image"]
    if image_digest:
        image = image_digest(image, where)
    c: dict = {"name": dns_label(name), "image": image}
    if svc.get("entrypoint") is not None:
        c["command"] = argv(svc["entrypoint"])
    if svc.get("command") is not None:
        c["args"] = argv(svc["command"])
    env = {}
    for env_file in as_list(svc.get("env_file")):
        path = env_file["path"] if isinstance(env_file, dict) else env_file
        env.update(read_env_file(os.path.join(project_dir, path)))
    env.update(mapping(svc.get("environment")))
    if env:
        c["env"] = [{"name": k, "value": "" if v is None else str(v)} for k, v in env.items()]
    if svc.get("working_dir"):
        c["workingDir"] = svc["working_dir"]
    ports = service_ports(svc, where)
    if ports:
        c["ports"] = ports
    deploy = svc.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    mem = svc.get("mem_limit") or limits.get("memory")
    cpus = svc.get("cpus") or limits.get("cpus")
    reservation = svc.get("mem_reservation") or reservations.get("memory")
    res = resources(quantity.memory_bytes(docker_size(mem), f"{where}.mem_limit") if mem else 0,
                    quantity.nano_cpus(cpus, f"{where}.cpus") if cpus else 0,
                    quantity.memory_bytes(docker_size(reservation), f"{where}.mem_reservation") if reservation else 0,
                    int(svc.get("cpu_shares") or 0))
    if res:
        c["resources"] = res
    hc = svc.get("healthcheck") or {}
    if hc and not hc.get("disable"):
        test = hc.get("test")
        test = ["CMD-SHELL", test] if isinstance(test, str) else test
        probe = exec_probe(test, *(quantity.parse_duration(hc[k], f"{where}.healthcheck.{k}") if hc.get(k) else None
                                   for k in ("interval", "timeout")),
                           hc.get("retries"),
                           quantity.parse_duration(hc["start_period"], f"{where}.healthcheck.start_period")
                           if hc.get("start_period") else None)
        if probe:
            c["livenessProbe"] = probe
            c["readinessProbe"] = dict(probe)
    sec = security_context(str(svc.get("user") or ""), where, warnings) or {}
    if svc.get("privileged"):
        warnings.add(f"{where}: runs privileged; most clusters' pod security admission refuses that")
        sec["privileged"] = True
    caps = {k: [x.upper().removeprefix("CAP_") for x in svc.get(f"cap_{k}") or []] for k in ("add", "drop")}
    if any(caps.values()):
        sec["capabilities"] = {k: v for k, v in caps.items() if v}
    if svc.get("read_only"):
        sec["readOnlyRootFilesystem"] = True
    if sec:
        c["securityContext"] = sec
    used: dict = {}
    for spec in svc.get("volumes") or []:
        kind, source, target, ro = parse_volume(spec, project_dir, where)
        if kind == "volume" and source:
            top = volumes_top.get(source) or {}
            source = top.get("name") or source
        add_mount(src, c, kind, source, target, ro, where, warnings, used)
    set_interactive(c, svc.get("tty"), svc.get("stdin_open"))
    restart = svc.get("restart") or ((deploy.get("restart_policy") or {}).get("condition")) or "no"
    if restart:  # compose's default is "no": a service that exits stays exited
        policy, _, retries = str(restart).partition(":")
        policy = {"any": "always", "none": "no"}.get(policy, policy)
        src.restart = DOCKER_RESTART.get(policy, "Always")
        src.retries = int(retries or (deploy.get("restart_policy") or {}).get("max_attempts") or 0)
    keep, notes = split_labels({k: str(v) for k, v in mapping(svc.get("labels")).items()})
    src.labels.update(keep)
    src.annotations.update({**notes, **{k: str(v) for k, v in mapping(svc.get("annotations")).items()}})
    extra_hosts = svc.get("extra_hosts") or []
    add_host_aliases(src, [f"{k}={v}" for k, v in extra_hosts.items()] if isinstance(extra_hosts, dict)
                     else extra_hosts, where, warnings)
    if svc.get("hostname"):
        src.hostname = dns_label(str(svc["hostname"]))
    if svc.get("container_name"):
        warnings.add(f"{where}: container_name is not used: Kubernetes names the pod after the service")
    if svc.get("networks"):
        warnings.add(f"{where}: networks are not translated: a cluster's pods share one flat network")
    return c


def wait_for_dependencies(name: str, svc: dict, services: dict, wait_image: str, warnings: Warnings) -> list[dict]:
    """depends_on as init containers that wait until the dependency's Service accepts connections (a Service
    only routes to ready pods, so this also waits for service_healthy). Kubernetes cannot order pods by a
    dependency's completion, nor wait for one without a port: those are warned about."""
    deps = svc.get("depends_on") or {}
    deps = {d: {} for d in deps} if isinstance(deps, list) else deps
    inits = []
    for dep, opts in deps.items():
        condition = (opts or {}).get("condition", "service_started")
        where = f"service {name}: depends_on {dep}"
        if dep not in services:
            raise InvalidParameter(f"{where}: no such service")
        if condition == "service_completed_successfully":
            warnings.add(f"{where} ({condition}) cannot be expressed across pods in Kubernetes; run {dep} as a Job "
                         f"(or an init container of {name})")
            continue
        ports = service_ports(services[dep] or {}, f"service {dep}")
        if not ports:
            warnings.add(f"{where} cannot be expressed: {dep} has no port to wait on (Kubernetes starts pods "
                         f"in no order)")
            continue
        host, port = dns_label(dep), ports[0]["containerPort"]
        inits.append({"name": dns_label(f"wait-for-{dep}"), "image": wait_image,
                      "command": ["sh", "-c", f"until nc -w 2 {host} {port} </dev/null >/dev/null 2>&1; "
                                              f"do echo waiting for {host}:{port}; sleep 1; done"]})
    return inits


def argv(value) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, (str, dict)) else list(value)


def mapping(value) -> dict:
    """environment/labels: a mapping or a list of KEY=VALUE (a bare KEY takes the value from os.environ)."""
    if isinstance(value, dict):
        return dict(value)
    out = {}
    for item in value or []:
        key, eq, val = str(item).partition("=")
        out[key] = val if eq else os.environ.get(key)
    return {k: v for k, v in out.items() if v is not None}


def docker_size(value) -> str:
    """Compose sizes ("512m", "1g", "1024b") as Kubernetes quantities (binary units)."""
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+)\s*([bkmg]?)b?", text)
    if not m:
        return str(value)
    return m.group(1) + {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}[m.group(2)]


def service_ports(svc: dict, where: str) -> list[dict]:
    """ports (short and long syntax, ranges) and expose, as containerPort/protocol/hostPort."""
    out: dict = {}
    for spec in svc.get("ports") or []:
        for target, published, proto in parse_port(spec, where):
            entry = {"containerPort": target, "protocol": proto.upper()}
            if published:
                entry["hostPort"] = published
            out.setdefault((target, proto), entry)
    for spec in svc.get("expose") or []:
        number, _, proto = str(spec).partition("/")
        for target in port_range(number, where):
            out.setdefault((target, proto or "tcp"), {"containerPort": target, "protocol": (proto or "tcp").upper()})
    return list(out.values())


def parse_port(spec, where: str) -> list[tuple[int, int | None, str]]:
    if isinstance(spec, dict):
        published = spec.get("published")
        return [(int(spec["target"]), int(str(published).split("-")[0]) if published else None,
                 spec.get("protocol", "tcp"))]
    text, _, proto = str(spec).partition("/")
    parts = text.rsplit(":", 2) if text.count(":") <= 2 else [text]
    target = port_range(parts[-1], where)
    published = port_range(parts[-2], where) if len(parts) >= 2 and parts[-2] else [None] * len(target)
    if len(published) == 1 and len(target) > 1:
        published = [None] * len(target)
    if len(published) != len(target):
        raise InvalidParameter(f"{where}: ports {spec!r}: published and target ranges differ in length")
    return [(t, p, proto or "tcp") for t, p in zip(target, published)]


def port_range(text: str, where: str) -> list[int]:
    first, _, last = str(text).partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise InvalidParameter(f"{where}: invalid port {text!r}")
    return list(range(int(first), int(last or first) + 1))


def parse_volume(spec, project_dir: str, where: str) -> tuple[str, str, str, bool]:
    """(type, source, target, read_only) of a short or long volume entry; relative bind paths resolved."""
    if isinstance(spec, dict):
        kind, source, target = spec.get("type", "volume"), spec.get("source") or "", spec["target"]
        ro = bool(spec.get("read_only"))
    else:
        parts = str(spec).split(":")
        if len(parts) == 1:
            kind, source, target, ro = "volume", "", parts[0], False
        else:
            source, target = parts[0], parts[1]
            ro = len(parts) > 2 and "ro" in parts[2].split(",")
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    if kind == "bind":
        source = os.path.normpath(os.path.join(project_dir, os.path.expanduser(source)))
    if not target.startswith("/"):
        raise InvalidParameter(f"{where}: volumes {spec!r}: the target must be an absolute path")
    return kind, source, target, ro
