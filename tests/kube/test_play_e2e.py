"""`dockyard kube generate` and `dockyard kube play` end to end, with a real daemon, the real docker CLI and
busybox: containers and a compose project become manifests that validate for two Kubernetes versions, play
back as pods (a web server reached on its Service's host port, a worker reaching it by the Service's name,
data surviving --replace), generate of what play ran gives the same manifests, and --down leaves nothing."""
from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from dockyard.kube import validate
from dockyard.kube.objects import NODE_PORTS, dump

from .conftest import CONFIG_AND_SECRET, NOTHING, docs_of, free_port, inspect, kube, leftovers, pod_container, wait_for

WEB_CMD = ('test -f /srv/index.html || echo "hello from $MODE" > /srv/index.html; '
           'exec httpd -f -p 8080 -h /srv')
WORKER_CMD = 'while :; do wget -q -O - http://web:8080/; sleep 1; done'


def http_get(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


@pytest.fixture(autouse=True)
def clean_after(daemon):
    """Whatever a test leaves (it failed half way) is removed, so the next test's leftovers check is its own."""
    yield
    containers = daemon.docker("ps", "-aq").stdout.split()
    if containers:
        daemon.docker("rm", "-f", "-v", *containers)
    for network in leftovers(daemon)["networks"]:
        daemon.docker("network", "rm", network)
    for volume in daemon.docker("volume", "ls", "-q").stdout.split():
        daemon.docker("volume", "rm", volume)


def assert_valid_for_two_versions(docs):
    assert docs
    for doc in docs:
        for version in validate.VERSIONS:
            assert validate.problems(doc, version) == [], (version, doc)


def test_containers_to_manifests_to_pods_and_back(daemon, tmp_path):
    port = free_port(NODE_PORTS)  # a host port Kubernetes can take as the Service's nodePort
    daemon.docker("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:8080", "-e", "MODE=prod",
                  "-v", "kweb:/srv", "-l", "tier=front", "-m", "64m", "--add-host", "db.internal:10.0.0.5",
                  "--health-cmd",
                  "wget -q -O /dev/null http://127.0.0.1:8080/index.html", "--health-interval", "1s",
                  "busybox", "sh", "-c", WEB_CMD)
    daemon.docker("run", "-d", "--name", "worker", "--restart", "always", "busybox", "sh", "-c", WORKER_CMD)
    gen = kube(daemon, "generate", "web", "worker", "--type", "deployment", "--service")
    assert "bind mount" not in gen.stderr and "worker: no ports, so no Service" in gen.stderr
    docs = docs_of(gen.stdout)
    assert_valid_for_two_versions(docs)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("PersistentVolumeClaim", "kweb"), ("Deployment", "web"), ("Service", "web"), ("Deployment", "worker")]
    web = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert web["env"] == [{"name": "MODE", "value": "prod"}] and web["args"] == ["sh", "-c", WEB_CMD]
    assert web["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": port}]
    assert web["resources"]["limits"] == {"memory": "64Mi"}
    assert web["livenessProbe"]["exec"]["command"][-1] == "wget -q -O /dev/null http://127.0.0.1:8080/index.html"
    assert docs[2]["spec"]["type"] == "NodePort" and docs[2]["spec"]["ports"][0]["nodePort"] == port
    assert docs[1]["spec"]["template"]["spec"]["hostAliases"] == [{"ip": "10.0.0.5", "hostnames": ["db.internal"]}]
    manifest = tmp_path / "app.yaml"
    manifest.write_text(gen.stdout)
    assert "4 documents valid for Kubernetes 1.30, 1.37" in kube(daemon, "validate", str(manifest)).stdout

    # this host becomes "the cluster": the originals go, the manifests play
    daemon.docker("rm", "-f", "web", "worker")
    daemon.docker("volume", "rm", "kweb")
    out = kube(daemon, "play", str(manifest)).stdout
    assert "Deployment/web: pod web-0 started (web)" in out and "Deployment/worker: pod worker-0 started" in out
    assert wait_for(lambda: http_get(port), "the web pod on its host port") == "hello from prod\n"
    # the docker CLI sees pods as dockershim made them
    names = daemon.docker("ps", "--filter", "label=io.kubernetes.pod.name=web-0", "--format", "{{.Names}}").stdout
    assert sorted(n.split("_")[:4] for n in names.split()) == [["k8s", "POD", "web-0", "default"],
                                                               ["k8s", "web", "web-0", "default"]]
    worker = pod_container(daemon, "worker-0", "worker")
    wait_for(lambda: "hello from prod" in daemon.docker("logs", worker).stdout, "the worker reaching web by name")
    web_id = pod_container(daemon, "web-0", "web")
    info = inspect(daemon, web_id)
    assert info["Config"]["Labels"]["io.kubernetes.pod.namespace"] == "default"
    assert info["HostConfig"]["NetworkMode"].startswith("container:")
    assert "10.0.0.5\tdb.internal" in daemon.docker("exec", web_id, "cat", "/etc/hosts").stdout  # hostAliases
    assert info["HostConfig"]["Memory"] == 64 << 20 and info["HostConfig"]["RestartPolicy"]["Name"] == "always"
    wait_for(lambda: inspect(daemon, web_id)["State"].get("Health", {}).get("Status") == "healthy",
             "the livenessProbe to run as the healthcheck")

    # the PVC's volume keeps what the pod wrote across --replace
    daemon.docker("exec", web_id, "sh", "-c", "echo changed > /srv/index.html")
    replaced = kube(daemon, "play", "--replace", str(manifest)).stdout
    assert "Deployment/web: pod web-0 removed" in replaced and "Deployment/web: pod web-0 started" in replaced
    assert pod_container(daemon, "web-0", "web") != web_id
    assert wait_for(lambda: http_get(port), "the replaced web pod") == "changed\n"

    # round trip: generate of what play ran says what the file says
    again = kube(daemon, "generate", "web", "worker", "--service")
    assert docs_of(again.stdout) == docs

    assert "already running" in kube(daemon, "play", str(manifest), check=False).stderr
    down = kube(daemon, "play", "--down", str(manifest)).stdout
    assert "Deployment/worker: pod worker-0 removed" in down
    assert leftovers(daemon) == NOTHING
    assert "kweb" not in daemon.docker("volume", "ls", "-q").stdout


