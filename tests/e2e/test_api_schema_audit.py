"""The JSON dockyard's Engine API returns, checked against the shapes in the v1.50 swagger that SDKs (docker-py,
the Go client, UIs generated from the spec) read it by: required and non-nullable fields present, types,
enums and time formats as documented (see swagger_check.py for the rules)."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from urllib.parse import quote

import pytest

from . import swagger_check as sw
from .daemon_harness import tar_bytes, wait_for


def conforms(schema: dict, body, moby_nulls=()) -> None:
    problems = sw.check(schema, body, moby_nulls=frozenset(moby_nulls))
    assert problems == [], "\n".join(problems)


def get_ok(daemon, path: str):
    status, body = daemon.api("GET", path)
    assert status == 200, (path, status, body)
    return body


@pytest.fixture(scope="module")
def scene(daemon):
    """Containers in each state, with ports, volumes, a user network, a healthcheck and a restart policy."""
    d = daemon
    made = {"containers": [], "networks": [], "volumes": []}
    d.docker("network", "create", "schemanet")
    made["networks"].append("schemanet")
    d.docker("volume", "create", "--label", "k=v", "schemavol")
    made["volumes"].append("schemavol")
    running = d.docker("run", "-d", "--name", "schema-running", "-p", "127.0.0.1::80", "-v", "schemavol:/data",
                       "-v", "/tmp:/hosttmp:ro", "--network", "schemanet", "--restart", "on-failure:3",
                       "--health-cmd", "true", "--health-interval", "1s", "-l", "a=b",
                       "busybox", "sleep", "300").stdout.strip()
    created = d.docker("create", "--name", "schema-created", "busybox", "true").stdout.strip()
    exited = d.docker("run", "--name", "schema-exited", "busybox", "sh", "-c", "echo x > /f; exit 3",
                      check=False).stdout.strip()
    exited = d.docker("inspect", "-f", "{{.Id}}", "schema-exited").stdout.strip()
    paused = d.docker("run", "-d", "--name", "schema-paused", "busybox", "sleep", "300").stdout.strip()
    d.docker("pause", paused)
    made["containers"] += [running, created, exited, paused]
    # the Health shapes are checked once the healthcheck has a result
    wait_for(lambda: d.docker("inspect", "-f", "{{.State.Health.Status}}", running).stdout.strip() == "healthy",
             what="the healthcheck's first result")
    yield {"running": running, "created": created, "exited": exited, "paused": paused}
    d.docker("unpause", paused, check=False)
    d.docker("rm", "-f", *made["containers"], check=False)
    d.docker("network", "rm", *made["networks"], check=False)
    d.docker("volume", "rm", *made["volumes"], check=False)


# ---------------------------------------------------------------- the checker itself
def test_checker_catches_each_kind_of_deviation():
    """The rules bite: a missing required field, a wrong type, an illegal enum, a bad time, a null where the
    spec forbids it (and nothing when the body is right)."""
    state = sw.definition("ContainerState")
    good = {"Status": "running", "Running": True, "Pid": 1, "ExitCode": 0, "StartedAt": "2024-01-01T00:00:00.1Z",
            "FinishedAt": "0001-01-01T00:00:00Z", "Health": {"Status": "healthy", "FailingStreak": 0, "Log": []}}
    assert sw.check(state, good) == []
    assert sw.check(state, {**good, "Status": "up"})[0].startswith("$.Status: 'up' is not one of")
    assert sw.check(state, {**good, "Pid": "1"}) == ["$.Pid: str '1', schema says integer"]
    assert sw.check(state, {**good, "Running": None}) == ["$.Running: null, schema says boolean (not nullable)"]
    assert sw.check(state, {**good, "StartedAt": "1704067200"}) == ["$.StartedAt: '1704067200' is not an RFC 3339 time"]
    assert sw.check(state, {**good, "Health": {"Status": "fine"}})[0].startswith("$.Health.Status: 'fine'")
    volume = sw.definition("Volume")
    assert "$.Scope: required, missing" in sw.check(volume, {"Name": "v", "Driver": "local", "Mountpoint": "/",
                                                             "Labels": {}, "Options": {}})


# ---------------------------------------------------------------- system
def test_version_info_and_df(daemon, scene):
    conforms(sw.response_schema("/version"), get_ok(daemon, "/version"))
    conforms(sw.response_schema("/info"), get_ok(daemon, "/info"))
    conforms(sw.response_schema("/system/df"), get_ok(daemon, "/system/df"))


# ---------------------------------------------------------------- containers
def test_container_list_with_size(daemon, scene):
    conforms(sw.response_schema("/containers/json"), get_ok(daemon, "/containers/json?all=1&size=1"))


@pytest.mark.parametrize("state", ["running", "created", "exited", "paused"])
def test_container_inspect_in_each_state(daemon, scene, state):
    conforms(sw.response_schema("/containers/{id}/json"), get_ok(daemon, f"/containers/{scene[state]}/json?size=1"))


def test_container_top_changes_stats(daemon, scene):
    cid = scene["running"]
    conforms(sw.response_schema("/containers/{id}/top"), get_ok(daemon, f"/containers/{cid}/top"))
    conforms(sw.response_schema("/containers/{id}/top"), get_ok(daemon, f"/containers/{scene['paused']}/top"))
    conforms(sw.response_schema("/containers/{id}/changes"), get_ok(daemon, f"/containers/{scene['exited']}/changes"))
    for state in ("running", "created", "exited", "paused"):
        conforms(sw.response_schema("/containers/{id}/stats"),
                 get_ok(daemon, f"/containers/{scene[state]}/stats?stream=false"))


def test_more_container_configurations_inspect_to_shape(daemon):
    """Mounts of every type, restart policies, init, other network modes."""
    runs = [["--mount", "type=volume,target=/v", "--mount", "type=tmpfs,target=/t", "--restart", "always",
             "--init"],
            ["--network", "none", "--restart", "unless-stopped", "--read-only", "--tmpfs", "/run"],
            ["--network", "host", "-v", "/data"]]
    made = []
    try:
        for flags in runs:
            made.append(daemon.docker("run", "-d", *flags, "busybox", "sleep", "300").stdout.strip())
            body = get_ok(daemon, f"/containers/{made[-1]}/json")
            conforms(sw.response_schema("/containers/{id}/json"), body)
        conforms(sw.response_schema("/containers/json"), get_ok(daemon, "/containers/json"))
    finally:
        daemon.docker("rm", "-fv", *made, check=False)


def test_exec_create_and_inspect(daemon, scene):
    status, body = daemon.api("POST", f"/containers/{scene['running']}/exec", {"Cmd": ["true"]})
    assert status == 201
    conforms(sw.response_schema("/containers/{id}/exec", "post", "201"), body)
    # moby's ExecInspect.ExitCode is a *int: null until the exec has run
    conforms(sw.response_schema("/exec/{id}/json"), get_ok(daemon, f"/exec/{body['Id']}/json"), {"$.ExitCode"})
    status, _ = daemon.api("POST", f"/exec/{body['Id']}/start", {"Detach": True})
    assert status == 200

    def finished():
        r = get_ok(daemon, f"/exec/{body['Id']}/json")
        return r if not r["Running"] and r["ExitCode"] is not None else None

    ran = wait_for(finished, what="the exec to finish")
    conforms(sw.response_schema("/exec/{id}/json"), ran)


# ---------------------------------------------------------------- images
def test_images_list_inspect_history(daemon, scene):
    conforms(sw.response_schema("/images/json"), get_ok(daemon, "/images/json"))
    conforms(sw.response_schema("/images/{name}/json"), get_ok(daemon, "/images/busybox/json"))
    conforms(sw.response_schema("/images/{name}/history"), get_ok(daemon, "/images/busybox/history"))


# ---------------------------------------------------------------- networks and volumes
def test_networks_and_volumes(daemon, scene):
    conforms(sw.response_schema("/networks"), get_ok(daemon, "/networks"))
    for name in ("schemanet", "bridge", "host", "none"):
        conforms(sw.response_schema("/networks/{id}"), get_ok(daemon, f"/networks/{name}"))
    conforms(sw.response_schema("/volumes"), get_ok(daemon, "/volumes"))
    conforms(sw.response_schema("/volumes/{name}"), get_ok(daemon, "/volumes/schemavol"))


# ---------------------------------------------------------------- POST bodies
def test_create_bodies(daemon, scene):
    status, body = daemon.api("POST", "/containers/create?name=schema-posted", {"Image": "busybox", "Cmd": ["true"]})
    assert status == 201
    try:
        conforms(sw.response_schema("/containers/create", "post", "201"), body)
        status, commit = daemon.api("POST", f"/commit?container={body['Id']}&repo=schema-commit")
        assert status == 201
        conforms(sw.response_schema("/commit", "post", "201"), commit)
    finally:
        daemon.api("DELETE", f"/containers/{body['Id']}?force=1")
        daemon.api("DELETE", "/images/schema-commit")
    status, vol = daemon.api("POST", "/volumes/create", {"Name": "schema-posted"})
    assert status == 201
    # moby keeps a create request's labels as sent: null when it had none (the docker CLI sends {})
    conforms(sw.response_schema("/volumes/create", "post", "201"), vol, {"$.Labels"})
    daemon.api("DELETE", "/volumes/schema-posted")
    status, net = daemon.api("POST", "/networks/create", {"Name": "schema-posted"})
    assert status == 201
    conforms(sw.response_schema("/networks/create", "post", "201"), net)
    daemon.api("DELETE", "/networks/schema-posted")


def test_prune_bodies(daemon):
    """Each prune removes one thing of its own (label schema-prune), so the lists are not all empty; the
    filter keeps other tests' objects on this shared daemon."""
    daemon.docker("create", "--label", "schema-prune=1", "busybox", "true")
    daemon.docker("volume", "create", "--label", "schema-prune=1")
    daemon.docker("network", "create", "--label", "schema-prune=1", "schema-prune-net")
    only_ours = quote(json.dumps({"label": ["schema-prune=1"]}))
    for path in ("/containers/prune", "/images/prune", "/volumes/prune", "/networks/prune", "/build/prune"):
        query = "" if path == "/build/prune" else f"?filters={only_ours}"
        status, body = daemon.api("POST", path + query)
        assert status == 200, body
        conforms(sw.response_schema(path, "post"), body)
        if path in ("/containers/prune", "/volumes/prune", "/networks/prune"):
            assert len(next(v for k, v in body.items() if k.endswith("Deleted"))) == 1, body


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("method,path,status", [
    ("GET", "/containers/nope/json", 404), ("GET", "/images/nope/json", 404), ("GET", "/networks/nope", 404),
    ("GET", "/volumes/nope", 404), ("GET", "/exec/nope/json", 404), ("POST", "/containers/create", 400),
    ("GET", "/containers/{exited}/top", 409), ("DELETE", "/containers/{running}", 409),
    ("DELETE", "/networks/bridge", 403), ("POST", "/containers/{exited}/exec", 409)])
