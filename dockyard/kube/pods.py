"""A checked Manifest -> the pods to run, as Engine API create bodies (pure; `play` sends them).

Each pod is an infra container holding the network namespace (on the namespace's network, with the pod's
Service names as aliases and the Services' ports published) and its containers joined to it with
`NetworkMode: container:<infra>`, named and labelled as kubelet's dockershim did:
`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`."""
from __future__ import annotations

import io
import json
import posixpath
import tarfile
import uuid
from dataclasses import dataclass, field

from ..errors import InvalidParameter
from . import labels as L
from . import quantity
from .manifests import WORKLOADS, Manifest, namespace_of, object_data, pod_template

RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
INFRA_COMMAND = ["sleep", "2147483647"]  # the infra only holds the namespaces: any image with `sleep` will do


@dataclass
class ContainerPlan:
    name: str
    body: dict  # POST /containers/create, NetworkMode set by play once the infra exists
    files: bytes | None = None  # a tar of ConfigMap/Secret files, put into the container before it starts
    where: str = ""  # the manifest field it comes from, for errors


@dataclass
class PodPlan:
    name: str
    namespace: str
    uid: str
    workload: str  # "Deployment/web"
    replica: int
    labels: dict
    hostname: str
    annotations: dict = field(default_factory=dict)
    extra_hosts: list = field(default_factory=list)  # hostAliases as Docker's "name:ip"
    publish: dict = field(default_factory=dict)  # "80/tcp" -> [{"HostIp", "HostPort"}]
    aliases: list = field(default_factory=list)
    init: list = field(default_factory=list)
    containers: list = field(default_factory=list)
    volumes: dict = field(default_factory=dict)  # docker volume name -> labels, for volumes play must create

    def container_name(self, name: str, attempt: int = 0) -> str:
        return f"k8s_{name}_{self.name}_{self.namespace}_{self.uid}_{attempt}"

    def base_labels(self, container: str) -> dict:
        return {L.POD_NAME: self.name, L.POD_NAMESPACE: self.namespace, L.POD_UID: self.uid,
                L.CONTAINER_NAME: container, L.WORKLOAD: self.workload, L.REPLICA: str(self.replica),
                L.POD_LABELS: json.dumps(self.labels), **({L.POD_ANNOTATIONS: json.dumps(self.annotations)}
                                                          if self.annotations else {})}

    def infra_body(self, image: str, network: str) -> dict:
        return {"Image": image, "Entrypoint": INFRA_COMMAND[:1], "Cmd": INFRA_COMMAND[1:],
                "Hostname": self.hostname,
                "Labels": {**self.base_labels(L.INFRA_NAME), L.DOCKER_TYPE: "podsandbox"},
                "ExposedPorts": {p: {} for p in self.publish},
                "HostConfig": {"NetworkMode": network, "PortBindings": self.publish, "ExtraHosts": self.extra_hosts},
                "NetworkingConfig": {"EndpointsConfig": {network: {"Aliases": self.aliases}}}}


def network_name(namespace: str) -> str:
    """The user-defined network of a namespace's pods (its embedded DNS answers Service names)."""
    return f"kube-{namespace}"


def plan(manifest: Manifest, publish_address: str = "127.0.0.1", new_uid=lambda: uuid.uuid4().hex) -> list[PodPlan]:
    pods = []
    for doc in manifest.of_kind(*WORKLOADS):
        kind, name = doc["kind"], doc["metadata"]["name"]
        spec = doc.get("spec") or {}
        count = 1 if kind == "Pod" else spec.get("completions", 1) if kind == "Job" else spec.get("replicas", 1)
        for i in range(count):
            pod_name = name if kind == "Pod" else f"{name}-{i}"
            pods.append(pod_plan(manifest, doc, pod_name, i, new_uid(), publish_address))
    return pods


