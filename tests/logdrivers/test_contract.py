"""One contract for every log driver, run against each implementation with a real collector: what the
monitor's pipeline is fed reaches the destination line by line, in order, on the right stream, split at
16 KiB as docker splits; an unreachable destination fails the opening (which fails the start); unknown
options are refused in moby's words."""
from __future__ import annotations

import json

import pytest

from dockyard.runtime import logdrivers
from dockyard.runtime.logdrivers import ContainerInfo, Pipeline

from .receivers import Receiver, fluentd_messages, gelf_messages, journal_messages, syslog_messages

INFO = ContainerInfo(id="f" * 64, name="web", image_id="sha256:" + "a" * 64, image_name="busybox",
                     command="sh -c echo", created="2026-12-07T00:00:00Z", hostname="testhost",
                     attrs={"team": "blue"})
LONG = "x" * 20000
FED = [("stdout", b"hello world\n"), ("stderr", "oops: \u00fcn\u00efcode\n".encode()), ("stdout", LONG.encode() + b"\n")]
EXPECTED = [("stdout", "hello world"), ("stderr", "oops: \u00fcn\u00efcode"), ("stdout", "x" * 16384),
            ("stdout", "x" * (20000 - 16384))]

# (driver, receiver protocol, option builder, decoder, connection-oriented)
CASES = {
    "syslog-udp": ("syslog", "udp", lambda r: {"syslog-address": r.url()}, syslog_messages, False),
    "syslog-tcp-rfc5424": ("syslog", "tcp", lambda r: {"syslog-address": r.url(), "syslog-format": "rfc5424"},
                           syslog_messages, True),
    "syslog-unixgram-rfc3164": ("syslog", "unixgram", lambda r: {"syslog-address": r.url(), "syslog-format": "rfc3164"},
                                syslog_messages, False),
    "journald": ("journald", "unixgram", lambda r: {}, journal_messages, False),
    "fluentd-tcp": ("fluentd", "tcp", lambda r: {"fluentd-address": r.address}, fluentd_messages, True),
    "fluentd-unix": ("fluentd", "unix", lambda r: {"fluentd-address": r.url()}, fluentd_messages, True),
    "gelf-udp-gzip": ("gelf", "udp", lambda r: {"gelf-address": r.url()}, gelf_messages, False),
    "gelf-udp-zlib": ("gelf", "udp", lambda r: {"gelf-address": r.url(), "gelf-compression-type": "zlib"},
                      gelf_messages, False),
    "gelf-tcp": ("gelf", "tcp", lambda r: {"gelf-address": r.url()}, gelf_messages, True),
}


@pytest.fixture
def collector(request, tmp_path, monkeypatch):
    driver, proto, opts_for, decode, _ = CASES[request.param]
    r = Receiver(proto, str(tmp_path / "collector.sock") if proto.startswith("unix") else None)
    if driver == "journald":
        monkeypatch.setenv("DOCKYARD_JOURNAL_SOCKET", r.address)
    yield driver, opts_for(r), r, decode
    r.close()


def feed(pipeline: Pipeline) -> None:
    for stream, data in FED:
        pipeline.write(stream, data[:7])  # output arrives in pieces: lines are joined before they are sent
        pipeline.write(stream, data[7:])
    pipeline.flush()


@pytest.mark.parametrize("collector", list(CASES), indirect=True)
def test_every_line_arrives_in_order_on_its_stream(collector, tmp_path):
    driver, opts, receiver, decode = collector
    logdrivers.validate(driver, opts)
    pipeline = Pipeline(logdrivers.spec(driver, opts, INFO, str(tmp_path / "c-json.log")))
    pipeline.open()
    feed(pipeline)
    pipeline.close()
    got = receiver.wait_for(decode, len(EXPECTED))
    assert [(g[0], g[1]) for g in got] == EXPECTED
    # dual logging: the local cache `docker logs` reads has the same lines
    cached = [json.loads(line) for line in (tmp_path / "c-json.log").read_text().splitlines()]
    assert [(e["stream"], e["log"].rstrip("\n")) for e in cached] == EXPECTED