def test_error_bodies(daemon, scene, method, path, status):
    path = path.format(**scene)
    got, body = daemon.api(method, path, {"Cmd": ["true"]} if method == "POST" else None)
    assert got == status, body
    conforms(sw.definition("ErrorResponse"), body)


# ---------------------------------------------------------------- distribution
def test_distribution_inspect_of_a_local_registry_image(daemon, tmp_path):
    from .test_own_registry import start_registry

    host, proc = start_registry(tmp_path, {})
    ref = f"{host}/schema/box:1"
    try:
        daemon.docker("tag", "busybox", ref)
        daemon.docker("push", ref)
        conforms(sw.response_schema("/distribution/{name}/json"), get_ok(daemon, f"/distribution/{ref}/json"))
    finally:
        daemon.docker("rmi", ref, check=False)
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- events
def test_one_event(daemon, scene):
    since = int(time.time()) - 600
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        s.sendall(f"GET /events?since={since}&until={int(time.time()) + 1}&filters="
                  f"{quote(json.dumps({'type': ['container']}))} HTTP/1.0\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    lines = [ln for ln in raw.split(b"\r\n\r\n", 1)[1].splitlines() if ln.startswith(b"{")]
    assert lines
    for line in lines:
        conforms(sw.response_schema("/events"), json.loads(line))


# ---------------------------------------------------------------- what `docker inspect` users see
def test_inspect_log_config_names_the_driver_in_use(daemon):
    """The docker CLI sends LogConfig {"Type": "", "Config": {}}; dockerd fills in the driver it uses, so
    inspect never shows an empty (and, by the spec's enum, illegal) log driver."""
    cid = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        shown = daemon.docker("inspect", "-f", "{{json .HostConfig.LogConfig}}", cid).stdout.strip()
        assert shown == '{"Type":"json-file","Config":{}}'
    finally:
        daemon.docker("rm", cid)
    status, body = daemon.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {"LogConfig": None}})
    assert status == 201
    try:
        assert get_ok(daemon, f"/containers/{body['Id']}/json")["HostConfig"]["LogConfig"] == {
            "Type": "json-file", "Config": {}}
    finally:
        daemon.api("DELETE", f"/containers/{body['Id']}")


