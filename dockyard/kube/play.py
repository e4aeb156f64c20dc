"""kube play: the planned pods sent to the Engine API through the client, and `--down` taking them away.

Everything is checked before the first object is made (the manifest, every image, names already in use);
if something fails half-way (a port in use, an init container failing) what this run made is removed again,
so a failed play leaves nothing behind."""
from __future__ import annotations

import io
import json
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import httpx

from .. import errors
from ..stdcopy import demux
from . import labels as L
from .manifests import WORKLOADS, Manifest, namespace_of
from .pods import PodPlan, network_name

DEFAULT_INFRA_IMAGE = "busybox:latest"


class PlayError(errors.DockyardError):
    pass


class Player:
    def __init__(self, client, infra_image: str = DEFAULT_INFRA_IMAGE, init_timeout: float = 300, echo=print):
        self.client = client
        self.infra_image = infra_image
        self.init_timeout = init_timeout
        self.echo = echo

    # ------------------------------------------------------------------ checks
    def preflight(self, manifest: Manifest, pods: list[PodPlan]) -> None:
        """Images present and names free: what would make the run fail half-way, found before it starts."""
        self.require_image(self.infra_image, "--infra-image")
        for pod in pods:
            for plan in pod.init + pod.containers:
                self.require_image(plan.body["Image"], f"{pod.workload}: {plan.where.split(': ', 1)[-1]}.image")
        running = self.played_containers({(namespace_of(d), f"{d['kind']}/{d['metadata']['name']}")
                                          for d in manifest.of_kind(*WORKLOADS)})
        if running:
            labels = running[0]["Labels"]
            raise PlayError(f"{labels[L.WORKLOAD]} is already running in namespace {labels[L.POD_NAMESPACE]} "
                            f"(pod {labels[L.POD_NAME]}): use --replace, or --down first")

    def require_image(self, ref: str, field: str) -> None:
        try:
            self.client.get(f"/images/{ref}/json")
        except errors.NotFound:
            raise PlayError(f"{field}: No such image: {ref} (kube play does not pull: pull or load it first)") \
                from None

    # ------------------------------------------------------------------ play
    def play(self, manifest: Manifest, pods: list[PodPlan]) -> None:
        """Networks and volumes first, then every pod at once, as a cluster starts them: a pod whose init
        container waits for another pod's Service does not hold up the others, whatever the file's order."""
        self.preflight(manifest, pods)
        made = Made()
        try:
            for ns in dict.fromkeys(p.namespace for p in pods):
                self.ensure_network(ns, made)
            for pod in pods:
                for name, labels in pod.volumes.items():
                    self.ensure_volume(name, {**labels, L.WORKLOAD: pod.workload}, made)
            self.start_pods(pods, made)
        except BaseException:
            made.aborted = True
            made.undo(self.client)
            raise

    def start_pods(self, pods: list[PodPlan], made: "Made") -> None:
        with ThreadPoolExecutor(max_workers=min(8, len(pods) or 1)) as pool:
            futures = [pool.submit(self.start_pod, pod, made) for pod in pods]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failure = next((f.exception() for f in done if f.exception()), None)
            if failure is not None:
                made.aborted = True  # the other pods stop creating; removing their containers ends their waits
                made.undo(self.client)
        if failure is not None:
            raise failure

    def ensure_network(self, namespace: str, made: "Made") -> None:
        name = network_name(namespace)
        try:
            self.client.get(f"/networks/{name}")
        except errors.NotFound:
            self.client.post("/networks/create", {"Name": name, "Driver": "bridge", "CheckDuplicate": True,
                                                  "Labels": {L.MANAGED: "true", L.POD_NAMESPACE: namespace}})
            made.networks.append(name)

    def ensure_volume(self, name: str, labels: dict, made: "Made") -> None:
        try:
            self.client.get(f"/volumes/{name}")
        except errors.NotFound:
            self.client.post("/volumes/create", {"Name": name, "Driver": "local", "Labels": labels})
            made.volumes.append(name)

    def start_pod(self, pod: PodPlan, made: "Made") -> None:
        self.run_pod(pod, made)
        self.echo(f"{pod.workload}: pod {pod.name} started ({', '.join(c.name for c in pod.init + pod.containers)})")

    def run_pod(self, pod: PodPlan, made: "Made") -> None:
        infra = self.create(pod.container_name(L.INFRA_NAME),
                            pod.infra_body(self.infra_image, network_name(pod.namespace)), made)
        self.client.post(f"/containers/{infra}/start")
        for plan in pod.init:  # in order, each to completion, before the app containers start
            cid = self.create_joined(pod, plan, infra, made)
            self.client.post(f"/containers/{cid}/start")
            code = self.wait(cid, f"{pod.workload}: init container {plan.name} of pod {pod.name}")
            if code != 0:
                raise PlayError(f"{pod.workload}: init container {plan.name} of pod {pod.name} exited with code "
                                f"{code}: {self.tail(cid)}")
        for plan in pod.containers:
            cid = self.create_joined(pod, plan, infra, made)
            self.client.post(f"/containers/{cid}/start")

    def create_joined(self, pod: PodPlan, plan, infra: str, made: "Made") -> str:
        body = {**plan.body, "HostConfig": {**plan.body["HostConfig"], "NetworkMode": f"container:{infra}"}}
        cid = self.create(pod.container_name(plan.name), body, made)
        if plan.files:
            self.client.request("PUT", f"/containers/{cid}/archive", params={"path": "/"}, content=plan.files,
                                headers={"Content-Type": "application/x-tar"})
        return cid

    def create(self, name: str, body: dict, made: "Made") -> str:
        if made.aborted:
            raise PlayError("kube play stopped: another pod failed")
        cid = self.client.post("/containers/create", body, name=name)["Id"]
        made.containers.append(cid)
        if made.aborted:  # undone while this create was on its way
            _quietly(self.client.delete, f"/containers/{cid}", force=1)
        return cid

    def wait(self, cid: str, what: str) -> int:
        try:
            resp = self.client.http.post(f"/containers/{cid}/wait", timeout=self.init_timeout)
        except httpx.TimeoutException:
            raise PlayError(f"{what} did not finish within {self.init_timeout:g}s") from None
        return self.client._check(resp).json().get("StatusCode", -1)

    def tail(self, cid: str) -> str:
        """The last lines an init container printed (why it failed), for the error message."""
        resp = self.client.request("GET", f"/containers/{cid}/logs", params={"stdout": 1, "stderr": 1, "tail": 5})
        text = b"".join(chunk for _, chunk in demux(io.BytesIO(resp.content).read)).decode(errors="replace")
        return text.strip().replace("\n", " | ") or "(no output)"

    # ------------------------------------------------------------------ down
    def played_containers(self, workloads: set[tuple[str, str]]) -> list[dict]:
        found = self.client.get("/containers/json", all=1, filters=json.dumps({"label": [L.WORKLOAD]}))
        return [c for c in found if (c["Labels"].get(L.POD_NAMESPACE), c["Labels"].get(L.WORKLOAD)) in workloads]

    def down(self, manifest: Manifest, keep_claims: bool = False) -> None:
        """Remove what play made for the file's workloads (found by their labels): containers, their
        emptyDir volumes, the claims' volumes play created (kept with keep_claims, as --replace does) and
        the namespace network once no container uses it."""
        workloads = {(namespace_of(d), f"{d['kind']}/{d['metadata']['name']}") for d in manifest.of_kind(*WORKLOADS)}
        containers = self.played_containers(workloads)
        containers.sort(key=lambda c: c["Labels"].get(L.DOCKER_TYPE) == "podsandbox")  # the infra last
        pods = {}
        for c in containers:
            self.client.delete(f"/containers/{c['Id']}", force=1)
            pods.setdefault((c["Labels"][L.WORKLOAD], c["Labels"][L.POD_NAME]), None)
        for workload, pod in pods:
            self.echo(f"{workload}: pod {pod} removed")
        volumes = self.client.get("/volumes", filters=json.dumps({"label": [L.MANAGED]})).get("Volumes") or []
        for v in volumes:
            labels = v.get("Labels") or {}
            if (labels.get(L.POD_NAMESPACE), labels.get(L.WORKLOAD)) in workloads and \
                    not (keep_claims and labels.get(L.MANAGED) == "claim"):
                self.client.delete(f"/volumes/{v['Name']}")
        for ns in {ns for ns, _ in workloads}:
            self.remove_network_if_unused(network_name(ns))

    def remove_network_if_unused(self, name: str) -> None:
        try:
            net = self.client.get(f"/networks/{name}")
        except errors.NotFound:
            return
        if (net.get("Labels") or {}).get(L.MANAGED) == "true" and not net.get("Containers"):
            used = self.client.get("/containers/json", all=1, filters=json.dumps({"network": [name]}))
            if not used:
                self.client.delete(f"/networks/{name}")


class Made:
    """What one play run created, in order, so a failure can take it all back."""

    def __init__(self):
        self.containers, self.volumes, self.networks = [], [], []
        self.aborted = False

    def undo(self, client) -> None:
        """Remove everything made so far (each once: undo may run again for what came after)."""
        for items, path, params in ((self.containers, "/containers/{}", {"force": 1}), (self.volumes, "/volumes/{}", {}),
                                    (self.networks, "/networks/{}", {})):
            while items:
                _quietly(client.delete, path.format(items.pop()), **params)


def _quietly(call, *args, **kw) -> None:
    try:
        call(*args, **kw)
    except errors.DockyardError:
        pass
