"""Log drivers through the real docker CLI: syslog, fluentd, gelf and journald send a container's lines to
collectors on 127.0.0.1 (or a journal socket of the test's own), `docker logs` still reads them (dual
logging), `docker info` lists the drivers, and bad options or an unreachable collector fail in moby's words."""
from __future__ import annotations

import json
import os

import pytest

from tests.logdrivers.receivers import Receiver, fluentd_messages, gelf_messages, journal_messages, syslog_messages

from .daemon_harness import cleanup_daemon, new_daemon

OUTPUT = ["busybox", "sh", "-c", "echo to-out; echo to-err >&2"]


@pytest.fixture
def receiver(request, tmp_path):
    proto = request.param
    r = Receiver(proto, str(tmp_path / "c.sock") if proto.startswith("unix") else None)
    yield r
    r.close()


def run_logged(daemon, name, *log_args):
    daemon.docker("run", "--name", name, *log_args, *OUTPUT)
    cid = daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
    logs = daemon.docker("logs", name)
    daemon.docker("rm", name)
    return cid, logs


@pytest.mark.parametrize("receiver", ["udp"], indirect=True)
def test_syslog_gets_each_line_at_its_severity_and_docker_logs_still_reads(daemon, receiver):
    cid, logs = run_logged(daemon, "sl1", "--log-driver", "syslog", "--log-opt", f"syslog-address={receiver.url()}",
                           "--log-opt", "syslog-facility=local3")
    got = sorted(receiver.wait_for(syslog_messages, 2))
    assert got == [("stderr", "to-err", 19, cid[:12]), ("stdout", "to-out", 19, cid[:12])]
    assert (logs.stdout, logs.stderr) == ("to-out\n", "to-err\n")


@pytest.mark.parametrize("receiver", ["tcp"], indirect=True)
def test_fluentd_records_carry_the_container_and_the_tag_template(daemon, receiver):
    cid, _ = run_logged(daemon, "fl1", "--log-driver", "fluentd", "--log-opt", f"fluentd-address={receiver.address}",
                        "--log-opt", "tag=docker.{{.Name}}")
    got = sorted(receiver.wait_for(fluentd_messages, 2), key=lambda m: m[0])
    assert [(m[0], m[1], m[2]) for m in got] == [("stderr", "to-err", "docker.fl1"), ("stdout", "to-out", "docker.fl1")]
    assert (got[0][3]["container_id"], got[0][3]["container_name"]) == (cid, "/fl1")


@pytest.mark.parametrize("receiver", ["udp"], indirect=True)
def test_gelf_messages_name_container_and_image(daemon, receiver):
    cid, _ = run_logged(daemon, "gl1", "--log-driver", "gelf", "--log-opt", f"gelf-address={receiver.url()}",
                        "--label", "team=blue", "--log-opt", "labels=team")
    got = sorted(receiver.wait_for(gelf_messages, 2), key=lambda m: m[0])
    assert [(m[0], m[1]) for m in got] == [("stderr", "to-err"), ("stdout", "to-out")]
    m = got[1][2]
    assert (m["_container_id"], m["_container_name"], m["_image_name"], m["_team"], m["level"]) == \
           (cid, "gl1", "busybox", "blue", 6)


def test_journald_entries_reach_the_journal_socket(tmp_path, busybox_tar, monkeypatch):
    journal = Receiver("unixgram", str(tmp_path / "journal.sock"))
    monkeypatch.setenv("DOCKYARD_JOURNAL_SOCKET", journal.address)  # the daemon started below inherits it
    d = new_daemon(tmp_path / "jd")
    try:
        d.start()
        d.docker("load", "-i", str(busybox_tar))
        d.docker("run", "--rm", "--name", "jd1", "--log-driver", "journald", *OUTPUT)
        got = sorted(journal.wait_for(journal_messages, 2), key=lambda m: m[0])
        assert [(m[0], m[1]) for m in got] == [("stderr", "to-err"), ("stdout", "to-out")]
        assert (got[0][2]["CONTAINER_NAME"], got[0][2]["IMAGE_NAME"]) == ("jd1", "busybox")
    finally:
        cleanup_daemon(d)
        journal.close()


def test_an_unreachable_collector_fails_the_start_in_mobys_words(daemon):
    p = daemon.docker("run", "--name", "fl-down", "--log-driver", "fluentd", "--log-opt",
                      "fluentd-address=127.0.0.1:1", "busybox", "echo", "never", check=False)
    assert p.returncode == 125
    assert ("failed to create task for container: failed to initialize logging driver: "
            "dial tcp 127.0.0.1:1: connect: connection refused") in p.stderr
    state = json.loads(daemon.docker("inspect", "-f", "{{json .State}}", "fl-down").stdout)
    assert (state["Running"], state["ExitCode"]) == (False, 128)
    daemon.docker("rm", "fl-down")


@pytest.mark.skipif(os.path.exists("/run/systemd/journal/socket"), reason="this host has a journal")
def test_journald_without_a_journal_is_refused(daemon):
    p = daemon.docker("run", "--rm", "--log-driver", "journald", "busybox", "true", check=False)
    assert p.returncode == 125 and "journald is not enabled on this host" in p.stderr


@pytest.mark.parametrize("args,message", [
    (["--log-driver", "gelf"], "gelf-address is a required parameter"),
    (["--log-driver", "syslog", "--log-opt", "max-size=1m"], "unknown log opt 'max-size' for syslog log driver"),
    (["--log-driver", "fluentd", "--log-opt", "fluentd-address=udp://127.0.0.1:5"],
     "invalid fluentd-address (udp://127.0.0.1:5): unsupported scheme: 'udp'"),
    (["--log-opt", "mode=fast"], "logger: logging mode not supported: fast"),
])
def test_bad_log_options_are_refused_at_create(daemon, args, message):
    before = daemon.docker("ps", "-aq").stdout
    p = daemon.docker("run", *args, "busybox", "true", check=False)
    assert p.returncode == 125 and message in p.stderr
    assert daemon.docker("ps", "-aq").stdout == before  # nothing was created


def test_cache_disabled_leaves_nothing_for_docker_logs(daemon):
    r = Receiver("udp")
    try:
        cid = daemon.docker("run", "-d", "--log-driver", "syslog", "--log-opt", f"syslog-address={r.url()}",
                            "--log-opt", "cache-disabled=true", "busybox", "echo", "only-remote").stdout.strip()
        daemon.docker("wait", cid)
        assert [m[1] for m in r.wait_for(syslog_messages, 1)] == ["only-remote"]
        p = daemon.docker("logs", cid, check=False)
        assert p.returncode == 1 and "configured logging driver does not support reading" in p.stderr
        daemon.docker("rm", cid)
    finally:
        r.close()


def test_docker_info_lists_the_log_drivers(daemon):
    listed = json.loads(daemon.docker("info", "--format", "{{json .Plugins.Log}}").stdout)
    assert listed == ["fluentd", "gelf", "journald", "json-file", "local", "syslog"]