def test_volume_labels_and_options_are_kept_as_sent(daemon):
    """dockerd stores a create request's Labels and DriverOpts as they came: null when absent (docker CLI 28
    leaves them out), {} when sent empty (older CLIs, SDKs); CreatedAt is Go's RFC 3339 in whole seconds; a
    volume the daemon names itself carries com.docker.volume.anonymous."""
    daemon.docker("volume", "create", "schema-cli-vol")
    status, _ = daemon.api("POST", "/volumes/create", {"Name": "schema-sdk-vol", "Labels": {}, "DriverOpts": {}})
    assert status == 201
    anon = daemon.docker("volume", "create").stdout.strip()
    try:
        vol = json.loads(daemon.docker("volume", "inspect", "schema-cli-vol").stdout)[0]
        assert (vol["Labels"], vol["Options"]) == (None, None)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", vol["CreatedAt"]), vol["CreatedAt"]
        sdk_vol = json.loads(daemon.docker("volume", "inspect", "schema-sdk-vol").stdout)[0]
        assert (sdk_vol["Labels"], sdk_vol["Options"]) == ({}, {})
        anon_vol = json.loads(daemon.docker("volume", "inspect", anon).stdout)[0]
        assert anon_vol["Labels"] == {"com.docker.volume.anonymous": ""}
        listed = {v["Name"]: v for v in get_ok(daemon, "/volumes")["Volumes"]}
        assert (listed["schema-sdk-vol"]["Labels"], listed["schema-cli-vol"]["Labels"]) == ({}, None)
        assert listed[anon]["Labels"] == {"com.docker.volume.anonymous": ""}
    finally:
        daemon.docker("volume", "rm", "schema-cli-vol", "schema-sdk-vol", anon)


