"""systemd socket activation: which descriptors LISTEN_PID/LISTEN_FDS hand over, and what `-H fd://[N]` takes."""
import pytest

from dockyard.daemon.socket_activation import fds_for_host, listen_fds
from dockyard.errors import DockyardError


def test_fds_start_at_3_and_count_listen_fds():
    assert listen_fds({"LISTEN_PID": "42", "LISTEN_FDS": "2"}, 42) == [3, 4]


@pytest.mark.parametrize("environ", [
    {},                                          # not started by systemd
    {"LISTEN_PID": "41", "LISTEN_FDS": "2"},     # meant for another process (we inherited them)
    {"LISTEN_PID": "42"},                        # no count
    {"LISTEN_PID": "x", "LISTEN_FDS": "1"},      # garbage
    {"LISTEN_PID": "42", "LISTEN_FDS": "0"},
])
def test_no_fds_unless_meant_for_this_process(environ):
    assert listen_fds(environ, 42) == []


def test_fd_scheme_alone_takes_all():
    assert fds_for_host("fd://", [3, 4]) == [3, 4]
    assert fds_for_host("fd://*", [3, 4]) == [3, 4]


def test_fd_number_takes_that_one():
    assert fds_for_host("fd://4", [3, 4]) == [4]


def test_dockerds_errors():
    with pytest.raises(DockyardError, match="^no sockets found via socket activation: make sure the service was "
                                            "started by systemd$"):
        fds_for_host("fd://", [])
    with pytest.raises(DockyardError, match="^too few socket activated files passed in by systemd$"):
        fds_for_host("fd://5", [3, 4])
    with pytest.raises(DockyardError, match="^failed to parse systemd fd address: should be a number: x$"):
        fds_for_host("fd://x", [3])