@pytest.mark.parametrize("collector", ["syslog-udp", "journald", "fluentd-tcp", "gelf-udp-gzip"], indirect=True)
def test_the_container_facts_each_protocol_carries(collector, tmp_path):
    driver, opts, receiver, decode = collector
    pipeline = Pipeline(logdrivers.spec(driver, {**opts, "tag": "{{.Name}}/{{.ID}}"}, INFO, None))
    pipeline.open()
    feed(pipeline)
    pipeline.close()
    first = receiver.wait_for(decode, 4)[0]
    tag = "web/" + "f" * 12
    if driver == "syslog":
        assert first[2:] == (3, tag)  # facility daemon, the tag as the program name
    elif driver == "journald":
        fields = first[2]
        assert (fields["CONTAINER_NAME"], fields["CONTAINER_ID_FULL"], fields["SYSLOG_IDENTIFIER"],
                fields["IMAGE_NAME"], fields["TEAM"]) == ("web", "f" * 64, tag, "busybox", "blue")
    elif driver == "fluentd":
        _, _, sent_tag, record, when = first
        assert sent_tag == tag and isinstance(when, int)
        assert (record["container_id"], record["container_name"], record["team"]) == ("f" * 64, "/web", "blue")
    else:
        m = first[2]
        assert (m["version"], m["host"], m["_container_name"], m["_image_name"], m["_tag"], m["_team"]) == \
               ("1.1", "testhost", "web", "busybox", tag, "blue")


@pytest.mark.parametrize("driver,opts,message", [
    ("fluentd", {"fluentd-address": "127.0.0.1:1"}, "dial tcp 127.0.0.1:1: connect: connection refused"),
    ("syslog", {"syslog-address": "tcp://127.0.0.1:1"}, "dial tcp 127.0.0.1:1: connect: connection refused"),
    ("gelf", {"gelf-address": "tcp://127.0.0.1:1"}, "gelf: cannot connect to GELF endpoint: 127.0.0.1:1"),
])
def test_an_unreachable_destination_fails_the_opening(driver, opts, message):
    pipeline = Pipeline(logdrivers.spec(driver, opts, INFO, None))
    with pytest.raises(OSError) as err:
        pipeline.open()
    assert message in (err.value.strerror or str(err.value))


def test_journald_without_a_journal_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKYARD_JOURNAL_SOCKET", str(tmp_path / "absent"))
    with pytest.raises(OSError, match="journald is not enabled on this host"):
        Pipeline(logdrivers.spec("journald", {}, INFO, None)).open()


@pytest.mark.parametrize("driver,opts,message", [
    ("syslog", {"bogus": "1"}, "unknown log opt 'bogus' for syslog log driver"),
    ("syslog", {"syslog-address": "http://x"}, "unsupported scheme: 'http'"),
    ("syslog", {"syslog-facility": "nope"}, "invalid syslog facility"),
    ("syslog", {"syslog-format": "xml"}, "invalid syslog format"),
    ("fluentd", {"bogus": "1"}, "unknown log opt 'bogus' for fluentd log driver"),
    ("fluentd", {"fluentd-address": "udp://127.0.0.1:1"}, "invalid fluentd-address (udp://127.0.0.1:1): unsupported scheme: 'udp'"),
    ("gelf", {}, "gelf-address is a required parameter"),
    ("gelf", {"gelf-address": "http://127.0.0.1:1"}, "gelf: endpoint needs to be TCP or UDP"),
    ("gelf", {"gelf-address": "udp://127.0.0.1"}, "gelf: please provide gelf-address as proto://host:port"),
    ("gelf", {"gelf-address": "tcp://127.0.0.1:1", "gelf-compression-type": "gzip"}, "compression is only supported on UDP"),
    ("journald", {"max-size": "1m"}, "unknown log opt 'max-size' for journald log driver"),
    ("json-file", {"fluentd-address": "x"}, "unknown log opt 'fluentd-address' for json-file log driver"),
    ("local", {"labels": "a"}, "unknown log opt 'labels' for local log driver"),
    ("json-file", {"mode": "fast"}, "logger: logging mode not supported: fast"),
    ("json-file", {"max-buffer-size": "1m"}, "logger: max-buffer-size option is only supported with 'mode=non-blocking'"),
    ("carrier-pigeon", {}, "logger: no log driver named 'carrier-pigeon' is registered"),
])
def test_bad_options_are_refused_in_mobys_words(driver, opts, message):
    with pytest.raises(ValueError) as err:
        logdrivers.validate(driver, opts)
    assert str(err.value) == message


def test_common_options_are_accepted_by_every_driver():
    for driver in logdrivers.NAMES:
        opts = {"mode": "non-blocking", "max-buffer-size": "4m", "cache-disabled": "false"}
        if driver == "gelf":
            opts["gelf-address"] = "udp://127.0.0.1:12201"
        logdrivers.validate(driver, opts)
