"""Volumes (the local driver's options, --mount volume options) and `docker update`'s checks, as a Docker user
meets them with the real docker CLI: what is mounted, what is refused (in moby's words) and what is left."""
from __future__ import annotations

import json

from dockyard.daemon.platform_checks import _available_cpus, parse_uint_list


def inspect(d, ref: str) -> dict:
    return json.loads(d.docker("inspect", ref).stdout)[0]


# ---------------------------------------------------------------- docker update
def test_update_runs_the_create_checks_and_changes_nothing_when_one_fails(daemon):
    cpus = _available_cpus()
    missing_cpu = max(parse_uint_list(cpus)) + 1
    cid = daemon.docker("run", "-d", "--name", "audit-upd", "--cpuset-cpus", "0", "--blkio-weight", "300",
                        "busybox", "sleep", "300").stdout.strip()
    try:
        cases = [
            (["--cpuset-cpus", str(missing_cpu)],
             f"Requested CPUs are not available - requested {missing_cpu}, available: {cpus}"),
            (["--cpuset-cpus", "1-0"], "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"),
            (["--cpuset-mems", "63"], "Requested memory nodes are not available - requested 63, available: "),
            (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
            (["--cpu-shares", "-5"], "invalid CPU shares (-5): value must be a positive integer"),
        ]
        for flags, message in cases:
            bad = daemon.docker("update", *flags, "audit-upd", check=False)
            assert bad.returncode == 1, (flags, bad.stderr)
            assert f"Error response from daemon: {message}" in bad.stderr, (flags, bad.stderr)
        hc = inspect(daemon, cid)["HostConfig"]
        assert (hc["CpusetCpus"], hc["CpusetMems"], hc["BlkioWeight"], hc["CpuShares"]) == ("0", "", 300, 0)
        assert inspect(daemon, cid)["State"]["Running"]
        assert daemon.docker("update", "--blkio-weight", "400", "audit-upd").stdout.strip() == "audit-upd"
        assert inspect(daemon, cid)["HostConfig"]["BlkioWeight"] == 400
    finally:
        daemon.docker("rm", "-f", cid, check=False)
