"""runtime/sysinfo.py reads what the cgroups offer (v1 controller files or the v2 controller list); create
drops what the kernel lacks with moby's warnings; the OCI spec carries what is left."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.daemon.platform_checks import validate_platform_resources
from dockyard.daemon.storage_opts import OVERLAY_NEEDS_PQUOTA, VFS_NO_QUOTA, check_storage_opts
from dockyard.errors import InvalidParameter
from dockyard.runtime import sysinfo
from dockyard.runtime.spec import resources


def fake_v1(root: Path, files: dict[str, list[str]]) -> Path:
    for controller, names in files.items():
        (root / controller).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / controller / name).write_text("0\n")
    return root


def test_cgroup_v1_features_follow_the_controller_files(tmp_path):
    root = fake_v1(tmp_path, {"memory": ["memory.oom_control"],
                              "blkio": ["blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"],
                              "cpu": ["cpu.rt_runtime_us", "cpu.rt_period_us"]})
    info = sysinfo.probe(str(root))
    assert not info.cgroup2 and info.oom_kill_disable and info.cpu_realtime
    assert (info.blkio_weight, info.blkio_weight_device) == (False, False)  # no CFQ/BFQ weight files
    assert (info.blkio_read_bps_device, info.blkio_write_bps_device) == (True, False)
    (root / "blkio" / "blkio.bfq.weight").write_text("100\n")
    assert sysinfo.probe(str(root)).blkio_weight


def test_cgroup_v2_has_io_but_no_oom_switch_or_realtime(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    info = sysinfo.probe(str(tmp_path))
    assert info.cgroup2 and info.blkio_weight and info.blkio_write_iops_device
    assert not info.oom_kill_disable and not info.cpu_realtime
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    assert not sysinfo.probe(str(tmp_path)).blkio_read_bps_device


V2_NO_IO = sysinfo.SysInfo(cgroup2=True, oom_kill_disable=False, blkio_weight=False, blkio_weight_device=False,
                           blkio_read_bps_device=False, blkio_write_bps_device=False, blkio_read_iops_device=False,
                           blkio_write_iops_device=False, cpu_realtime=False)
V1_FULL = sysinfo.SysInfo(cgroup2=False, oom_kill_disable=True, blkio_weight=True, blkio_weight_device=True,
                          blkio_read_bps_device=True, blkio_write_bps_device=True, blkio_read_iops_device=True,
                          blkio_write_iops_device=True, cpu_realtime=True)


def test_unsupported_settings_are_dropped_with_mobys_warnings():
    hc = {"OomKillDisable": True, "Memory": 64 << 20, "BlkioWeight": 5,
          "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1}]}
    warnings = validate_platform_resources(hc, V2_NO_IO)  # weight 5 is dropped before its range is checked
    assert warnings == [
        "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
        "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
        "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. "
        "Block I/O BPS read limit discarded."]
    assert (hc["OomKillDisable"], hc["BlkioWeight"], hc["BlkioDeviceReadBps"]) == (False, 0, [])
    with pytest.raises(InvalidParameter, match="^kernel does not support CPU real-time scheduler$"):
        validate_platform_resources({"CpuRealtimeRuntime": 1000}, V2_NO_IO)


def test_supported_settings_are_kept_and_checked():
    hc = {"OomKillDisable": True, "BlkioWeight": 300}
    assert validate_platform_resources(hc, V1_FULL) == [
        "OOM killer is disabled for the container, but no memory limit is set, this can result in the system "
        "running out of resources."]
    assert (hc["OomKillDisable"], hc["BlkioWeight"]) == (True, 300)
    with pytest.raises(InvalidParameter, match="^Range of blkio weight is from 10 to 1000$"):
        validate_platform_resources({"BlkioWeight": 5}, V1_FULL)
    with pytest.raises(InvalidParameter, match="^cpu real-time runtime cannot be higher than cpu real-time period$"):
        validate_platform_resources({"CpuRealtimeRuntime": 10000, "CpuRealtimePeriod": 5000}, V1_FULL)


def test_spec_carries_oom_blkio_and_realtime():
    dev = next((p for p in ("/dev/null", "/dev/zero") if os.path.exists(p)))
    st = os.stat(dev)
    res = resources({"OomKillDisable": True, "Memory": 1 << 26, "BlkioWeight": 300,
                     "BlkioWeightDevice": [{"Path": dev, "Weight": 200}],
                     "BlkioDeviceWriteIOps": [{"Path": dev, "Rate": 50}],
                     "CpuRealtimeRuntime": 10000, "CpuRealtimePeriod": 1000000})
    majmin = {"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}
    assert res["memory"]["disableOOMKiller"] is True
    assert res["blockIO"] == {"weight": 300, "weightDevice": [{**majmin, "weight": 200}],
                              "throttleWriteIOPSDevice": [{**majmin, "rate": 50}]}
    assert (res["cpu"]["realtimeRuntime"], res["cpu"]["realtimePeriod"]) == (10000, 1000000)
    assert "blockIO" not in resources({})


def test_storage_opt_in_the_drivers_words(tmp_path):
    check_storage_opts({}, "overlay2", tmp_path)  # nothing asked, nothing to refuse
    with pytest.raises(InvalidParameter, match=f"^{OVERLAY_NEEDS_PQUOTA}$"):
        check_storage_opts({"size": "1G"}, "overlay2", tmp_path)
    with pytest.raises(InvalidParameter, match="^Unknown option foo$"):
        check_storage_opts({"foo": "1"}, "overlay2", tmp_path)
    with pytest.raises(InvalidParameter, match=f"^{VFS_NO_QUOTA}$"):
        check_storage_opts({"size": "1G"}, "vfs", tmp_path)


def test_realtime_budget_is_written_down_the_parent_path(tmp_path):
    (tmp_path / "cpu").mkdir()
    sysinfo.init_rt_parent("/dockyard", 95000, 0, str(tmp_path))
    assert (tmp_path / "cpu" / "dockyard" / "cpu.rt_runtime_us").read_text() == "95000"
    assert not (tmp_path / "cpu" / "dockyard" / "cpu.rt_period_us").exists()  # 0: left as the kernel has it


def test_info_warns_in_mobys_words_about_what_is_missing():
    assert sysinfo.info_warnings(V1_FULL) == []
    assert sysinfo.info_warnings(V2_NO_IO) == [
        "WARNING: No io.weight support", "WARNING: No io.weight (per device) support",
        "WARNING: No io.max (rbps) support", "WARNING: No io.max (wbps) support",
        "WARNING: No io.max (riops) support", "WARNING: No io.max (wiops) support"]
    v1_no_throttle = sysinfo.SysInfo(**{**V1_FULL.__dict__, "blkio_weight": False, "blkio_read_bps_device": False})
    assert sysinfo.info_warnings(v1_no_throttle) == ["WARNING: No blkio throttle.read_bps_device support"]
