"""Network counters of `docker stats`: a container's interfaces read from its init's /proc/<pid>/net/dev."""
from types import SimpleNamespace

from dockyard.daemon.stats import network_stats, parse_net_dev, stats_response

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     560       8    0    0    0     0          0         0      560       8    0    0    0     0       0          0
  eth0:    4206      31    1    2    0     0          0         0     1312      14    3    4    0     0       0          0
  eth1:      90       1    0    0    0     0          0         0       42       1    0    0    0     0       0          0
"""


def container(mode="bridge", pid=4242):
    return SimpleNamespace(name="c", id="f" * 64, host_config={"NetworkMode": mode}, state=SimpleNamespace(Pid=pid))


def fake_proc(tmp_path, pid=4242, text=NET_DEV):
    (tmp_path / str(pid) / "net").mkdir(parents=True)
    (tmp_path / str(pid) / "net" / "dev").write_text(text)
    return tmp_path


def test_parse_net_dev_keeps_the_swagger_fields_and_drops_loopback():
    stats = parse_net_dev(NET_DEV)
    assert set(stats) == {"eth0", "eth1"}
    assert stats["eth0"] == {"rx_bytes": 4206, "rx_packets": 31, "rx_errors": 1, "rx_dropped": 2,
                             "tx_bytes": 1312, "tx_packets": 14, "tx_errors": 3, "tx_dropped": 4}


def test_bridged_container_reads_its_init_namespace(tmp_path):
    assert network_stats(container(), fake_proc(tmp_path))["eth1"]["tx_bytes"] == 42


def test_host_and_none_containers_have_no_networks(tmp_path):
    proc = fake_proc(tmp_path)
    assert network_stats(container(mode="host"), proc) == {}
    only_lo = "\n".join(NET_DEV.splitlines()[:3])
    assert network_stats(container(mode="none", pid=7), fake_proc(tmp_path, 7, only_lo)) == {}
    assert network_stats(container(pid=0), proc) == {}


def test_a_stopped_container_reports_no_networks():
    assert "networks" not in stats_response(container(), None, None)