def pod_plan(manifest: Manifest, doc: dict, pod_name: str, replica: int, uid: str, publish_address: str) -> PodPlan:
    kind, ns = doc["kind"], namespace_of(doc)
    meta, spec = pod_template(doc)
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    pod = PodPlan(name=pod_name, namespace=ns, uid=uid, workload=f"{kind}/{doc['metadata']['name']}",
                  replica=replica, labels=dict(meta.get("labels") or {}),
                  hostname=spec.get("hostname") or pod_name, annotations=dict(meta.get("annotations") or {}),
                  extra_hosts=[f"{host}:{alias['ip']}" for alias in spec.get("hostAliases") or []
                               for host in alias.get("hostnames") or []])
    restart = spec.get("restartPolicy") or ("OnFailure" if kind == "Job" else "Always")
    policy = {"Name": RESTART[restart]}
    if kind == "Job" and restart == "OnFailure":  # retries: the backoffLimit (Kubernetes' default 6), 0 = none
        limit = (doc.get("spec") or {}).get("backoffLimit", 6)
        policy = {"Name": "on-failure", "MaximumRetryCount": limit} if limit else {"Name": "no"}
    mounts = volume_mounts(manifest, doc, pod, replica)
    services_for(manifest, pod, spec, publish_address)
    ports_requested = host_ports(spec, publish_address)
    if replica == 0:
        for key, bindings in ports_requested.items():
            add_binding(pod.publish, key, bindings)
    elif ports_requested or pod.publish:
        manifest.warn(f"{where}: only the first replica publishes host ports (one host port, one listener)")
    if replica > 0:
        pod.publish = {}
    pod_sec = spec.get("securityContext") or {}
    for group, target, init in (("initContainers", pod.init, True), ("containers", pod.containers, False)):
        for i, c in enumerate(spec.get(group) or []):
            cwhere = f"{where}: spec.{group}[{i}]"
            body = container_body(manifest, doc, pod, c, pod_sec, mounts, cwhere)
            body["HostConfig"]["RestartPolicy"] = {"Name": "no"} if init else dict(policy)
            body["Labels"].update({L.DOCKER_TYPE: "container", **({L.INIT: "true"} if init else {})})
            target.append(ContainerPlan(c["name"], body, config_files(manifest, doc, c, cwhere), cwhere))
    return pod


def services_for(manifest: Manifest, pod: PodPlan, spec: dict, publish_address: str) -> None:
    """Services whose selector matches the pod: their names become the pod's DNS aliases on the namespace
    network, and their ports are published on the host: a NodePort Service's on its nodePort (a free port
    when unset), others' on the Service port."""
    for svc in manifest.of_kind("Service"):
        selector = (svc.get("spec") or {}).get("selector") or {}
        if namespace_of(svc) != pod.namespace or not selector or \
                any(pod.labels.get(k) != v for k, v in selector.items()):
            continue
        pod.aliases.append(svc["metadata"]["name"])
        if (svc["spec"].get("clusterIP") == "None"):
            continue  # headless: a name, no proxy
        for p in svc["spec"].get("ports") or []:
            target = resolve_target(p.get("targetPort", p["port"]), spec, f"Service/{svc['metadata']['name']}")
            key = f"{target}/{p.get('protocol', 'TCP').lower()}"
            if svc["spec"].get("type") == "NodePort":  # an unset nodePort is picked by the host, as the cluster would
                host_port = str(p.get("nodePort") or "")
            else:
                host_port = str(p["port"])
            add_binding(pod.publish, key, [{"HostIp": publish_address, "HostPort": host_port}])


def add_binding(publish: dict, key: str, bindings: list) -> None:
    have = publish.setdefault(key, [])
    for b in bindings:
        if all(h["HostPort"] != b["HostPort"] or h["HostIp"] != b["HostIp"] for h in have):
            have.append(b)


def resolve_target(target, spec: dict, where: str) -> int:
    """A Service targetPort: a number, or the name of a container port of the pod."""
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return p["containerPort"]
    raise InvalidParameter(f"{where}: spec.ports.targetPort: no container port named {target!r} in the pod")


def host_ports(spec: dict, publish_address: str) -> dict:
    out: dict = {}
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                key = f"{p['containerPort']}/{p.get('protocol', 'TCP').lower()}"
                add_binding(out, key, [{"HostIp": p.get("hostIP") or publish_address, "HostPort": str(p["hostPort"])}])
    return out


