"""Reading a manifest file for kube play: YAML documents, each checked against the Kubernetes schema (types,
unknown fields) and against what play can do. Every problem names the document and the field; nothing is run
until the whole file passed."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field

import yaml

from ..errors import InvalidParameter
from . import validate

WORKLOADS = ("Pod", "Deployment", "StatefulSet", "Job")
KINDS = WORKLOADS + ("Service", "ConfigMap", "Secret", "PersistentVolumeClaim")

# Fields play honours, per object; anything else present is named in an error or a warning.
POD_FIELDS = {"containers", "initContainers", "volumes", "restartPolicy", "hostname", "securityContext", "hostAliases"}
POD_IGNORED = {"terminationGracePeriodSeconds", "dnsPolicy", "serviceAccountName", "serviceAccount", "nodeSelector",
               "affinity", "tolerations", "schedulerName", "priorityClassName", "priority", "imagePullSecrets",
               "enableServiceLinks", "topologySpreadConstraints", "automountServiceAccountToken", "nodeName"}
POD_PRIVILEGED = ("hostNetwork", "hostPID", "hostIPC")
CONTAINER_FIELDS = {"name", "image", "command", "args", "env", "envFrom", "workingDir", "ports", "resources",
                    "livenessProbe", "readinessProbe", "volumeMounts", "securityContext", "tty", "stdin"}
CONTAINER_IGNORED = {"imagePullPolicy", "terminationMessagePath", "terminationMessagePolicy", "startupProbe",
                     "stdinOnce"}
SECURITY_FIELDS = {"runAsUser", "runAsGroup", "readOnlyRootFilesystem", "capabilities", "privileged",
                   "allowPrivilegeEscalation"}
SECURITY_IGNORED = {"runAsNonRoot", "seccompProfile"}
VOLUME_SOURCES = {"persistentVolumeClaim", "emptyDir", "hostPath", "configMap", "secret"}
PROBE_FIELDS = {"exec", "periodSeconds", "timeoutSeconds", "failureThreshold", "initialDelaySeconds",
                "httpGet", "tcpSocket", "grpc"}  # the last three: warned about below (not run)
WORKLOAD_SPEC = {"Deployment": {"replicas", "selector", "template", "strategy", "revisionHistoryLimit",
                                "minReadySeconds", "progressDeadlineSeconds"},
                 "StatefulSet": {"replicas", "selector", "template", "serviceName", "volumeClaimTemplates",
                                 "podManagementPolicy", "updateStrategy", "revisionHistoryLimit"},
                 "Job": {"template", "completions", "parallelism", "backoffLimit", "ttlSecondsAfterFinished",
                         "activeDeadlineSeconds"}}
WORKLOAD_IGNORED = {"strategy", "revisionHistoryLimit", "minReadySeconds", "progressDeadlineSeconds",
                    "podManagementPolicy", "updateStrategy", "parallelism", "ttlSecondsAfterFinished",
                    "activeDeadlineSeconds"}
SERVICE_FIELDS = {"type", "selector", "ports", "clusterIP"}
SERVICE_IGNORED = {"clusterIPs", "sessionAffinity", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy",
                   "externalTrafficPolicy"}
SERVICE_PORT_FIELDS = {"name", "port", "targetPort", "protocol", "nodePort"}
TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec", "data", "stringData", "binaryData", "type", "immutable"}
METADATA_FIELDS = {"name", "namespace", "labels", "annotations"}
METADATA_IGNORED = {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                    "ownerReferences", "finalizers"}
RESOURCE_NAMES = {"cpu", "memory"}


@dataclass
class Manifest:
    path: str
    docs: list = field(default_factory=list)  # (index, doc) of every document, in file order
    warnings: list = field(default_factory=list)

    def of_kind(self, *kinds) -> list[dict]:
        return [d for _, d in self.docs if d["kind"] in kinds]

    def find(self, kind: str, name: str, namespace: str) -> dict | None:
        for d in self.of_kind(kind):
            if d["metadata"]["name"] == name and namespace_of(d) == namespace:
                return d
        return None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def namespace_of(doc: dict) -> str:
    return (doc.get("metadata") or {}).get("namespace") or "default"


def read(path: str, check: bool = True) -> Manifest:
    """The file's documents; with check, each one validated (schema, then what play supports)."""
    try:
        with open(path) as f:
            loaded = list(yaml.safe_load_all(f))
    except OSError as err:
        raise InvalidParameter(f"open {path}: {err.strerror.lower()}") from None
    except yaml.YAMLError as err:
        raise InvalidParameter(f"{path}: not valid YAML: {err}") from None
    manifest = Manifest(path)
    for index, doc in enumerate(loaded):
        if doc is None:
            continue
        where = f"{path}: document {index + 1}"
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or \
                not isinstance((doc.get("metadata") or {}).get("name"), str):
            raise InvalidParameter(f"{where}: a Kubernetes object needs kind and metadata.name")
        if check:
            if doc["kind"] not in KINDS:
                raise InvalidParameter(f"{where}: kind {doc['kind']!r} is not supported by kube play "
                                       f"(supported: {', '.join(KINDS)})")
            validate.check(doc, where=f"{where} ")
            check_supported(doc, f"{where} {doc['kind']}/{doc['metadata']['name']}", manifest)
        manifest.docs.append((index, doc))
    if check:
        check_references(manifest)
    return manifest


