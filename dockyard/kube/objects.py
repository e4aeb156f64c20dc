"""Builders of Kubernetes objects shared by the two front ends (containers in `generate`, compose in `compose`):
a PodSource says what a pod holds; `manifests()` wraps it as a Pod, Deployment, StatefulSet or Job, with its
Service and PersistentVolumeClaims."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import quantity

KINDS = {"pod": ("v1", "Pod"), "deployment": ("apps/v1", "Deployment"),
         "statefulset": ("apps/v1", "StatefulSet"), "job": ("batch/v1", "Job")}
DOCKER_RESTART = {"no": "Never", "": "Never", "always": "Always", "unless-stopped": "Always",
                  "on-failure": "OnFailure"}
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NODE_PORTS = range(30000, 32768)
DEFAULT_STORAGE = "1Gi"  # a claim must ask for a size; Docker volumes have none


class Warnings(list):
    """What could not be carried over exactly, said once each (printed on stderr by the CLI)."""

    def add(self, message: str) -> None:
        if message not in self:
            self.append(message)


@dataclass
class PodSource:
    name: str
    containers: list = field(default_factory=list)
    init_containers: list = field(default_factory=list)
    volumes: dict = field(default_factory=dict)  # pod volume name -> volume dict
    claims: list = field(default_factory=list)  # PVC names the volumes use
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    restart: str | None = None  # Always / OnFailure / Never
    retries: int = 0  # on-failure:N
    host_aliases: dict = field(default_factory=dict)  # ip -> [hostnames] (--add-host, extra_hosts)
    hostname: str = ""

    def add_volume(self, volume: dict) -> None:
        self.volumes.setdefault(volume["name"], volume)
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim and claim not in self.claims:
            self.claims.append(claim)


def dns_label(text: str, limit: int = 63) -> str:
    """A DNS-1123 label from a Docker name (`my_app.web-1` -> `my-app-web-1`), as Kubernetes names need."""
    out = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return out or "x"


def split_labels(labels: dict) -> tuple[dict, dict]:
    """Docker labels that are valid Kubernetes labels stay labels; the others (free text values, long keys)
    become annotations, which take any string."""
    keep, notes = {}, {}
    for key, value in sorted((labels or {}).items()):
        prefix, _, name = key.rpartition("/")
        valid = (len(name) <= 63 and LABEL_KEY_NAME.match(name) and len(value) <= 63 and LABEL_VALUE.match(value)
                 and (not prefix or (len(prefix) <= 253 and DNS_SUBDOMAIN.match(prefix))))
        (keep if valid else notes)[key] = value
    return keep, notes


def exec_probe(test: list | None, interval_ns=None, timeout_ns=None, retries=None, start_ns=None) -> dict | None:
    """A Docker healthcheck as an exec probe (CMD -> the argv, CMD-SHELL -> /bin/sh -c), with Docker's
    defaults (30s interval, 30s timeout, 3 retries) made explicit; None for NONE or no test."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        command = ["/bin/sh", "-c", " ".join(test[1:])]
    else:
        command = list(test[1:] if test[0] == "CMD" else test)
    probe = {"exec": {"command": command}, "periodSeconds": quantity.seconds(interval_ns, 30),
             "timeoutSeconds": quantity.seconds(timeout_ns, 30), "failureThreshold": int(retries or 3)}
    if start_ns:
        probe["initialDelaySeconds"] = quantity.seconds(start_ns, 0)
    return probe


def resources(memory: int = 0, nano_cpus: int = 0, reservation: int = 0, cpu_shares: int = 0) -> dict | None:
    """Docker's limits as Kubernetes limits; requests are the reservation / CPU shares when set (kubelet maps
    requests.cpu to shares at 1024 per core), else the limits themselves (a Guaranteed pod)."""
    limits, requests = {}, {}
    if memory:
        limits["memory"] = quantity.memory_quantity(memory)
    if nano_cpus:
        limits["cpu"] = quantity.cpu_quantity(nano_cpus)
    if reservation:
        requests["memory"] = quantity.memory_quantity(reservation)
    elif memory:
        requests["memory"] = limits["memory"]
    if cpu_shares and cpu_shares != 1024:
        requests["cpu"] = quantity.cpu_quantity(round(cpu_shares * 1000 / 1024) * 10**6)
    elif nano_cpus:
        requests["cpu"] = limits["cpu"]
    out = {k: v for k, v in (("limits", limits), ("requests", requests)) if v}
    return out or None