BUSYBOX_CONFIG_V1_50 = {"Cmd": ["sh"], "Entrypoint": None, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                                                   "/usr/bin:/sbin:/bin"],
                        "Labels": None, "OnBuild": None, "User": "", "Volumes": None, "WorkingDir": ""}


def test_image_inspect_config_is_docker_28s(daemon):
    """dockerd 28 (API 1.50) shows an image's Config as the OCI config plus the legacy fields it always sent,
    keys sorted (they pass through a Go map); no VirtualSize since API 1.44, nor container-only fields."""
    image = json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]
    assert image["Config"] == BUSYBOX_CONFIG_V1_50
    assert list(image["Config"]) == sorted(image["Config"])
    assert "VirtualSize" not in image
    cid = daemon.docker("create", "--name", "schema-commit-src", "-e", "A=1", "busybox", "true").stdout.strip()
    try:
        daemon.docker("commit", cid, "schema-committed")
        committed = json.loads(daemon.docker("image", "inspect", "schema-committed").stdout)[0]["Config"]
        assert not {"Hostname", "Domainname", "AttachStdout", "Tty", "Image", "OpenStdin"} & set(committed)
        assert committed["Env"][-1] == "A=1" and committed["Volumes"] is None
    finally:
        daemon.docker("rm", cid)
        daemon.docker("rmi", "schema-committed")
    assert all("VirtualSize" not in img for img in get_ok(daemon, "/images/json"))


