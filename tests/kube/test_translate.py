"""Unit tests of the translators: container inspect JSON and compose files -> manifests (valid for two
Kubernetes versions), and manifests -> Engine API create bodies. No daemon: the e2e tests run what these make."""
from __future__ import annotations

import base64
import io
import json
import tarfile
import textwrap

import pytest

from dockyard.errors import InvalidParameter
from dockyard.kube import compose, labels as L, manifests, objects, pods, quantity, validate
from dockyard.kube.generate import pod_from_containers

from .conftest import CONFIG_AND_SECRET

IMAGE = {"Id": "sha256:" + "a" * 64, "RepoDigests": ["127.0.0.1:5000/myorg/web@sha256:" + "d" * 64],
         "Config": {"Cmd": ["sh"], "Entrypoint": None, "Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "",
                    "User": "", "Labels": {"org.opencontainers.image.title": "web"}}}


def inspect(**over) -> dict:
    """A container's inspect JSON as `docker run -d --name web -p 8080:80 -e MODE=prod -v data:/srv ...` leaves it."""
    info = {
        "Name": "/web", "Image": IMAGE["Id"],
        "Config": {"Image": "127.0.0.1:5000/myorg/web:1", "Cmd": ["httpd", "-f", "-p", "80"], "Entrypoint": None,
                   "Env": ["PATH=/usr/bin:/bin", "MODE=prod"], "WorkingDir": "/srv", "User": "1000:1000",
                   "ExposedPorts": {"80/tcp": {}}, "Tty": False, "OpenStdin": False,
                   "Labels": {"tier": "front", "com.example.description": "A web server",
                              "org.opencontainers.image.title": "web"},
                   "Healthcheck": {"Test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"], "Interval": 5 * 10**9,
                                   "Timeout": 2 * 10**9, "Retries": 4}},
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}, "Memory": 256 << 20,
                       "NanoCpus": 500_000_000, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
        "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/dockyard/volumes/data/_data",
                    "Destination": "/srv", "RW": True},
                   {"Type": "bind", "Source": "/etc/web", "Destination": "/etc/web", "RW": False},
                   {"Type": "volume", "Name": "f" * 64, "Destination": "/cache", "RW": True}],
    }
    for key, value in over.items():
        section, _, field = key.partition("__")
        info[section][field] = value
    return info


def generated(kind="pod", replicas=None, service=True, digests=False, info=None):
    warnings = objects.Warnings()
    src = pod_from_containers("web", [(info or inspect(), IMAGE)], warnings, digests)
    return objects.manifests(src, kind, replicas, service, warnings), warnings


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def assert_valid(docs):
    for doc in docs:
        for version in validate.VERSIONS:
            assert validate.problems(doc, version) == [], (version, doc)


# ---------------------------------------------------------------------------------------------- generate
@pytest.mark.parametrize("kind", sorted(objects.KINDS))
def test_every_type_validates_for_two_kubernetes_versions(kind):
    docs, _ = generated(kind, replicas=2 if kind in ("deployment", "statefulset") else None)
    assert_valid(docs)
    claims = [] if kind == "statefulset" else ["PersistentVolumeClaim"]  # it has volumeClaimTemplates instead
    assert [d["kind"] for d in docs] == [*claims, objects.KINDS[kind][1], "Service"]


def test_statefulset_claims_are_per_replica_templates(tmp_path):
    docs, _ = generated("statefulset", replicas=2)
    sts = by_kind(docs, "StatefulSet")[0]["spec"]
    assert sts["volumeClaimTemplates"] == [{"metadata": {"name": "data"}, "spec": objects.claim_spec()}]
    assert [v["name"] for v in sts["template"]["spec"]["volumes"]] == ["web", "cache"]
    planned = pods.plan(manifests.read(write(tmp_path, objects.dump(docs))))
    claims = [{name: labels[L.CLAIM_TEMPLATE] for name, labels in p.volumes.items() if labels[L.MANAGED] == "claim"}
              for p in planned]
    assert claims == [{"data-web-0": "data"}, {"data-web-1": "data"}]