def security_context(user: str, where: str, warnings: Warnings) -> dict | None:
    """`--user 1000[:1000]` as runAsUser/runAsGroup; a user name cannot be said in Kubernetes (warned)."""
    if not user:
        return None
    uid, _, gid = user.partition(":")
    ctx = {}
    for key, value in (("runAsUser", uid), ("runAsGroup", gid)):
        if value.isdigit():
            ctx[key] = int(value)
        elif value:
            warnings.add(f"{where}: user {value!r} is not numeric; Kubernetes runs the image's user instead "
                         f"(set runAsUser to its UID)")
    return ctx or None


def mount_volume(kind: str, source: str, target: str, read_only: bool, where: str, warnings: Warnings,
                 used: dict) -> tuple[dict, dict]:
    """One Docker mount as (pod volume, volumeMount): a named volume -> a PVC of that name, a bind mount ->
    hostPath (warned: the path must exist on every node), tmpfs / anonymous volume -> emptyDir."""
    if kind == "volume" and source:
        vol_name, volume = dns_label(source), {"persistentVolumeClaim": {"claimName": dns_label(source, 253)}}
    elif kind == "bind":
        warnings.add(f"{where}: bind mount {source} becomes a hostPath volume: the path must exist on the node "
                     f"that runs the pod (a PersistentVolumeClaim or ConfigMap is usually what a cluster wants)")
        vol_name, volume = dns_label(source.rstrip("/").rsplit("/", 1)[-1] or "root"), {"hostPath": {"path": source}}
    else:
        vol_name = dns_label(target.strip("/").replace("/", "-") or "root")
        volume = {"emptyDir": {"medium": "Memory"} if kind == "tmpfs" else {}}
    base, n = vol_name, 1
    while vol_name in used and used[vol_name] != volume:  # two different sources with one sanitized name
        n += 1
        vol_name = f"{base[:60]}-{n}"
    used[vol_name] = volume
    mount = {"name": vol_name, "mountPath": target}
    if read_only:
        mount["readOnly"] = True
    return {"name": vol_name, **volume}, mount


def add_mount(src: PodSource, container: dict, kind: str, source: str, target: str, read_only: bool, where: str,
              warnings: Warnings, used: dict) -> None:
    """A Docker mount into a container of the pod: its volume joins the pod's, its volumeMount the container's."""
    volume, mount = mount_volume(kind, source, target, read_only, where, warnings, used)
    src.add_volume(volume)
    container.setdefault("volumeMounts", []).append(mount)


def set_interactive(container: dict, tty: bool, stdin: bool) -> None:
    if tty:
        container["tty"] = True
    if stdin:
        container["stdin"] = True


def add_host_aliases(src: PodSource, entries, where: str, warnings: Warnings) -> None:
    """--add-host / extra_hosts ("name:ip", "name=ip") as the pod's hostAliases (/etc/hosts entries)."""
    for entry in entries or []:
        name, sep, ip = entry.partition("=") if "=" in entry else entry.partition(":")
        if not sep or ip == "host-gateway":
            warnings.add(f"{where}: extra host {entry!r} cannot be expressed (host-gateway has no meaning in a pod)")
            continue
        names = src.host_aliases.setdefault(ip.strip("[]"), [])
        if name not in names:
            names.append(name)


def workload_restart(kind: str, restart: str | None, where: str, warnings: Warnings) -> str | None:
    """The pod's restartPolicy: what the kind allows (Deployments and StatefulSets only Always, Jobs only
    OnFailure/Never), with a warning when the container's policy had to change."""
    allowed = {"Deployment": ("Always",), "StatefulSet": ("Always",), "Job": ("OnFailure", "Never")}.get(kind)
    if allowed is None:
        return restart
    if restart and restart not in allowed:
        warnings.add(f"{where}: restart policy {restart} is not allowed in a {kind}; using {allowed[0]}")
    return restart if restart in allowed else allowed[0]


