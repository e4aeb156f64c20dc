"""Containers (their inspect JSON, and their images') -> a PodSource: what `docker run` said, in the words of
a Kubernetes container. Pure: the CLI fetches the JSON through the Engine API client."""
from __future__ import annotations

import json

from . import labels as L
from .objects import DOCKER_RESTART, PodSource, Warnings, add_host_aliases, add_mount, dns_label, exec_probe, resources, \
    security_context, set_interactive, split_labels


def pod_from_containers(name: str, found: list[tuple[dict, dict | None]], warnings: Warnings, digests: bool = False,
                        volume_labels=lambda name: {}) -> PodSource:
    """One pod from containers [(container inspect, image inspect or None)]: init containers (those kube play
    ran as such) first, in creation order; the infra container of a played pod is left out (Kubernetes makes
    its own). `volume_labels(name)` gives a volume's labels (play's emptyDir volumes are not claims)."""
    src = PodSource(name=dns_label(name))
    used: dict = {}
    for info, image in found:
        cfg_labels = info["Config"].get("Labels") or {}
        if cfg_labels.get(L.DOCKER_TYPE) == "podsandbox":  # the pod's own settings live on its infra
            add_host_aliases(src, (info.get("HostConfig") or {}).get("ExtraHosts"), name, warnings)
            if info["Config"].get("Hostname") not in (None, "", cfg_labels.get(L.POD_NAME)):
                src.hostname = info["Config"]["Hostname"]
            continue
        if L.POD_LABELS in cfg_labels and not src.labels:  # a played pod: its template's labels and annotations
            src.labels = {k: v for k, v in json.loads(cfg_labels[L.POD_LABELS]).items() if k != "app"}
            src.annotations = json.loads(cfg_labels.get(L.POD_ANNOTATIONS) or "{}")
        container = container_from_inspect(info, image, src, used, warnings, digests, volume_labels)
        (src.init_containers if cfg_labels.get(L.INIT) == "true" else src.containers).append(container)
    return src


def container_from_inspect(info: dict, image: dict | None, src: PodSource, used: dict, warnings: Warnings,
                           digests: bool, volume_labels) -> dict:
    cfg, host = info["Config"], info.get("HostConfig") or {}
    img_cfg = (image or {}).get("Config") or {}
    cname = info["Name"].lstrip("/")
    name = (cfg.get("Labels") or {}).get(L.CONTAINER_NAME) or dns_label(cname)
    where = f"container {cname}"
    c: dict = {"name": name, "image": image_reference(cfg.get("Image") or "", image, digests, where, warnings)}
    entrypoint, cmd = cfg.get("Entrypoint") or [], cfg.get("Cmd") or []
    if entrypoint != (img_cfg.get("Entrypoint") or []):
        c["command"] = list(entrypoint)
        if cmd:
            c["args"] = list(cmd)
    elif cmd != (img_cfg.get("Cmd") or []):
        c["args"] = list(cmd)
    image_env = set(img_cfg.get("Env") or [])
    env = [e.partition("=") for e in cfg.get("Env") or [] if e not in image_env]
    if env:
        c["env"] = [{"name": k, "value": v} for k, _, v in env]
    if cfg.get("WorkingDir") and cfg["WorkingDir"] != img_cfg.get("WorkingDir"):
        c["workingDir"] = cfg["WorkingDir"]
    played_ports = (cfg.get("Labels") or {}).get(L.PORTS)
    ports = json.loads(played_ports) if played_ports else \
        container_ports(cfg.get("ExposedPorts") or {}, host.get("PortBindings") or {})
    if ports:
        c["ports"] = ports
    res = resources(host.get("Memory") or 0, host.get("NanoCpus") or quota_cpus(host),
                    host.get("MemoryReservation") or 0, host.get("CpuShares") or 0)
    if res:
        c["resources"] = res
    probe = exec_probe(*healthcheck_fields(cfg.get("Healthcheck")))
    if probe:
        c["livenessProbe"] = probe
        c["readinessProbe"] = dict(probe)
    sec = security_context(cfg.get("User") or "", where, warnings) if cfg.get("User") != img_cfg.get("User") else None
    sec = {**(sec or {}), **privileges(host, where, warnings)}
    if sec:
        c["securityContext"] = sec
    for mnt in info.get("Mounts") or []:
        kind, source = mnt.get("Type"), mnt.get("Name") or mnt.get("Source") or ""
        labels = volume_labels(source) if kind == "volume" else {}
        if kind == "volume" and (len(source) == 64 or labels.get(L.MANAGED) == "emptydir"):
            source = ""  # anonymous volumes and played emptyDirs live and die with the pod
        source = labels.get(L.CLAIM_TEMPLATE) or source  # a played StatefulSet replica's claim: its template
        add_mount(src, c, kind, source, mnt["Destination"], not mnt.get("RW", True), where, warnings, used)
    set_interactive(c, cfg.get("Tty"), cfg.get("OpenStdin"))
    add_host_aliases(src, host.get("ExtraHosts"), where, warnings)
    untranslated(host, where, warnings)
    restart = host.get("RestartPolicy") or {}
    if src.restart is None and (cfg.get("Labels") or {}).get(L.INIT) != "true":  # the pod's first container's
        src.restart = DOCKER_RESTART.get(restart.get("Name") or "no", "Never")
        src.retries = restart.get("MaximumRetryCount") or 0
    own = {k: v for k, v in (cfg.get("Labels") or {}).items()
           if not k.startswith(L.OWN_PREFIXES) and (img_cfg.get("Labels") or {}).get(k) != v}
    keep, notes = split_labels(own)
    src.labels.update(keep)
    src.annotations.update(notes)
    return c