def test_container_fields_carry_over():
    docs, warnings = generated("deployment", replicas=3)
    dep = by_kind(docs, "Deployment")[0]
    assert dep["spec"]["replicas"] == 3
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "127.0.0.1:5000/myorg/web:1"
    assert "command" not in c and c["args"] == ["httpd", "-f", "-p", "80"]  # only CMD differs from the image
    assert c["env"] == [{"name": "MODE", "value": "prod"}]  # the image's PATH is the image's business
    assert c["workingDir"] == "/srv"
    assert c["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000}
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]
    assert c["resources"] == {"limits": {"memory": "256Mi", "cpu": "500m"},
                              "requests": {"memory": "256Mi", "cpu": "500m"}}
    probe = {"exec": {"command": ["/bin/sh", "-c", "wget -q -O- http://127.0.0.1/"]}, "periodSeconds": 5,
             "timeoutSeconds": 2, "failureThreshold": 4}
    assert c["livenessProbe"] == probe and c["readinessProbe"] == probe
    assert c["volumeMounts"] == [{"name": "data", "mountPath": "/srv"},
                                 {"name": "web", "mountPath": "/etc/web", "readOnly": True},
                                 {"name": "cache", "mountPath": "/cache"}]
    assert pod["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                              {"name": "web", "hostPath": {"path": "/etc/web"}},
                              {"name": "cache", "emptyDir": {}}]
    assert by_kind(docs, "PersistentVolumeClaim")[0]["metadata"]["name"] == "data"
    # labels valid in Kubernetes stay labels, free text becomes an annotation; the image's own are left out
    assert dep["spec"]["template"]["metadata"] == {"labels": {"app": "web", "tier": "front"},
                                                   "annotations": {"com.example.description": "A web server"}}
    assert any("bind mount /etc/web becomes a hostPath" in w for w in warnings)
    assert any("restart policy OnFailure is not allowed in a Deployment" in w for w in warnings)
    assert pod["restartPolicy"] == "Always"


def test_published_port_makes_a_nodeport_service_and_in_range_host_ports_become_the_nodeport():
    svc = by_kind(generated()[0], "Service")[0]
    assert svc["spec"]["type"] == "NodePort" and "nodePort" not in svc["spec"]["ports"][0]
    info = inspect(HostConfig__PortBindings={"80/tcp": [{"HostPort": "30080"}]})
    svc = by_kind(generated(info=info)[0], "Service")[0]
    assert svc["spec"]["ports"] == [{"name": "tcp-80", "port": 80, "targetPort": 80, "protocol": "TCP",
                                     "nodePort": 30080}]
    svc = by_kind(generated(info=inspect(HostConfig__PortBindings={}))[0], "Service")[0]
    assert svc["spec"]["type"] == "ClusterIP"


def test_restart_policies_and_jobs():
    pod = by_kind(generated("pod")[0], "Pod")[0]
    assert pod["spec"]["restartPolicy"] == "OnFailure"
    job = by_kind(generated("job")[0], "Job")[0]
    assert job["spec"]["backoffLimit"] == 3 and job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    never = inspect(HostConfig__RestartPolicy={"Name": "no"})
    assert by_kind(generated("pod", info=never)[0], "Pod")[0]["spec"]["restartPolicy"] == "Never"


def test_entrypoint_override_becomes_command_and_user_names_are_warned():
    info = inspect(Config__Entrypoint=["/bin/sh", "-c"], Config__Cmd=["echo hi"], Config__User="www-data")
    docs, warnings = generated(info=info)
    c = by_kind(docs, "Pod")[0]["spec"]["containers"][0]
    assert c["command"] == ["/bin/sh", "-c"] and c["args"] == ["echo hi"]
    assert "securityContext" not in c
    assert any("user 'www-data' is not numeric" in w for w in warnings)


def test_extra_hosts_become_host_aliases_and_untranslatable_settings_are_named(tmp_path):
    info = inspect(HostConfig__ExtraHosts=["db.internal:10.0.0.5", "cache:10.0.0.5", "gw:host-gateway"],
                   HostConfig__Devices=[{"PathOnHost": "/dev/fuse"}], HostConfig__NetworkMode="backend")
    docs, warnings = generated("pod", info=info)
    assert_valid(docs)
    pod = by_kind(docs, "Pod")[0]["spec"]
    assert pod["hostAliases"] == [{"ip": "10.0.0.5", "hostnames": ["db.internal", "cache"]}]
    assert "container web: extra host 'gw:host-gateway' cannot be expressed" in " ".join(warnings)
    assert "container web: HostConfig.Devices is not translated to Kubernetes" in warnings
    assert any(w.startswith("container web: network backend is not translated") for w in warnings)
    planned = pods.plan(manifests.read(write(tmp_path, objects.dump(docs))))[0]
    assert planned.infra_body("busybox", "kube-default")["HostConfig"]["ExtraHosts"] == \
        ["db.internal:10.0.0.5", "cache:10.0.0.5"]