COMPOSE = """
name: shop
services:
  web:
    image: busybox
    command: ["sh", "-c", 'test -f /srv/index.html || echo "hello from $$MODE" > /srv/index.html; exec httpd -f -p 8080 -h /srv']
    environment: {MODE: compose}
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    volumes: ["site:/srv"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]
      interval: 1s
  worker:
    image: busybox
    command: ["sh", "-c", "while :; do wget -q -O - http://web:8080/; sleep 1; done"]
    depends_on:
      web: {condition: service_healthy}
    deploy:
      resources:
        limits: {memory: 32m, cpus: "0.5"}
volumes:
  site: {}
"""


def test_compose_project_to_pods(daemon, tmp_path):
    port = free_port()
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    gen = daemon.dockyard("kube", "generate", "-f", str(tmp_path / "compose.yaml"), "--type", "deployment",
                          env={"WEB_PORT": str(port)})
    docs = docs_of(gen.stdout)
    assert_valid_for_two_versions(docs)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("PersistentVolumeClaim", "site"), ("Deployment", "web"), ("Service", "web"), ("Deployment", "worker")]
    worker = docs[3]["spec"]["template"]["spec"]
    assert [c["name"] for c in worker["initContainers"]] == ["wait-for-web"]
    assert worker["containers"][0]["resources"]["limits"] == {"memory": "32Mi", "cpu": "500m"}
    manifest = tmp_path / "app.yaml"
    # pods start together, as in a cluster: the worker, listed first here, waits in its init container for web
    manifest.write_text(dump(docs[::-1]))

    # a pause image of our own for the infra containers, built locally as docs/kubernetes.md says
    daemon.docker("build", "-q", "-t", "pause:local", "-",
                  input='FROM busybox\nENTRYPOINT ["sleep", "2147483647"]\n')
    kube(daemon, "play", str(manifest), "--init-timeout", "60", "--infra-image", "pause:local")
    assert wait_for(lambda: http_get(port), "the compose web pod") == "hello from compose\n"
    infra = pod_container(daemon, "web-0", "POD")
    assert inspect(daemon, infra)["Config"]["Image"] == "pause:local"
    # the NodePort Service without a nodePort (the compose port is outside the range) got a free host port
    # of its own, beside the hostPort, as a cluster picks one
    published = {int(line.rsplit(":", 1)[1]) for line in daemon.docker("port", infra, "8080/tcp").stdout.split()}
    assert port in published and len(published) == 2
    for host_port in published:
        assert http_get(host_port) == "hello from compose\n"
    worker_id = pod_container(daemon, "worker-0", "worker")
    wait_for(lambda: "hello from compose" in daemon.docker("logs", worker_id).stdout, "the worker's requests")
    # the init container ran first, to completion
    init = inspect(daemon, pod_container(daemon, "worker-0", "wait-for-web"))
    assert init["State"]["Status"] == "exited" and init["State"]["ExitCode"] == 0
    assert init["State"]["FinishedAt"] <= inspect(daemon, worker_id)["State"]["StartedAt"]

    kube(daemon, "play", "--down", str(manifest))
    assert leftovers(daemon) == NOTHING


