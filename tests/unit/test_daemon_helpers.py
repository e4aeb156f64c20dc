"""Small daemon helpers whose output users read: durations, statuses, filters, detach keys, signals."""
import asyncio

import pytest

from dockyard.daemon.attach import EscapeProxy, parse_detach_keys
from dockyard.daemon.container_record import State
from dockyard.filters import Filters
from dockyard.daemon.health import probe_command
from dockyard.units import human_duration, parse_duration
from dockyard.daemon.names import random_name, validate_name
from dockyard.signals import parse_signal
from dockyard.timefmt import parse_rfc3339, parse_time_filter, rfc3339
from dockyard.errors import InvalidParameter


@pytest.mark.parametrize("seconds,text", [
    (0.5, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (59, "59 seconds"), (60, "About a minute"),
    (150, "2 minutes"), (3600, "About an hour"), (3 * 3600, "3 hours"), (3 * 86400, "3 days"),
    (20 * 86400, "2 weeks"), (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds, text):
    assert human_duration(seconds) == text


def test_status_strings_like_docker_ps():
    now = 1_700_000_000.0
    st = State()
    assert st.human(now) == "Created"
    st.set_running(42, rfc3339(int((now - 125) * 1e9)))
    assert st.human(now) == "Up 2 minutes"
    st.Paused = True
    assert st.human(now) == "Up 2 minutes (Paused)"
    st.set_exited(3, rfc3339(int((now - 3) * 1e9)))
    assert st.human(now) == "Exited (3) 3 seconds ago"


def test_rfc3339_round_trip_keeps_nanoseconds():
    ns = 1_700_000_000_123_456_789
    s = rfc3339(ns)
    assert s == "2023-11-14T22:13:20.123456789Z"
    assert abs(parse_rfc3339(s) - ns / 1e9) < 1e-6
    assert parse_rfc3339("0001-01-01T00:00:00Z") == 0


def test_time_filters_accept_timestamps_durations_and_dates():
    assert parse_time_filter("1700000000.5") == 1700000000.5
    assert parse_time_filter("10m", now=1000.0) == 400.0
    assert parse_time_filter("2023-11-14") == 1699920000.0


def test_filters_parse_both_json_forms_and_reject_unknown_keys():
    assert Filters.parse('{"dangling":["true"]}').bool("dangling") is True
    assert Filters.parse('{"dangling":{"true":true}}').bool("dangling") is True
    with pytest.raises(InvalidParameter, match="invalid filter 'colour'"):
        Filters.parse('{"colour":["red"]}').validate({"dangling"})


def test_label_filters():
    f = Filters({"label": ["a", "b=2"], "label!": ["c"]})
    assert f.match_labels({"a": "x", "b": "2"})
    assert not f.match_labels({"a": "x", "b": "3"})
    assert not f.match_labels({"a": "x", "b": "2", "c": ""})


def test_detach_keys_and_escape_proxy():
    keys = parse_detach_keys(None)
    assert keys == b"\x10\x11"
    proxy = EscapeProxy(keys)
    assert proxy.feed(b"ab\x10") == (b"ab", False)  # partial match is held back
    assert proxy.feed(b"c") == (b"\x10c", False)     # ... and released when it does not complete
    assert proxy.feed(b"x\x10\x11") == (b"x", True)
    with pytest.raises(InvalidParameter, match="Invalid escape keys"):
        parse_detach_keys("ctrl-1x")


def test_names():
    name = random_name(set())
    adjective, _, surname = name.partition("_")
    assert adjective and surname
    assert validate_name("/web") == "web"
    with pytest.raises(InvalidParameter, match=r"Invalid container name \(-x\)"):
        validate_name("-x")


def test_signals():
    assert parse_signal("SIGTERM") == 15
    assert parse_signal("KILL") == 9
    assert parse_signal("10") == 10
    with pytest.raises(InvalidParameter):
        parse_signal("NOPE")


@pytest.mark.parametrize("text,seconds", [("1m30s", 90.0), ("500ms", 0.5), ("0", 0.0), ("1.5h", 5400.0),
                                          ("2us", 2e-6), ("-1s", -1.0)])
def test_go_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "", "s", "1x", "1s garbage"])
def test_bad_go_durations_say_so_like_go(text):
    with pytest.raises(ValueError, match=f'time: invalid duration "{text}"'):
        parse_duration(text)


def test_health_probe_commands():
    assert probe_command({}) is None
    assert probe_command({"Healthcheck": {"Test": ["NONE"]}}) is None
    assert probe_command({"Healthcheck": {"Test": ["CMD", "curl", "-f", "x"]}}) == ["curl", "-f", "x"]
    assert probe_command({"Healthcheck": {"Test": ["CMD-SHELL", "exit 1"]}}) == ["/bin/sh", "-c", "exit 1"]
    assert probe_command({"Healthcheck": {"Test": ["CMD-SHELL", "exit 1"]}, "Shell": ["/bin/ash", "-ec"]}) == \
        ["/bin/ash", "-ec", "exit 1"]


def test_restart_back_off_doubles_to_a_minute_and_resets_after_a_long_run():
    from dockyard.daemon.restart import RestartManager

    restarts = RestartManager(store=None, start=None, exited=None, spawn=None)  # the back-off needs none of them
    delays = [restarts.next_delay("c", ran_for=1) for _ in range(12)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and delays[-1] == 60.0  # moby: 100 ms doubling, at most 1 min
    assert restarts.next_delay("c", ran_for=10) == 0.1  # ran 10 s: back to 100 ms
    assert restarts.next_delay("c", ran_for=0) == 0.2
    restarts.forget("c")
    assert restarts.next_delay("c", ran_for=1) == 0.1  # a removed container's back-off goes with it


def test_a_restart_that_finds_its_container_removed_leaves_no_lock_behind(tmp_path):
    """`rm -f` of a container waiting to restart: the wait ends without a record and, before this, left one
    lock per such container in the store's map for the life of the daemon."""
    from dockyard.daemon.container_store import ContainerStore
    from dockyard.daemon.restart import RestartManager
    from dockyard.store.metadata import Metadata

    store = ContainerStore(Metadata(tmp_path / "md.db"))
    started = []

    async def scenario():
        waits = []
        restarts = RestartManager(store, start=started.append, exited=None,
                                  spawn=lambda coro: waits.append(asyncio.ensure_future(coro)))
        restarts.schedule("f" * 64, 0)  # its container is gone by the time the back-off ends
        await asyncio.gather(*waits)

    asyncio.run(scenario())
    assert started == [] and store._locks == {}


def test_an_attach_that_left_before_its_container_started_leaves_no_entry():
    from dockyard.daemon.monitors import MonitorTable

    async def connect(monitor):
        pass

    table = MonitorTable()
    table.add_pending_attach("c1", connect)
    table.drop_pending_attach("c1", connect)  # the client hung up; c1 may never start (or be removed)
    assert table._pending == {}