def test_digests_name_the_image_by_its_registry_digest():
    c = by_kind(generated(digests=True)[0], "Pod")[0]["spec"]["containers"][0]
    assert c["image"] == "127.0.0.1:5000/myorg/web@sha256:" + "d" * 64
    warnings = objects.Warnings()
    src = pod_from_containers("web", [(inspect(), {**IMAGE, "RepoDigests": []})], warnings, True)
    assert src.containers[0]["image"] == "127.0.0.1:5000/myorg/web:1"
    assert any("has no registry digest" in w for w in warnings)


def test_quantities():
    assert quantity.memory_quantity(256 << 20) == "256Mi" and quantity.memory_quantity(1000) == "1000"
    assert quantity.cpu_quantity(2 * 10**9) == "2" and quantity.cpu_quantity(250_000_000) == "250m"
    assert quantity.memory_bytes("1Gi", "f") == 1 << 30 and quantity.memory_bytes("1G", "f") == 10**9
    assert quantity.nano_cpus("500m", "f") == 500_000_000 and quantity.nano_cpus(1.5, "f") == 1_500_000_000
    assert quantity.parse_duration("1m30s", "f") == 90 * 10**9
    with pytest.raises(InvalidParameter, match="spec.x: invalid quantity"):
        quantity.memory_bytes("lots", "spec.x")


# ---------------------------------------------------------------------------------------------- compose
COMPOSE = """
name: shop
services:
  web:
    image: busybox
    command: httpd -f -p 8080
    ports: ["127.0.0.1:${WEB_PORT:-18080}:8080", "9000-9001:9000-9001/udp"]
    volumes: ["site:/srv", "./conf:/etc/conf:ro", {type: tmpfs, target: /run/cache}]
    env_file: web.env
    environment: {MODE: prod}
    healthcheck: {test: "wget -q -O- http://127.0.0.1:8080/", interval: 1m30s, timeout: 5s, retries: 2,
                  start_period: 10s}
    labels: {tier: front}
    mem_limit: 512m
    cpus: 0.5
    restart: unless-stopped
    logging: {driver: json-file}
    hostname: shop-web
    container_name: shop_web_1
    extra_hosts: {db.internal: 10.0.0.9}
  worker:
    image: busybox
    entrypoint: ["sh", "-c"]
    command: ["while :; do wget -q -O- http://web:8080/; sleep 5; done"]
    depends_on:
      web: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_started}
  migrate:
    image: busybox
    command: ["true"]
  cache:
    image: busybox
volumes:
  site: {name: shop-site}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "web.env").write_text("# comment\nFROM_FILE=yes\nMODE=dev\n")
    return tmp_path


def compose_docs(project, environ=None, kind="pod"):
    warnings = objects.Warnings()
    data = compose.load(str(project / "compose.yaml"), environ=environ or {})
    docs = []
    for src in compose.pods_from_compose(data, str(project), warnings):
        docs += objects.manifests(src, kind, None, any(c.get("ports") for c in src.containers), warnings)
    return docs, warnings


def test_compose_project_translates_and_validates(project):
    docs, warnings = compose_docs(project, {"WEB_PORT": "18123"})
    assert_valid(docs)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("PersistentVolumeClaim", "shop-site"), ("Pod", "web"), ("Service", "web"), ("Pod", "worker"),
        ("Pod", "migrate"), ("Pod", "cache")]
    web = docs[1]["spec"]
    c = web["containers"][0]
    assert c["args"] == ["httpd", "-f", "-p", "8080"] and "command" not in c
    assert c["env"] == [{"name": "FROM_FILE", "value": "yes"}, {"name": "MODE", "value": "prod"}]
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 18123},
                          {"containerPort": 9000, "protocol": "UDP", "hostPort": 9000},
                          {"containerPort": 9001, "protocol": "UDP", "hostPort": 9001}]
    assert c["livenessProbe"] == {"exec": {"command": ["/bin/sh", "-c", "wget -q -O- http://127.0.0.1:8080/"]},
                                  "periodSeconds": 90, "timeoutSeconds": 5, "failureThreshold": 2,
                                  "initialDelaySeconds": 10}
    assert c["resources"]["limits"] == {"memory": "512Mi", "cpu": "500m"}
    assert web["restartPolicy"] == "Always"
    assert web["volumes"] == [{"name": "shop-site", "persistentVolumeClaim": {"claimName": "shop-site"}},
                              {"name": "conf", "hostPath": {"path": str(project / "conf")}},
                              {"name": "run-cache", "emptyDir": {"medium": "Memory"}}]
    assert any("logging is not translated" in w for w in warnings)
    assert web["hostname"] == "shop-web" and web["hostAliases"] == [{"ip": "10.0.0.9", "hostnames": ["db.internal"]}]
    assert "service web: container_name is not used: Kubernetes names the pod after the service" in warnings


def test_depends_on_becomes_init_containers_where_kubernetes_can_say_it(project):
    docs, warnings = compose_docs(project)
    worker = [d for d in docs if d["metadata"]["name"] == "worker"][0]["spec"]
    assert worker["containers"][0]["command"] == ["sh", "-c"]
    assert [i["name"] for i in worker["initContainers"]] == ["wait-for-web"]
    assert "nc -w 2 web 8080" in worker["initContainers"][0]["command"][2]
    assert any("depends_on migrate (service_completed_successfully) cannot be expressed" in w for w in warnings)
    assert any("depends_on cache cannot be expressed: cache has no port" in w for w in warnings)


def test_compose_errors_name_the_service(project, tmp_path):
    (project / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    with pytest.raises(InvalidParameter, match="service app: image is required"):
        compose_docs(project)
    (project / "compose.yaml").write_text("services:\n  app:\n    image: x\n    ports: ['80-81:90-92']\n")
    with pytest.raises(InvalidParameter, match="service app: ports"):
        compose_docs(project)
    assert compose.interpolate("${A:-x}/$B/$$", {"B": "b"}) == "x/b/$"
    with pytest.raises(InvalidParameter, match="required variable A"):
        compose.interpolate("${A:?give A}", {})


# ---------------------------------------------------------------------------------------------- play side
PLAY = CONFIG_AND_SECRET + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox
        command: [httpd, -f, -p, "8080"]
        ports: [{containerPort: 8080, hostPort: 18080, name: http}]
        envFrom: [{configMapRef: {name: settings}}]
        env: [{name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}},
              {name: ME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        resources: {limits: {memory: 64Mi, cpu: 250m}, requests: {cpu: 100m}}
        livenessProbe: {exec: {command: [sh, -c, "wget -q -O- 127.0.0.1:8080"]}, periodSeconds: 3}
        volumeMounts: [{name: conf, mountPath: /etc/app}, {name: data, mountPath: /srv}]
      volumes:
      - {name: conf, configMap: {name: settings, items: [{key: app.conf, path: app.conf}]}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
"""