def volume_mounts(manifest: Manifest, doc: dict, pod: PodPlan, replica: int) -> dict:
    """Pod volume name -> a Mounts entry template (Target filled per container), or ("files", ...) for
    ConfigMap/Secret volumes, which are copied into the containers. Records the volumes play must create."""
    _, spec = pod_template(doc)
    out = {}
    for v in spec.get("volumes") or []:
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            if manifest.find("PersistentVolumeClaim", claim, pod.namespace) is None:
                manifest.warn(f"{doc['kind']}/{doc['metadata']['name']}: claim {claim!r} is not in the file; "
                              f"the volume {claim!r} is used (created if missing)")
            pod.volumes[claim] = {L.MANAGED: "claim", L.CLAIM: claim, L.POD_NAMESPACE: pod.namespace}
            out[v["name"]] = {"Type": "volume", "Source": claim}
        elif "emptyDir" in v:
            if (v["emptyDir"] or {}).get("medium") == "Memory":
                out[v["name"]] = {"Type": "tmpfs"}
            else:
                name = f"k8s_{v['name']}_{pod.name}_{pod.namespace}_{pod.uid}"
                pod.volumes[name] = {L.MANAGED: "emptydir", L.POD_UID: pod.uid, L.POD_NAMESPACE: pod.namespace}
                out[v["name"]] = {"Type": "volume", "Source": name}
        elif "hostPath" in v:
            out[v["name"]] = {"Type": "bind", "Source": v["hostPath"]["path"]}
        else:
            out[v["name"]] = ("files", v)
    for t in (doc.get("spec") or {}).get("volumeClaimTemplates") or [] if doc["kind"] == "StatefulSet" else []:
        name = f"{t['metadata']['name']}-{doc['metadata']['name']}-{replica}"  # as the StatefulSet controller names it
        pod.volumes[name] = {L.MANAGED: "claim", L.CLAIM: name, L.CLAIM_TEMPLATE: t["metadata"]["name"],
                             L.POD_NAMESPACE: pod.namespace}
        out[t["metadata"]["name"]] = {"Type": "volume", "Source": name}
    return out


def container_body(manifest: Manifest, doc: dict, pod: PodPlan, c: dict, pod_sec: dict, mounts: dict,
                   where: str) -> dict:
    body: dict = {"Image": c["image"], "Labels": pod.base_labels(c["name"]), "Env": env_list(manifest, doc, pod, c)}
    if c.get("command"):
        body["Entrypoint"] = list(c["command"])
        body["Cmd"] = list(c.get("args") or [])
    elif c.get("args"):
        body["Cmd"] = list(c["args"])
    if c.get("workingDir"):
        body["WorkingDir"] = c["workingDir"]
    sec = {**{k: v for k, v in pod_sec.items() if k in ("runAsUser", "runAsGroup")}, **(c.get("securityContext") or {})}
    if "runAsUser" in sec:
        body["User"] = str(sec["runAsUser"]) + (f":{sec['runAsGroup']}" if "runAsGroup" in sec else "")
    elif "runAsGroup" in sec:
        manifest.warn(f"{where}.securityContext.runAsGroup: needs runAsUser to be applied by kube play")
    if c.get("tty"):
        body["Tty"] = True
    if c.get("stdin"):
        body["OpenStdin"] = True
    if c.get("ports"):
        body["Labels"][L.PORTS] = json.dumps(c["ports"])
    probe = c.get("livenessProbe") or c.get("readinessProbe")
    if c.get("livenessProbe") and c.get("readinessProbe") and c["livenessProbe"] != c["readinessProbe"]:
        manifest.warn(f"{where}.readinessProbe: one healthcheck per container: the livenessProbe runs")
    if probe and "exec" in probe:
        body["Healthcheck"] = healthcheck(probe)
    host: dict = {}
    res = c.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    if "memory" in limits:
        host["Memory"] = quantity.memory_bytes(limits["memory"], f"{where}.resources.limits.memory")
    if "cpu" in limits:
        host["NanoCpus"] = quantity.nano_cpus(limits["cpu"], f"{where}.resources.limits.cpu")
    if "memory" in requests:
        host["MemoryReservation"] = quantity.memory_bytes(requests["memory"], f"{where}.resources.requests.memory")
    if "cpu" in requests:  # as kubelet: 1024 shares per core
        host["CpuShares"] = max(2, round(quantity.parse_quantity(requests["cpu"], f"{where}.resources.requests.cpu")
                                         * 1024))
    caps = sec.get("capabilities") or {}
    if caps.get("add"):
        host["CapAdd"] = [str(x) for x in caps["add"]]
    if caps.get("drop"):
        host["CapDrop"] = [str(x) for x in caps["drop"]]
    if sec.get("readOnlyRootFilesystem"):
        host["ReadonlyRootfs"] = True
    if sec.get("allowPrivilegeEscalation") is False:
        host["SecurityOpt"] = ["no-new-privileges"]
    host_mounts = []
    for j, m in enumerate(c.get("volumeMounts") or []):
        template = mounts[m["name"]]
        if isinstance(template, tuple):
            continue  # ConfigMap/Secret files: copied, see config_files
        if m.get("subPath"):
            raise InvalidParameter(f"{where}.volumeMounts[{j}].subPath: only ConfigMap and Secret volumes take a "
                                   f"subPath in kube play")
        host_mounts.append({**template, "Target": m["mountPath"], **({"ReadOnly": True} if m.get("readOnly") else {})})
    if host_mounts:
        host["Mounts"] = host_mounts
    body["HostConfig"] = host
    return body


