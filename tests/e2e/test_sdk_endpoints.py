"""Engine API endpoints as docker-py 7.1 (and the docker CLI) use them: exec TTY and resize, volume removal,
plugins and swarm on a non-swarm node, build squash, and `system df` by object type."""
from __future__ import annotations

import io
import time

import pytest

docker = pytest.importorskip("docker")

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
                 'this node to swarm and try again.')


@pytest.fixture
def api(daemon):
    client = docker.APIClient(base_url=daemon.host, version="1.50")
    yield client
    client.close()


@pytest.fixture
def sleeper(api):
    cid = api.create_container("busybox", ["sleep", "60"])["Id"]
    api.start(cid)
    yield cid
    api.remove_container(cid, force=True)


def wait_exec_done(api, exec_id, timeout=10.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = api.exec_inspect(exec_id)
        if not info["Running"] and info["ExitCode"] is not None:
            return info
        time.sleep(0.1)
    raise AssertionError(f"exec {exec_id} still running after {timeout}s")


def exec_output(api, cid, cmd) -> str:
    exec_id = api.exec_create(cid, cmd)["Id"]
    return api.exec_start(exec_id).decode()


# ---------------------------------------------------------------- exec TTY comes from the create config
def test_detached_tty_exec_runs_with_a_pty(api, sleeper):
    exec_id = api.exec_create(sleeper, ["sh", "-c", "tty > /tmp/ttyname"], tty=True)["Id"]
    api.exec_start(exec_id, detach=True)
    info = wait_exec_done(api, exec_id)
    assert info["ExitCode"] == 0 and info["ProcessConfig"]["tty"] is True
    assert exec_output(api, sleeper, ["cat", "/tmp/ttyname"]).startswith("/dev/pts/")


def test_attached_exec_gets_its_pty_from_the_create_config(api, sleeper):
    # docker-py's exec_start defaults to tty=False: the process still has a pty, the stream is framed
    exec_id = api.exec_create(sleeper, ["tty"], tty=True)["Id"]
    assert api.exec_start(exec_id).decode().startswith("/dev/pts/")
    assert api.exec_inspect(exec_id)["ExitCode"] == 0


def test_exec_created_without_tty_gets_none_even_if_started_with_tty(api, sleeper):
    exec_id = api.exec_create(sleeper, ["tty"])["Id"]
    assert api.exec_start(exec_id, tty=True).decode() == "not a tty\n"
    assert wait_exec_done(api, exec_id)["ExitCode"] == 1


# ---------------------------------------------------------------- exec resize without a running exec
def assert_api_error(call, status: int, message: str):
    with pytest.raises(docker.errors.APIError) as info:
        call()
    assert info.value.status_code == status
    assert info.value.explanation == message
    return info.value


def test_exec_resize_of_finished_or_unstarted_exec_is_a_conflict(api, sleeper):
    finished = api.exec_create(sleeper, ["true"])["Id"]
    api.exec_start(finished)
    wait_exec_done(api, finished)
    assert_api_error(lambda: api.exec_resize(finished, height=10, width=40), 409,
                     f"Exec {finished} is not running")
    unstarted = api.exec_create(sleeper, ["true"], tty=True)["Id"]
    assert_api_error(lambda: api.exec_resize(unstarted, height=10, width=40), 409,
                     f"Exec {unstarted} is not running")


def test_exec_resize_of_missing_exec_is_not_found(api):
    missing = "0" * 64
    assert_api_error(lambda: api.exec_resize(missing, height=10, width=40), 404,
                     f"No such exec instance: {missing}")


def test_exec_resize_of_running_tty_exec(api, sleeper):
    exec_id = api.exec_create(sleeper, ["sleep", "3"], tty=True)["Id"]
    api.exec_start(exec_id, detach=True)
    api.exec_resize(exec_id, height=12, width=34)
    assert api.exec_inspect(exec_id)["Running"] is True


# ---------------------------------------------------------------- volumes
# docker-py 7.1's remove_volume(force=True) never sends `force` (it hands params to _url, which drops them),
# so it gets Docker's 404 too; the daemon's side is checked with the raw API and the docker CLI.
def test_forced_removal_of_missing_volume_succeeds(daemon):
    assert daemon.api("DELETE", "/v1.50/volumes/sdk-missing-volume?force=1") == (204, None)
    assert daemon.api("DELETE", "/v1.50/volumes/sdk-missing-volume") == \
        (404, {"message": "get sdk-missing-volume: no such volume"})
    assert daemon.docker("volume", "rm", "-f", "sdk-missing-volume").returncode == 0


def test_forced_removal_of_missing_volume_emits_no_event(daemon, api):
    since = int(time.time())
    daemon.api("DELETE", "/v1.50/volumes/sdk-missing-quiet?force=1")
    api.create_volume("sdk-present")
    daemon.api("DELETE", "/v1.50/volumes/sdk-present?force=1")
    events = api.events(since=since, until=int(time.time()) + 1, decode=True, filters={"type": "volume"})
    # `since` is whole seconds: other tests' volumes destroyed in the same second are not this test's
    destroyed = [e["Actor"]["ID"] for e in events if e["Action"] == "destroy"
                 and e["Actor"]["ID"] in ("sdk-missing-quiet", "sdk-present")]
    assert destroyed == ["sdk-present"]


# ---------------------------------------------------------------- plugins and swarm on a non-swarm node
def test_plugins_list_is_empty(daemon):
    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    try:
        assert client.plugins.list() == []
        with pytest.raises(docker.errors.NotFound) as info:
            client.plugins.get("sdk/none")
        assert info.value.explanation == 'plugin "sdk/none" not found'
    finally:
        client.close()


@pytest.mark.parametrize("call", ["inspect_swarm", "nodes", "services", "tasks", "secrets", "configs",
                                  "get_unlock_key"])
def test_swarm_endpoints_need_a_manager(api, call):
    assert_api_error(getattr(api, call), 503, NOT_A_MANAGER)


def test_swarm_leave_outside_a_swarm(api):
    assert_api_error(api.leave_swarm, 503, "This node is not part of a swarm")


def test_cli_plugin_ls_and_node_ls(daemon):
    plugins = daemon.docker("plugin", "ls")
    assert plugins.stdout.split() == ["ID", "NAME", "DESCRIPTION", "ENABLED"]
    nodes = daemon.docker("node", "ls", check=False)
    assert nodes.returncode == 1 and nodes.stdout == ""
    assert nodes.stderr.strip() == f"Error response from daemon: {NOT_A_MANAGER}"


# ---------------------------------------------------------------- build --squash
def test_build_squash_needs_experimental_mode(api):
    dockerfile = io.BytesIO(b"FROM busybox\nRUN true\n")
    assert_api_error(lambda: list(api.build(fileobj=dockerfile, squash=True)), 400,
                     "squash is only supported with experimental mode")


# ---------------------------------------------------------------- system df by type
def test_system_df_computes_only_the_requested_types(daemon, api):
    api.create_volume("sdk-df-volume")
    try:
        status, usage = daemon.api("GET", "/v1.50/system/df?type=volume")
        assert status == 200
        assert "sdk-df-volume" in [v["Name"] for v in usage["Volumes"]]
        assert (usage["Images"], usage["Containers"], usage["BuildCache"], usage["LayersSize"]) == \
            (None, None, None, 0)
        status, usage = daemon.api("GET", "/v1.50/system/df?type=image&type=container")
        assert status == 200 and usage["Volumes"] is None and usage["BuildCache"] is None
        assert "busybox:latest" in [t for img in usage["Images"] for t in img["RepoTags"] or []]
        assert usage["LayersSize"] > 0 and isinstance(usage["Containers"], list)
    finally:
        api.remove_volume("sdk-df-volume")


def test_system_df_rejects_unknown_types(daemon):
    assert daemon.api("GET", "/v1.50/system/df?type=bogus") == (400, {"message": "unknown object type: bogus"})


def test_system_df_before_api_1_42_ignores_type(daemon):
    status, usage = daemon.api("GET", "/v1.41/system/df?type=volume")
    assert status == 200
    assert all(usage[key] is not None for key in ("Images", "Containers", "Volumes"))
    assert usage["BuildCache"] is None and usage["BuilderSize"] == 0  # dockerd 20.10's empty BuildKit cache
