"""The daemon's own options and life cycle, each on a daemon of the test's own: -H twice, --pidfile,
--config-file, the socket's mode and group, SIGTERM, --log-level, -s vfs; the SQLite journal; /events filters."""
from __future__ import annotations

import grp
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from .daemon_harness import DOCKER, ROOT, cleanup_daemon, new_daemon


@pytest.fixture
def own_daemon(tmp_path, busybox_tar):
    """A daemon made (not started) for the test, with extra flags set by the test; always cleaned up."""
    made = []

    def make(*extra_args: str, load_busybox: bool = True):
        d = new_daemon(tmp_path / f"d{len(made)}", extra_args=list(extra_args))
        made.append(d)
        d.start()
        if load_busybox:
            d.docker("load", "-i", str(busybox_tar))
        return d

    yield make
    for d in made:
        cleanup_daemon(d)


def run_daemon_briefly(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Start a daemon that is expected to refuse to start; returns how it exited."""
    base = [sys.executable, "-m", "dockyard.cmd.dockyardd", "-H", f"unix://{tmp_path}/refused.sock",
            "--data-root", str(tmp_path / "data"), "--exec-root", str(tmp_path / "exec")]
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=30, cwd=ROOT)


# ------------------------------------------------------------------------------------------------ -H, pidfile
def test_two_hosts_both_answer(tmp_path):
    d = new_daemon(tmp_path / "d")
    second = d.exec_root / "second.sock"
    d.extra_args = ["-H", f"unix://{second}"]
    d.start()
    try:
        for host in (d.host, f"unix://{second}"):
            out = subprocess.run([DOCKER, "-H", host, "version", "--format", "{{.Server.Version}}"],
                                 capture_output=True, text=True, timeout=30)
            assert out.returncode == 0 and out.stdout.strip(), out.stderr
        assert d.stop() == 0
        assert not second.exists() and not d.socket.exists()  # a clean shutdown removes every socket
    finally:
        cleanup_daemon(d)


def test_pidfile_is_written_and_removed_on_exit(own_daemon, tmp_path):
    pidfile = tmp_path / "run" / "dockyard.pid"
    d = own_daemon("--pidfile", str(pidfile), load_busybox=False)
    assert pidfile.read_text().strip() == str(d.proc.pid)
    assert d.stop() == 0
    assert not pidfile.exists()


# ------------------------------------------------------------------------------------------------ config file
def test_config_file_is_applied(own_daemon, tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"registry-mirrors": ["https://mirror.example.test"],
                               "runtimes": {"fromfile": {"path": "runc"}}}))
    d = own_daemon("--config-file", str(cfg), load_busybox=False)
    info = json.loads(d.docker("info", "--format", "{{json .}}").stdout)
    assert info["RegistryConfig"]["Mirrors"] == ["https://mirror.example.test"]
    assert set(info["Runtimes"]) == {"runc", "fromfile"}
    assert "https://mirror.example.test" in d.docker("info").stdout


def test_sighup_reloads_the_config_file_and_sends_a_daemon_reload_event(own_daemon, tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"registry-mirrors": ["https://before.example.test"]}))
    d = own_daemon("--config-file", str(cfg), load_busybox=False)

    def info() -> dict:
        return json.loads(d.docker("info", "--format", "{{json .}}").stdout)

    def reload_events(since: float) -> list[dict]:
        out = d.docker("events", "--since", str(since), "--until", str(time.time() + 0.3), "--filter",
                       "type=daemon", "--format", "{{json .}}").stdout
        return [json.loads(line) for line in out.splitlines()]

    since = time.time() - 0.2
    cfg.write_text(json.dumps({"registry-mirrors": ["https://after.example.test"],
                               "insecure-registries": ["registry.example.test:5000", "10.99.0.0/16"],
                               "runtimes": {"other": {"path": "runc"}}}))
    os.kill(d.proc.pid, signal.SIGHUP)
    deadline = time.time() + 10
    while info()["RegistryConfig"]["Mirrors"] != ["https://after.example.test"] and time.time() < deadline:
        time.sleep(0.1)
    now = info()
    assert now["RegistryConfig"]["Mirrors"] == ["https://after.example.test"]
    assert set(now["Runtimes"]) == {"runc", "other"}
    text = d.docker("info").stdout
    assert "Insecure Registries:\n  registry.example.test:5000\n" in text and "  10.99.0.0/16\n" in text
    events = reload_events(since)
    assert [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in events] == [("daemon", "reload", now["ID"])]
    attrs = events[0]["Actor"]["Attributes"]
    assert json.loads(attrs["registry-mirrors"]) == ["https://after.example.test"]
    assert attrs["name"] == now["Name"] and attrs["runtimes"] == "other runc"
    # a file that cannot be applied changes nothing and sends no event; the daemon keeps serving
    bad_files = ("{not json", json.dumps({"registry-mirrors": ["https://bad.example.test"], "log-level": "info"}))
    for refusals, bad in enumerate(bad_files, start=1):
        since = time.time()
        cfg.write_text(bad)
        os.kill(d.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while d.log_path.read_text().count("unable to configure the Docker daemon") < refusals:
            assert time.time() < deadline, d.log_path.read_text()[-2000:]
            time.sleep(0.1)
        assert info()["RegistryConfig"]["Mirrors"] == ["https://after.example.test"]
        assert reload_events(since) == []
    assert "specified both as a flag and in the configuration file: log-level" in d.log_path.read_text()


def test_config_file_with_an_unknown_key_is_refused(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"colour": "red"}))
    p = run_daemon_briefly(tmp_path, "--config-file", str(cfg))
    assert p.returncode == 1
    assert "the following directives don't match any configuration option: colour" in p.stderr


def test_a_setting_given_as_flag_and_in_the_config_file_is_refused(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"data-root": "/srv/elsewhere", "dns": ["10.0.0.53"]}))
    p = run_daemon_briefly(tmp_path, "--config-file", str(cfg), "--dns", "10.0.0.1")
    assert p.returncode == 1
    assert (f"unable to configure the Docker daemon with file {cfg}: the following directives are specified "
            f"both as a flag and in the configuration file: data-root: (from flag: {tmp_path / 'data'}, "
            f"from file: /srv/elsewhere), dns: (from flag: [10.0.0.1], from file: [10.0.0.53])") in p.stderr
    assert not (tmp_path / "refused.sock").exists()


# ------------------------------------------------------------------------------------------------ socket
def test_socket_is_mode_0660_and_owned_by_the_dockyard_group(own_daemon):
    created = False
    try:
        grp.getgrnam("dockyard")
    except KeyError:
        subprocess.run(["groupadd", "--system", "dockyard"], check=True)
        created = True
    try:
        d = own_daemon(load_busybox=False)
        st = os.stat(d.socket)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == grp.getgrnam("dockyard").gr_gid
        assert st.st_uid == os.getuid()  # the owner stays the daemon's user
    finally:
        if created:
            subprocess.run(["groupdel", "dockyard"], check=False)


# ------------------------------------------------------------------------------------------------ SIGTERM
def test_sigterm_exits_0_and_running_containers_are_adopted_on_restart(own_daemon):
    d = own_daemon()
    cid = d.docker("run", "-d", "busybox", "sleep", "300").stdout.strip()
    pid = int(d.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    assert d.stop() == 0
    assert not d.socket.exists()
    os.kill(pid, 0)  # still running without the daemon
    d.start()
    assert d.docker("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", cid).stdout.split() == ["true", str(pid)]
    assert d.docker("exec", cid, "echo", "adopted").stdout == "adopted\n"
    d.docker("stop", "-t", "1", cid)
    assert d.docker("inspect", "-f", "{{.State.Running}}", cid).stdout.strip() == "false"


# ------------------------------------------------------------------------------------------------ log level
@pytest.mark.parametrize("level", ["debug", "info", "warn", "error", "fatal"])
def test_log_level_values(own_daemon, level):
    d = own_daemon("--log-level", level, load_busybox=False)  # the last --log-level given wins
    assert d.docker("info", "--format", "{{.Debug}}").stdout.strip() == str(level == "debug").lower()
    d.stop()
    listening = "API listening on" in d.log_path.read_text()  # an INFO message
    assert listening == (level in ("debug", "info"))


def test_an_unknown_log_level_is_refused(tmp_path):
    p = run_daemon_briefly(tmp_path, "--log-level", "verbose")
    assert p.returncode == 2
    assert "Invalid value for '-l' / '--log-level'" in p.stderr


# ------------------------------------------------------------------------------------------------ storage
def test_vfs_storage_driver_runs_commits_and_builds(own_daemon, tmp_path):
    d = own_daemon("-s", "vfs")
    assert d.docker("info", "--format", "{{.Driver}}").stdout.strip() == "vfs"
    assert d.docker("run", "--rm", "busybox", "echo", "on vfs").stdout == "on vfs\n"
    d.docker("run", "--name", "vfsnote", "busybox", "sh", "-c", "echo committed > /note")
    d.docker("commit", "vfsnote", "vfs/commit:1")
    assert d.docker("run", "--rm", "vfs/commit:1", "cat", "/note").stdout == "committed\n"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n")
    d.docker("build", "-q", "-t", "vfs/build:1", str(tmp_path / "ctx"))
    assert d.docker("run", "--rm", "vfs/build:1", "cat", "/built").stdout == "built\n"
    assert (d.data_root / "layers" / "vfs").is_dir()
    # restarted without -s, the daemon keeps the driver its layers are in
    d.stop()
    d.extra_args = []
    d.start()
    assert d.docker("info", "--format", "{{.Driver}}").stdout.strip() == "vfs"
    assert d.docker("run", "--rm", "vfs/commit:1", "cat", "/note").stdout == "committed\n"


def test_an_unknown_storage_driver_is_refused(tmp_path):
    p = run_daemon_briefly(tmp_path, "--storage-driver", "zfs-nope")
    assert p.returncode == 1
    assert "driver not supported: zfs-nope" in p.stderr


# ------------------------------------------------------------------------------------------------ SQLite
def test_metadata_database_uses_wal(daemon):
    db = sqlite3.connect(daemon.data_root / "dockyard.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


# ------------------------------------------------------------------------------------------------ /events
def test_events_refuses_an_unknown_filter(daemon):
    p = daemon.docker("events", "--since", "0", "--until", "1", "--filter", "colour=red", check=False)
    assert p.returncode == 1
    assert "invalid filter 'colour'" in p.stderr


def test_events_filters_by_network_volume_and_daemon(daemon):
    since = str(time.time() - 0.5)
    daemon.docker("network", "create", "evnet")
    daemon.docker("volume", "create", "evvol")
    cid = daemon.docker("create", "--name", "evctr", "busybox", "true").stdout.strip()
    daemon.docker("rm", cid)
    daemon.docker("volume", "rm", "evvol")
    daemon.docker("network", "rm", "evnet")
    until = str(time.time() + 0.5)
    time.sleep(0.6)
    daemon_id = daemon.docker("info", "--format", "{{.ID}}").stdout.strip()

    def seen(*filters: str) -> list[str]:
        return daemon.docker("events", "--since", since, "--until", until, *filters,
                             "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}").stdout.splitlines()

    network = [line.rsplit(" ", 1)[0] for line in seen("--filter", "network=evnet")]
    assert network == ["network create", "network destroy"]
    assert seen("--filter", "volume=evvol") == ["volume create evvol", "volume destroy evvol"]
    assert seen("--filter", "container=evctr") == [f"container create {cid}", f"container destroy {cid}"]
    assert seen("--filter", f"daemon={daemon_id}") == []  # none of these is a daemon event
    assert len(seen("--filter", "type=network", "--filter", "type=volume")) >= 4
