"""The engine's cgroup reads on both layouts: v1 (one hierarchy per controller) and v2 (unified, Debian 12's
default). The hierarchies here are directories shaped like /sys/fs/cgroup of each version."""
from dockyard.daemon.cgroup_info import cgroup_version, swap_limit
from dockyard.runtime.monitor import oom_kills
from dockyard.runtime.oci import OCIRuntime, cgroup_path

CID = "c0ffee" * 10 + "abcd"


def test_memory_cgroup_on_v2_is_the_containers_own(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert OCIRuntime.memory_cgroup(None, CID, str(tmp_path)) == f"{tmp_path}{cgroup_path(CID)}"


def test_memory_cgroup_on_v1_is_the_memory_controllers(tmp_path):
    (tmp_path / "memory").mkdir()
    assert OCIRuntime.memory_cgroup(None, CID, str(tmp_path)) == f"{tmp_path}/memory{cgroup_path(CID)}"


def test_no_memory_cgroup_without_either(tmp_path):
    assert OCIRuntime.memory_cgroup(None, CID, str(tmp_path)) is None


def test_oom_kills_counted_from_v1_oom_control(tmp_path):
    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert oom_kills(str(tmp_path)) == 1


def test_oom_kills_counted_from_v2_memory_events(tmp_path):
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n")
    assert oom_kills(str(tmp_path)) == 2
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
    assert oom_kills(str(tmp_path)) == 0


def test_no_oom_kills_without_the_files(tmp_path):
    assert oom_kills(str(tmp_path / "gone")) == 0


def test_info_on_v2_reads_the_unified_controllers(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    assert (cgroup_version(str(tmp_path)), swap_limit(str(tmp_path))) == ("2", True)
    (tmp_path / "cgroup.controllers").write_text("cpu pids\n")
    assert swap_limit(str(tmp_path)) is False


def test_info_on_v1_needs_swap_accounting(tmp_path):
    (tmp_path / "memory").mkdir()
    assert (cgroup_version(str(tmp_path)), swap_limit(str(tmp_path))) == ("1", False)
    (tmp_path / "memory" / "memory.memsw.limit_in_bytes").write_text("9223372036854771712\n")
    assert swap_limit(str(tmp_path)) is True
