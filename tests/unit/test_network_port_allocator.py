"""Random host ports as dockerd hands them out: in order from the start of the ephemeral range."""
import socket

import pytest

from dockyard.network import ports


def test_ephemeral_range_read_from_the_kernel_file(tmp_path):
    f = tmp_path / "range"
    f.write_text("32768\t60999\n")
    assert ports.ephemeral_range(str(f)) == (32768, 60999)
    f.write_text("garbage\n")
    assert ports.ephemeral_range(str(f)) == ports.FALLBACK_RANGE
    assert ports.ephemeral_range(str(tmp_path / "missing")) == ports.FALLBACK_RANGE


def test_candidates_start_at_the_range_start_then_follow_the_last_given():
    alloc = ports.PortAllocator((40000, 40003))
    assert list(alloc.candidates("tcp", "0.0.0.0")) == [40000, 40001, 40002, 40003]
    alloc.given("tcp", "0.0.0.0", 40001)
    assert list(alloc.candidates("tcp", "0.0.0.0")) == [40002, 40003, 40000, 40001]
    # each address and protocol keeps its own place, as in dockerd's portallocator
    assert next(alloc.candidates("udp", "0.0.0.0")) == 40000
    assert next(alloc.candidates("tcp", "127.0.0.1")) == 40000


def test_wraps_around_at_the_end_of_the_range():
    alloc = ports.PortAllocator((40000, 40003))
    alloc.given("tcp", "0.0.0.0", 40003)
    assert next(alloc.candidates("tcp", "0.0.0.0")) == 40000


@pytest.fixture
def busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def test_bind_all_goes_in_order_and_skips_ports_in_use(monkeypatch, busy_port):
    monkeypatch.setattr(ports, "ALLOCATOR", ports.PortAllocator((busy_port, min(busy_port + 20, 65535))))
    first = ports.bind_all([("80/tcp", "127.0.0.1", "")])
    second = ports.bind_all([("80/tcp", "127.0.0.1", "0")])
    try:
        a, b = first[0].host_port, second[0].host_port
        assert busy_port < a < b <= busy_port + 20
    finally:
        ports.close_all(first + second)
    # the next request goes on after the last port given, even though both are free again
    third = ports.bind_all([("80/tcp", "127.0.0.1", "")])
    try:
        assert third[0].host_port > b
    finally:
        ports.close_all(third)