def pod_template(doc: dict) -> tuple[dict, dict]:
    """(metadata, spec) of the pod a workload runs."""
    if doc["kind"] == "Pod":
        return doc["metadata"], doc["spec"]
    template = doc["spec"]["template"]
    return template.get("metadata") or {}, template["spec"]


def check_supported(doc: dict, where: str, manifest: Manifest) -> None:
    kind, spec = doc["kind"], doc.get("spec") or {}
    for key in doc:
        if key == "status":
            manifest.warn(f"{where}: status: ignored by kube play (the cluster writes it)")
        elif key not in TOP_FIELDS:
            raise InvalidParameter(f"{where}: {key}: not supported by kube play")
    extra(doc["metadata"], METADATA_FIELDS, METADATA_IGNORED, f"{where}: metadata", manifest)
    if kind in ("ConfigMap", "Secret", "PersistentVolumeClaim"):
        return
    if kind == "Service":
        extra(spec, SERVICE_FIELDS, SERVICE_IGNORED, f"{where}: spec", manifest)
        for i, port in enumerate(spec.get("ports") or []):
            extra(port, SERVICE_PORT_FIELDS, {"appProtocol"}, f"{where}: spec.ports[{i}]", manifest)
        if spec.get("type") == "ExternalName":
            raise InvalidParameter(f"{where}: spec.type: ExternalName services are not supported by kube play")
        if spec.get("clusterIP") not in (None, "", "None"):
            manifest.warn(f"{where}: spec.clusterIP: ignored by kube play (pods are reached by the Service's name)")
        return
    prefix = "spec"
    if kind != "Pod":
        extra(spec, WORKLOAD_SPEC[kind], WORKLOAD_IGNORED, f"{where}: spec", manifest)
        if "template" not in spec:
            raise InvalidParameter(f"{where}: spec.template: required")
        prefix = "spec.template.spec"
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec["template"].get("metadata") or {}).get("labels")) or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            raise InvalidParameter(f"{where}: spec.selector.matchLabels: does not match spec.template.metadata.labels")
        if (spec.get("selector") or {}).get("matchExpressions"):
            raise InvalidParameter(f"{where}: spec.selector.matchExpressions is not supported by kube play")
    _, pod = pod_template(doc)
    for key in POD_PRIVILEGED:
        if pod.get(key):
            raise InvalidParameter(f"{where}: {prefix}.{key}: privileged requests are refused by kube play")
    extra(pod, POD_FIELDS | set(POD_PRIVILEGED), POD_IGNORED, f"{where}: {prefix}", manifest)
    if kind == "Job" and pod.get("restartPolicy", "Always") == "Always":
        raise InvalidParameter(f"{where}: {prefix}.restartPolicy: a Job's pods must be OnFailure or Never")
    extra(pod.get("securityContext") or {}, {"runAsUser", "runAsGroup"},
          SECURITY_IGNORED | {"fsGroup", "supplementalGroups"},
          f"{where}: {prefix}.securityContext", manifest)
    for group in ("initContainers", "containers"):
        for i, c in enumerate(pod.get(group) or []):
            cwhere = f"{where}: {prefix}.{group}[{i}]"
            extra(c, CONTAINER_FIELDS, CONTAINER_IGNORED, cwhere, manifest)
            if not c.get("image"):
                raise InvalidParameter(f"{cwhere}.image: required (kube play runs images already on this host)")
            sec = c.get("securityContext") or {}
            extra(sec, SECURITY_FIELDS, SECURITY_IGNORED, f"{cwhere}.securityContext", manifest)
            if sec.get("privileged"):
                raise InvalidParameter(f"{cwhere}.securityContext.privileged: privileged requests are refused by "
                                       f"kube play")
            for section in ("limits", "requests"):
                extra((c.get("resources") or {}).get(section) or {}, RESOURCE_NAMES, set(),
                      f"{cwhere}.resources.{section}", manifest)
            extra(c.get("resources") or {}, {"limits", "requests"}, set(), f"{cwhere}.resources", manifest)
            for probe in ("livenessProbe", "readinessProbe"):
                if probe in c:
                    extra(c[probe], PROBE_FIELDS, {"successThreshold", "terminationGracePeriodSeconds"},
                          f"{cwhere}.{probe}", manifest)
                    if "exec" not in c[probe]:
                        manifest.warn(f"{cwhere}.{probe}: only exec probes run (as the healthcheck); this one "
                                      f"is not run")
            for j, m in enumerate(c.get("volumeMounts") or []):
                extra(m, {"name", "mountPath", "readOnly", "subPath"}, set(), f"{cwhere}.volumeMounts[{j}]", manifest)
    names = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []} if kind == "StatefulSet" else set()
    for i, v in enumerate(pod.get("volumes") or []):
        sources = set(v) - {"name"}
        if not sources <= VOLUME_SOURCES:
            bad = sorted(sources - VOLUME_SOURCES)[0]
            raise InvalidParameter(f"{where}: {prefix}.volumes[{i}].{bad}: volume type not supported by kube play "
                                   f"(supported: {', '.join(sorted(VOLUME_SOURCES))})")
        names.add(v["name"])
    for group in ("initContainers", "containers"):
        for i, c in enumerate(pod.get(group) or []):
            for j, m in enumerate(c.get("volumeMounts") or []):
                if m["name"] not in names:
                    raise InvalidParameter(f"{where}: {prefix}.{group}[{i}].volumeMounts[{j}].name: no volume "
                                           f"named {m['name']!r} in {prefix}.volumes")