def test_older_api_versions_still_get_their_image_fields(daemon):
    """What moby keeps for old clients: VirtualSize before 1.44, the container-style Config before 1.50."""
    listed = get_ok(daemon, "/v1.43/images/json")
    assert all(img["VirtualSize"] == img["Size"] for img in listed)
    old = get_ok(daemon, "/v1.49/images/busybox/json")["Config"]
    assert (old["Hostname"], old["AttachStdin"], old["Image"], old["Cmd"]) == ("", False, "", ["sh"])
    assert "Hostname" not in get_ok(daemon, "/v1.50/images/busybox/json")["Config"]
    assert get_ok(daemon, "/v1.43/system/df")["Images"][0]["VirtualSize"] > 0


def write_image_archive(path, config: dict, tag: str) -> None:
    """A docker-archive of one small layer and the given image config (rootfs filled in)."""
    layer_bytes = tar_bytes({"hello.txt": b"hello\n"})
    config = {**config, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]}}
    path.write_bytes(tar_bytes({"layer.tar": layer_bytes, "config.json": json.dumps(config).encode(),
                                "manifest.json": json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                                              "Layers": ["layer.tar"]}]).encode()}))


def test_image_without_a_created_time_omits_it(daemon, tmp_path):
    """An image config may lack `created` (it is optional in OCI); since API 1.44 dockerd leaves Created out
    of inspect rather than sending a non-time string."""
    archive = tmp_path / "nocreated.tar"
    write_image_archive(archive, {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello"]}},
                        "schema-nocreated:1")
    daemon.docker("load", "-i", str(archive))
    try:
        image = get_ok(daemon, "/images/schema-nocreated:1/json")
        assert "Created" not in image
        conforms(sw.response_schema("/images/{name}/json"), image)
    finally:
        daemon.docker("rmi", "schema-nocreated:1")


def test_version_has_no_empty_build_time(daemon):
    """BuildTime is a time; Go's `omitempty` leaves it out when the engine has none, never ""."""
    body = get_ok(daemon, "/version")
    assert body.get("BuildTime", "2024-01-01T00:00:00Z") != ""
    conforms(sw.response_schema("/version"), body)


def test_volume_mount_modes_as_docker_shows_them(daemon):
    """dockerd gives a local volume from -v NAME:/path or --mount no-mode "z" (setBindModeIfNull); one from
    `-v /path` (Config.Volumes) keeps "", and a mode given stays as given."""
    cid = daemon.docker("create", "-v", "schema-mode-a:/a", "-v", "/b", "--mount", "type=volume,target=/c",
                        "--mount", "type=volume,src=schema-mode-d,dst=/d,readonly", "-v", "schema-mode-e:/e:ro",
                        "busybox", "true").stdout.strip()
    try:
        mounts = json.loads(daemon.docker("inspect", "-f", "{{json .Mounts}}", cid).stdout)
        assert {m["Destination"]: m["Mode"] for m in mounts} == {"/a": "z", "/b": "", "/c": "z", "/d": "z",
                                                                  "/e": "ro"}
        listed = get_ok(daemon, "/containers/json?all=1&filters=" + quote(json.dumps({"id": [cid]})))
        assert {m["Destination"]: m["Mode"] for m in listed[0]["Mounts"]}["/a"] == "z"
    finally:
        daemon.docker("rm", "-v", cid)
        daemon.docker("volume", "rm", "schema-mode-a", "schema-mode-d", "schema-mode-e")