CONFIG = CONFIG_AND_SECRET + """---
apiVersion: v1
kind: Pod
metadata: {name: two, labels: {app: two}}
spec:
  restartPolicy: Never
  initContainers:
  - {name: seed, image: busybox, command: [sh, -c, "echo seeded > /work/seed"],
     volumeMounts: [{name: scratch, mountPath: /work}]}
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'echo "$GREETING $DB_PASSWORD $POD"; cat /etc/app/app.conf /etc/creds/password; echo; sleep 600']
    env:
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    envFrom: [{configMapRef: {name: settings}}]
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: secret, mountPath: /etc/creds, readOnly: true}
    - {name: scratch, mountPath: /work}
  - {name: side, image: busybox, command: [sh, -c, "sleep 600"], volumeMounts: [{name: scratch, mountPath: /data}]}
  volumes:
  - {name: conf, configMap: {name: settings, items: [{key: app.conf, path: app.conf}]}}
  - {name: secret, secret: {secretName: creds}}
  - {name: scratch, emptyDir: {}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: busybox, command: [sh, -c, "hostname > /var/lib/db/who; sleep 600"],
         volumeMounts: [{name: data, mountPath: /var/lib/db}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: once, image: busybox, command: [sh, -c, "echo job done"]}
"""


def test_configmaps_secrets_emptydir_statefulsets_and_jobs(daemon, tmp_path):
    manifest = tmp_path / "config.yaml"
    manifest.write_text(CONFIG)
    out = kube(daemon, "play", str(manifest)).stdout
    assert "StatefulSet/db: pod db-1 started (db)" in out and "Pod/two: pod two started (seed, main, side)" in out
    main = pod_container(daemon, "two", "main")
    wait_for(lambda: "color=blue" in daemon.docker("logs", main).stdout, "main's output")
    assert daemon.docker("logs", main).stdout == "hello s3cr3t two\ncolor=blue\ns3cr3t\n"
    # the emptyDir is shared by the pod's containers, and the init container filled it first
    side = pod_container(daemon, "two", "side")
    assert daemon.docker("exec", side, "cat", "/data/seed").stdout == "seeded\n"
    assert inspect(daemon, main)["HostConfig"]["RestartPolicy"]["Name"] == "no"
    # each StatefulSet replica has its own claim, named as the controller names them
    for pod in ("db-0", "db-1"):
        db = pod_container(daemon, pod, "db")
        wait_for(lambda: daemon.docker("exec", db, "cat", "/var/lib/db/who", check=False).stdout == f"{pod}\n",
                 f"{pod} writing its hostname")
        assert [m["Name"] for m in inspect(daemon, db)["Mounts"]] == [f"data-{pod}"]
    # generate of the played StatefulSet gives its claim template back (not the replicas' volume names)
    original = [d for d in docs_of(CONFIG) if d["kind"] == "StatefulSet"][0]
    regenerated = docs_of(kube(daemon, "generate", "db").stdout)
    assert_valid_for_two_versions(regenerated)
    assert [d["kind"] for d in regenerated] == ["StatefulSet"]
    sts = regenerated[0]["spec"]
    assert sts["replicas"] == 2 and [t["metadata"]["name"] for t in sts["volumeClaimTemplates"]] == ["data"]
    assert sts["template"]["spec"]["containers"] == original["spec"]["template"]["spec"]["containers"]
    once = pod_container(daemon, "once-0", "once")
    wait_for(lambda: inspect(daemon, once)["State"]["Status"] == "exited", "the job to finish")
    assert daemon.docker("logs", once).stdout == "job done\n"
    assert inspect(daemon, once)["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    kube(daemon, "down", str(manifest))
    assert leftovers(daemon) == NOTHING


BAD = {
    "unknown-kind": ("apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n", "kind 'Widget' is not supported"),
    "wrong-type": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                   "  - {name: a, image: busybox, ports: [{containerPort: eighty}]}\n",
                   "spec.containers[0].ports[0].containerPort: 'eighty' is not of type 'integer'"),
    "missing-image": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                      "  - {name: a, image: busybox}\n  - {name: b, image: nosuch/app:1}\n",
                      "spec.containers[1].image: No such image: nosuch/app:1"),
    "privileged": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                   "  - {name: a, image: busybox, securityContext: {privileged: true}}\n",
                   "spec.containers[0].securityContext.privileged: privileged requests are refused"),
    "unsupported": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                    "  - {name: a, image: busybox, lifecycle: {postStart: {exec: {command: [x]}}}}\n",
                    "spec.containers[0].lifecycle: not supported by kube play"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_manifests_are_refused_by_field_and_create_nothing(daemon, tmp_path, case):
    text, message = BAD[case]
    (tmp_path / "bad.yaml").write_text(text)
    r = kube(daemon, "play", str(tmp_path / "bad.yaml"), check=False)
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and message in r.stderr, r.stderr
    assert leftovers(daemon) == NOTHING