def manifests(src: PodSource, kind_flag: str, replicas: int | None, service: bool, warnings: Warnings,
              namespace: str | None = None) -> list[dict]:
    """The documents for one pod source: PVCs first (so `kubectl apply` creates claims before their users),
    then the workload, then its Service."""
    api_version, kind = KINDS[kind_flag]
    meta = {"name": src.name, **({"namespace": namespace} if namespace else {})}
    labels = {"app": src.name, **src.labels}
    pod_spec = {}
    if src.init_containers:
        pod_spec["initContainers"] = src.init_containers
    pod_spec["containers"] = src.containers
    restart = workload_restart(kind, src.restart, src.name, warnings)
    if restart:
        pod_spec["restartPolicy"] = restart
    volumes = list(src.volumes.values())
    templates = []
    if kind == "StatefulSet":  # each replica gets its own claims, as a StatefulSet's volumeClaimTemplates say
        templates = [v for v in volumes if "persistentVolumeClaim" in v]
        volumes = [v for v in volumes if "persistentVolumeClaim" not in v]
    if volumes:
        pod_spec["volumes"] = volumes
    if src.hostname:
        pod_spec["hostname"] = src.hostname
    if src.host_aliases:
        pod_spec["hostAliases"] = [{"ip": ip, "hostnames": names} for ip, names in src.host_aliases.items()]
    docs = [] if kind == "StatefulSet" else [pvc(claim, namespace) for claim in src.claims]
    template_meta = {"labels": labels, **({"annotations": src.annotations} if src.annotations else {})}
    if kind == "Pod":
        if replicas and replicas != 1:
            warnings.add(f"{src.name}: --replicas applies to deployments and statefulsets, not pods")
        docs.append({"apiVersion": api_version, "kind": kind, "metadata": {**meta, **template_meta},
                     "spec": pod_spec})
    else:
        spec: dict = {}
        if kind in ("Deployment", "StatefulSet"):
            spec["replicas"] = replicas if replicas is not None else 1
            spec["selector"] = {"matchLabels": {"app": src.name}}
        if kind == "StatefulSet":
            spec["serviceName"] = src.name
        if kind == "Job":
            if replicas and replicas != 1:
                spec["completions"] = replicas
            if restart == "OnFailure" and src.retries:
                spec["backoffLimit"] = src.retries
        spec["template"] = {"metadata": template_meta, "spec": pod_spec}
        if templates:
            spec["volumeClaimTemplates"] = [{"metadata": {"name": v["name"]}, "spec": claim_spec()} for v in templates]
        docs.append({"apiVersion": api_version, "kind": kind, "metadata": {**meta, "labels": labels},
                     "spec": spec})
    if service:
        svc = service_for(src, namespace, warnings)
        if svc:
            docs.append(svc)
    return docs


def service_for(src: PodSource, namespace: str | None, warnings: Warnings) -> dict | None:
    """A Service selecting the pod: its ports are the containers' ports (what other pods dial by the Service's
    name, as compose services dial each other); NodePort when any port was published on the host, with the
    host port as nodePort when it is in Kubernetes' NodePort range."""
    ports, node = [], False
    for c in src.containers:
        for p in c.get("ports", []):
            entry = {"name": f"{p.get('protocol', 'TCP').lower()}-{p['containerPort']}", "port": p["containerPort"],
                     "targetPort": p["containerPort"], "protocol": p.get("protocol", "TCP")}
            if p.get("hostPort"):
                node = True
                if p["hostPort"] in NODE_PORTS:
                    entry["nodePort"] = p["hostPort"]
            if all(e["name"] != entry["name"] for e in ports):
                ports.append(entry)
    if not ports:
        warnings.add(f"{src.name}: no ports, so no Service (expose or publish a port to get one)")
        return None
    meta = {"name": src.name, **({"namespace": namespace} if namespace else {}), "labels": {"app": src.name}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"type": "NodePort" if node else "ClusterIP", "selector": {"app": src.name}, "ports": ports}}


def pvc(name: str, namespace: str | None) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": claim_spec()}


def claim_spec() -> dict:
    return {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": DEFAULT_STORAGE}}}


def dump(docs: list[dict]) -> str:
    """Multi-document YAML in the order given, keys in the order built (as kubectl prints them)."""
    import yaml

    class NoAliases(yaml.SafeDumper):  # a dict used twice is printed twice, not as &id001/*id001
        def ignore_aliases(self, data):
            return True
    return "".join("---\n" + yaml.dump(d, Dumper=NoAliases, sort_keys=False, default_flow_style=False) for d in docs)