def healthcheck(probe: dict) -> dict:
    """An exec probe as a Docker healthcheck, with Kubernetes' defaults (10s period, 1s timeout, 3 failures)."""
    command = list(probe["exec"].get("command") or [])
    test = ["CMD-SHELL", command[2]] if len(command) == 3 and command[:2] in (["/bin/sh", "-c"], ["sh", "-c"]) \
        else ["CMD", *command]
    hc = {"Test": test, "Interval": probe.get("periodSeconds", 10) * quantity.NANO,
          "Timeout": probe.get("timeoutSeconds", 1) * quantity.NANO, "Retries": probe.get("failureThreshold", 3)}
    if probe.get("initialDelaySeconds"):
        hc["StartPeriod"] = probe["initialDelaySeconds"] * quantity.NANO
    return hc


def env_list(manifest: Manifest, doc: dict, pod: PodPlan, c: dict) -> list[str]:
    """envFrom first, then env (later entries win, as in Kubernetes); ConfigMap/Secret values resolved from
    the file, fieldRefs from the pod."""
    ns, out = pod.namespace, {}
    for e in c.get("envFrom") or []:
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if key in e:
                data = object_data(manifest.find(kind, e[key]["name"], ns))
                out.update({e.get("prefix", "") + k: v.decode() for k, v in data.items()})
    fields = {"metadata.name": pod.name, "metadata.namespace": ns, "metadata.uid": pod.uid}
    for e in c.get("env") or []:
        src = e.get("valueFrom")
        if src is None:
            out[e["name"]] = str(e.get("value", ""))
        elif "fieldRef" in src:
            out[e["name"]] = fields[src["fieldRef"]["fieldPath"]]
        else:
            key, kind = ("configMapKeyRef", "ConfigMap") if "configMapKeyRef" in src else ("secretKeyRef", "Secret")
            data = object_data(manifest.find(kind, src[key]["name"], ns))
            if src[key]["key"] in data:
                out[e["name"]] = data[src[key]["key"]].decode()
    return [f"{k}={v}" for k, v in out.items()]


def config_files(manifest: Manifest, doc: dict, c: dict, where: str) -> bytes | None:
    """The files of the ConfigMap/Secret volumes container c mounts, as one tar rooted at / (play puts it
    into the created container: a copy, not a live view)."""
    _, spec = pod_template(doc)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files: dict[str, tuple[bytes, int]] = {}
    roots = set()
    for m in c.get("volumeMounts") or []:
        v = volumes.get(m["name"]) or {}  # (a StatefulSet's claim templates are not in spec.volumes)
        if "configMap" in v:
            source, data = v["configMap"], object_data(manifest.find("ConfigMap", v["configMap"]["name"],
                                                                     namespace_of(doc)))
        elif "secret" in v:
            source, data = v["secret"], object_data(manifest.find("Secret", v["secret"]["secretName"],
                                                                  namespace_of(doc)))
        else:
            continue
        mode = source.get("defaultMode", 0o644)
        if not m.get("subPath"):
            roots.add(m["mountPath"].rstrip("/"))
        items = source.get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            if item["key"] not in data:
                raise InvalidParameter(f"{where}: volume {m['name']!r}: no key {item['key']!r}")
            rel = posixpath.normpath(item["path"])
            if rel.startswith("..") or rel.startswith("/"):
                raise InvalidParameter(f"{where}: volume {m['name']!r}: item path {item['path']!r} leaves the volume")
            if m.get("subPath"):
                if rel == m["subPath"]:
                    files[m["mountPath"]] = (data[item["key"]], item.get("mode", mode))
            else:
                files[posixpath.join(m["mountPath"], rel)] = (data[item["key"]], item.get("mode", mode))
    return tar_of(files, roots) if files else None


def tar_of(files: dict[str, tuple[bytes, int]], roots: set) -> bytes:
    """A tar rooted at / of the files, with entries for the directories from each mount path down (the
    image's own directories above them keep their modes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = set()
        for path in sorted(files):
            parts = path.strip("/").split("/")[:-1]
            for k in range(1, len(parts) + 1):
                d = "/".join(parts[:k])
                if d not in dirs and any(("/" + d + "/").startswith(r + "/") for r in roots):
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
        for path, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