def write(tmp_path, text, name="m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_plan_names_labels_and_translates_each_pod(tmp_path):
    manifest = manifests.read(write(tmp_path, PLAY))
    uids = iter(["u0", "u1"])
    planned = pods.plan(manifest, new_uid=lambda: next(uids))
    assert [p.name for p in planned] == ["web-0", "web-1"]
    first, second = planned
    assert first.container_name("web") == "k8s_web_web-0_default_u0_0"
    assert first.aliases == ["web"]
    # hostPort and the Service's nodePort both land on the container port, on the first replica only
    assert first.publish == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "30080"},
                                          {"HostIp": "127.0.0.1", "HostPort": "18080"}]}
    assert second.publish == {} and second.aliases == ["web"]
    assert any("only the first replica publishes host ports" in w for w in manifest.warnings)
    body = first.containers[0].body
    assert body["Labels"][L.POD_NAME] == "web-0" and body["Labels"][L.CONTAINER_NAME] == "web"
    assert body["Labels"][L.POD_NAMESPACE] == "default" and body["Labels"][L.WORKLOAD] == "Deployment/web"
    assert body["Entrypoint"] == ["httpd", "-f", "-p", "8080"] and body["Cmd"] == []  # the image CMD is dropped
    assert body["Env"] == ["GREETING=hello", "app.conf=color=blue\n", "PASS=s3cr3t", "ME=web-0"]
    assert body["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- 127.0.0.1:8080"], "Interval": 3 * 10**9,
                                   "Timeout": 10**9, "Retries": 3}
    host = body["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["CpuShares"]) == (64 << 20, 250_000_000, 102)
    assert host["Mounts"] == [{"Type": "volume", "Source": "data", "Target": "/srv"}]
    assert host["RestartPolicy"] == {"Name": "always"}
    with tarfile.open(fileobj=io.BytesIO(first.containers[0].files)) as tar:
        assert tar.extractfile("etc/app/app.conf").read() == b"color=blue\n"
    infra = first.infra_body("busybox", "kube-default")
    assert infra["Labels"][L.DOCKER_TYPE] == "podsandbox" and infra["Hostname"] == "web-0"
    assert infra["NetworkingConfig"]["EndpointsConfig"]["kube-default"]["Aliases"] == ["web"]


@pytest.mark.parametrize("text,message", [
    ("apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n", "kind 'Widget' is not supported by kube play"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
     "  - {name: a, image: busybox, ports: [{containerPort: eighty}]}\n",
     "spec.containers[0].ports[0].containerPort: 'eighty' is not of type 'integer'"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a}\n",
     "spec.containers[0].image: required"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
     "  - {name: a, image: busybox, securityContext: {privileged: true}}\n",
     "spec.containers[0].securityContext.privileged: privileged requests are refused"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers:\n"
     "  - {name: a, image: busybox}\n", "spec.hostPID: privileged requests are refused"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
     "  - {name: a, image: busybox, lifecycle: {preStop: {exec: {command: [x]}}}}\n",
     "spec.containers[0].lifecycle: not supported by kube play"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: busybox}\n"
     "  volumes: [{name: v, nfs: {server: x, path: /}}]\n", "spec.volumes[0].nfs: volume type not supported"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: busybox\n"
     "    env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]\n",
     "ConfigMap 'nope' is not in"),
    ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n"
     "      - {name: a, image: busybox}\n", "a Job's pods must be OnFailure or Never"),
    ("- just\n- a list\n", "document 1: a Kubernetes object needs kind and metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
     "  - {name: a, image: busybox, resources: {limits: {nvidia.com/gpu: 1}}}\n",
     "spec.containers[0].resources.limits.nvidia.com/gpu: not supported by kube play"),
])
def test_bad_manifests_are_refused_naming_the_field(tmp_path, text, message):
    with pytest.raises(InvalidParameter) as err:
        manifests.read(write(tmp_path, text))
    assert message in str(err.value)