TWO_PODS = """
apiVersion: v1
kind: Pod
metadata: {{name: first, labels: {{app: first}}}}
spec:
  volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]
  containers:
  - {{name: a, image: busybox, command: [sleep, "600"], volumeMounts: [{{name: data, mountPath: /data}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: second}}
spec:
  {second}
"""


@pytest.mark.parametrize("failure", ["port-in-use", "init-fails"])
def test_a_failure_half_way_takes_back_what_was_made(daemon, tmp_path, failure):
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    second = {"port-in-use": f"containers: [{{name: b, image: busybox, ports: [{{containerPort: 80, hostPort: {port}}}]}}]",
              "init-fails": "initContainers: [{name: prep, image: busybox, command: [sh, -c, 'echo no config; exit 3']}]"
                            "\n  containers: [{name: b, image: busybox}]"}[failure]
    claim = f"firstdata-{failure}"
    (tmp_path / "two.yaml").write_text(TWO_PODS.format(second=second, claim=claim))
    since = int(time.time()) - 1
    try:
        r = kube(daemon, "play", str(tmp_path / "two.yaml"), check=False)
    finally:
        held.close()
    events = daemon.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                           "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}").stdout.splitlines()
    assert r.returncode == 1, r.stdout
    if failure == "port-in-use":
        assert f"127.0.0.1:{port}" in r.stderr, r.stderr
    else:
        assert "init container prep of pod second exited with code 3: no config" in r.stderr, r.stderr
    # things were made (the claim's volume, containers), and then all taken back
    assert f"volume create {claim}" in events and f"volume destroy {claim}" in events
    created = {e.split()[2] for e in events if e.startswith("container create ")}
    assert created and created <= {e.split()[2] for e in events if e.startswith("container destroy ")}
    assert leftovers(daemon) == NOTHING


def test_generate_of_a_pod_named_like_a_containers_id_prefix_gives_the_pod(daemon, tmp_path):
    # docker resolves "db" to a container whose ID starts with db; a played pod of that name comes first
    other = daemon.docker("create", "--name", "unrelated", "busybox", "true").stdout.strip()
    prefix = other[:4]
    (tmp_path / "pod.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: '{prefix}'}}\nspec:\n"
                                       "  containers: [{name: app, image: busybox, command: [sleep, '600']}]\n")
    kube(daemon, "play", str(tmp_path / "pod.yaml"))
    regenerated = docs_of(kube(daemon, "generate", prefix).stdout)
    assert [(d["kind"], d["metadata"]["name"]) for d in regenerated] == [("Pod", prefix)]
    assert [c["name"] for c in regenerated[0]["spec"]["containers"]] == ["app"]
    # the container itself is still found by its name and by its full ID
    for ref in ("unrelated", other):
        assert [c["name"] for c in docs_of(kube(daemon, "generate", ref).stdout)[0]["spec"]["containers"]] == \
            ["unrelated"]
    kube(daemon, "down", str(tmp_path / "pod.yaml"))
    daemon.docker("rm", other)
    assert leftovers(daemon) == NOTHING