def extra(obj: dict, supported: set, ignored: set, where: str, manifest: Manifest) -> None:
    """Fields of obj play does not honour: an ignored one (scheduling, pull policy) is warned about by name,
    any other is an error naming it."""
    for key in obj:
        if key in ignored:
            manifest.warn(f"{where}.{key}: ignored by kube play (it has no meaning on one host)")
        elif key not in supported:
            raise InvalidParameter(f"{where}.{key}: not supported by kube play")


def check_references(manifest: Manifest) -> None:
    """ConfigMaps and Secrets named by env, envFrom and volumes must be in the file (play has no cluster to
    look them up in), unless marked optional."""
    for doc in manifest.of_kind(*WORKLOADS):
        ns, (_, pod) = namespace_of(doc), pod_template(doc)
        where = f"{manifest.path}: {doc['kind']}/{doc['metadata']['name']}"
        refs = []
        for group in ("initContainers", "containers"):
            for c in pod.get(group) or []:
                for e in c.get("env") or []:
                    src = e.get("valueFrom") or {}
                    if "fieldRef" in src and src["fieldRef"].get("fieldPath") not in FIELD_REFS:
                        raise InvalidParameter(f"{where}: env {e['name']}: fieldRef {src['fieldRef'].get('fieldPath')} "
                                               f"is not supported by kube play (supported: {', '.join(FIELD_REFS)})")
                    if "resourceFieldRef" in src:
                        raise InvalidParameter(f"{where}: env {e['name']}: resourceFieldRef is not supported by "
                                               f"kube play")
                    for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                        if key in src:
                            refs.append((kind, src[key].get("name"), src[key].get("optional"), src[key].get("key")))
                for e in c.get("envFrom") or []:
                    for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                        if key in e:
                            refs.append((kind, e[key].get("name"), e[key].get("optional"), None))
        for v in pod.get("volumes") or []:
            if "configMap" in v:
                refs.append(("ConfigMap", v["configMap"].get("name"), v["configMap"].get("optional"), None))
            if "secret" in v:
                refs.append(("Secret", v["secret"].get("secretName"), v["secret"].get("optional"), None))
        for kind, name, optional, key in refs:
            found = manifest.find(kind, name, ns)
            if found is None and not optional:
                raise InvalidParameter(f"{where}: {kind} {name!r} is not in {manifest.path} (kube play only sees "
                                       f"the objects of the file)")
            if found is not None and key is not None and key not in object_data(found) and not optional:
                raise InvalidParameter(f"{where}: {kind} {name!r} has no key {key!r}")


FIELD_REFS = ("metadata.name", "metadata.namespace", "metadata.uid")


def object_data(doc: dict | None) -> dict[str, bytes]:
    """A ConfigMap's or Secret's entries as bytes (Secret data is base64; stringData is plain)."""
    if doc is None:
        return {}
    out = {k: str(v).encode() for k, v in (doc.get("data") or {}).items()} if doc["kind"] == "ConfigMap" else {}
    if doc["kind"] == "ConfigMap":
        out.update({k: base64.b64decode(v) for k, v in (doc.get("binaryData") or {}).items()})
    else:
        out.update({k: base64.b64decode(v) for k, v in (doc.get("data") or {}).items()})
        out.update({k: str(v).encode() for k, v in (doc.get("stringData") or {}).items()})
    return out