IGNORED = "ignored by kube play (it has no meaning on one host)"


@pytest.mark.parametrize("text,doc,expected", [
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeSelector: {disk: ssd}\n  containers:\n"
     "  - {name: a, image: busybox, imagePullPolicy: Always}\n", "Pod/p",
     [f": spec.nodeSelector: {IGNORED}", f": spec.containers[0].imagePullPolicy: {IGNORED}"]),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  sessionAffinity: ClientIP\n"
     "  selector: {app: a}\n  ports: [{port: 80}]\nstatus: {loadBalancer: {}}\n", "Service/s",
     [": status: ignored by kube play (the cluster writes it)", f": spec.sessionAffinity: {IGNORED}"]),
])
def test_ignored_fields_are_warned_by_name(tmp_path, text, doc, expected):
    m = manifests.read(write(tmp_path, text))
    assert m.warnings == [f"{m.path}: document 1 {doc}{w}" for w in expected]


@pytest.mark.parametrize("limit,policy", [("", {"Name": "on-failure", "MaximumRetryCount": 6}),
                                          ("  backoffLimit: 2\n", {"Name": "on-failure", "MaximumRetryCount": 2}),
                                          ("  backoffLimit: 0\n", {"Name": "no"})])
def test_job_retries_follow_the_backoff_limit(tmp_path, limit, policy):
    text = ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n" + limit +
            "  template:\n    spec:\n      restartPolicy: OnFailure\n      containers: [{name: a, image: busybox}]\n")
    planned = pods.plan(manifests.read(write(tmp_path, text)))
    assert planned[0].containers[0].body["HostConfig"]["RestartPolicy"] == policy


def test_secret_string_data_and_binary_data():
    doc = {"kind": "Secret", "data": {"a": base64.b64encode(b"\x00\x01").decode()}, "stringData": {"b": "plain"}}
    assert manifests.object_data(doc) == {"a": b"\x00\x01", "b": b"plain"}


def test_generated_manifest_plays_back_to_the_same_container_settings(tmp_path):
    """generate -> plan: the create body says what the inspected container said."""
    docs, _ = generated("deployment")
    path = write(tmp_path, objects.dump(docs))
    body = pods.plan(manifests.read(path))[0].containers[0].body
    assert body["Cmd"] == ["httpd", "-f", "-p", "80"] and "Entrypoint" not in body
    assert body["Env"] == ["MODE=prod"] and body["User"] == "1000:1000" and body["WorkingDir"] == "/srv"
    assert body["Healthcheck"] == {**inspect()["Config"]["Healthcheck"], "Test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"]}
    assert body["HostConfig"]["Memory"] == 256 << 20 and body["HostConfig"]["NanoCpus"] == 500_000_000
    assert json.loads(body["Labels"][L.PORTS]) == [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]