def image_reference(ref: str, image: dict | None, digests: bool, where: str, warnings: Warnings) -> str:
    """The image as the container names it; with --digests, `repo@sha256:...` of the digest it was pushed or
    pulled with (RepoDigests), so the cluster runs exactly what was tested here."""
    if not digests:
        return ref
    repo_digests = (image or {}).get("RepoDigests") or []
    repo = ref.split("@")[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    for rd in repo_digests:
        if rd.split("@")[0] in (repo, f"docker.io/{repo}", f"docker.io/library/{repo}"):
            return rd
    if repo_digests:
        return repo_digests[0]
    warnings.add(f"{where}: image {ref} has no registry digest (push it first); its tag is used")
    return ref


def container_ports(exposed: dict, bindings: dict) -> list[dict]:
    """ExposedPorts and PortBindings as containerPort/protocol, with the published host port as hostPort."""
    out = []
    for key in sorted(set(exposed) | set(bindings), key=lambda k: (int(k.split("/")[0]), k)):
        number, _, proto = key.partition("/")
        port = {"containerPort": int(number), "protocol": (proto or "tcp").upper()}
        host_ports = [b.get("HostPort") for b in bindings.get(key) or [] if b.get("HostPort")]
        if host_ports:
            port["hostPort"] = int(host_ports[0])
        out.append(port)
    return out


def quota_cpus(host: dict) -> int:
    quota, period = host.get("CpuQuota") or 0, host.get("CpuPeriod") or 100000
    return quota * 10**9 // period if quota > 0 else 0


def healthcheck_fields(hc: dict | None) -> tuple:
    hc = hc or {}
    return hc.get("Test"), hc.get("Interval"), hc.get("Timeout"), hc.get("Retries"), hc.get("StartPeriod")


def privileges(host: dict, where: str, warnings: Warnings) -> dict:
    """--privileged and --cap-add/--cap-drop as the securityContext says them (a cluster may refuse them)."""
    sec: dict = {}
    if host.get("Privileged"):
        warnings.add(f"{where}: runs privileged; most clusters' pod security admission refuses that")
        sec["privileged"] = True
    caps = {k: [c.upper().removeprefix("CAP_") for c in host.get(f"Cap{k.capitalize()}") or []]
            for k in ("add", "drop")}
    caps = {k: v for k, v in caps.items() if v}
    if caps:
        sec["capabilities"] = caps
    if host.get("ReadonlyRootfs"):
        sec["readOnlyRootFilesystem"] = True
    return sec


UNTRANSLATED = ("Devices", "Dns", "DnsSearch", "DnsOptions", "Links", "Ulimits", "Sysctls", "PidMode", "IpcMode",
                "UTSMode", "VolumesFrom", "DeviceRequests", "SecurityOpt", "GroupAdd")


def untranslated(host: dict, where: str, warnings: Warnings) -> None:
    """Settings a pod spec has no words for are named, not dropped in silence."""
    for key in UNTRANSLATED:
        if host.get(key):
            warnings.add(f"{where}: HostConfig.{key} is not translated to Kubernetes")
    mode = host.get("NetworkMode") or "default"
    if mode == "host":
        warnings.add(f"{where}: --network host is not translated (hostNetwork is a privileged request)")
    elif mode not in ("default", "bridge") and not mode.startswith("container:"):
        warnings.add(f"{where}: network {mode} is not translated: a cluster's pods share one flat network and "
                     f"reach each other by Service names")

