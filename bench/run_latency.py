"""Container start latency: `docker run --rm busybox true` through the real docker CLI against dockyard,
beside `runc run` of a prepared bundle (the floor), and `docker run -d` + `rm -f` of 50 containers.
The networking cost: the same run on the default bridge (the default), with `--network none`, and with a
published port (`-p 127.0.0.1::80`, which adds the port proxy), runs interleaved so drift hits all alike.

Usage: python bench/run_latency.py [--runs 30] [--no-dockerd] [--baseline DIR]
With Debian's docker.io installed, the same `run --rm` on a dockerd started by hand, interleaved.
--baseline DIR: also a dockyard daemon run from another source tree (e.g. a checkout of main), interleaved,
so a change is measured against the code before it under the same load.
Starts its own daemon on a temp data root (needs root), loads busybox, prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tests.e2e.daemon_harness as harness  # noqa: E402
from tests.e2e.daemon_harness import DOCKER, build_busybox_archive, cleanup_daemon, new_daemon  # noqa: E402
from engines import start_dockerd  # noqa: E402


def timed(argv, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def runc_floor(runs: int, work: Path) -> list[float]:
    """`runc run` of a bundle whose rootfs is the busybox image, already unpacked: the raw runtime cost."""
    bundle = work / "bundle"
    rootfs = bundle / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    os.symlink("busybox", rootfs / "bin" / "true")
    for d in ("proc", "sys", "dev", "tmp"):
        (rootfs / d).mkdir()
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    spec["process"].pop("rlimits", None)
    (bundle / "config.json").write_text(json.dumps(spec))
    root = work / "runc-root"
    return [timed(["runc", "--root", str(root), "run", "--bundle", str(bundle), f"bench{i}"]) for i in range(runs)]


def daemon_from_tree(tree: Path, base: Path):
    """A test daemon whose code comes from another source tree (`python -m` imports from its cwd)."""
    d = new_daemon(base)
    saved, harness.ROOT = harness.ROOT, tree
    try:
        d.start()
    finally:
        harness.ROOT = saved
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--many", type=int, default=50)
    ap.add_argument("--no-dockerd", dest="dockerd", action="store_false",
                    help="skip the dockerd comparison (it runs where Debian's docker.io is installed)")
    ap.add_argument("--baseline", type=Path, help="a source tree to run a second dockyard daemon from")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    d = new_daemon(work / "daemon")
    d.start()
    try:
        d.docker("load", "-i", str(build_busybox_archive(work / "busybox.tar")))
        env = d.env()
        d.docker("run", "--rm", "busybox", "true")  # warm-up
        variants = {"bridge": [], "none": ["--network", "none"], "publish": ["-p", "127.0.0.1::80"]}
        net = {k: [] for k in variants}
        dockerd = start_dockerd(work) if args.dockerd else None  # the same runs on dockerd, interleaved
        dockerd_runs, baseline_runs = [], []
        baseline = None
        try:
            if args.baseline:
                baseline = daemon_from_tree(args.baseline.resolve(), work / "baseline")
            for other in (dockerd, baseline):
                if other is not None:
                    other.docker("load", "-i", str(work / "busybox.tar"))
                    other.docker("run", "--rm", "busybox", "true")
            for _ in range(args.runs):
                for k, extra in variants.items():
                    net[k].append(timed([DOCKER, "run", "--rm", *extra, "busybox", "true"], env))
                if dockerd is not None:
                    dockerd_runs.append(timed([DOCKER, "run", "--rm", "busybox", "true"], dockerd.env()))
                if baseline is not None:
                    baseline_runs.append(timed([DOCKER, "run", "--rm", "busybox", "true"], baseline.env()))
        finally:
            if dockerd is not None:
                dockerd.stop()
            if baseline is not None:
                cleanup_daemon(baseline)
        run_rm = net["bridge"]
        t0 = time.perf_counter()
        ids = [d.docker("run", "-d", "busybox", "sleep", "300").stdout.strip() for _ in range(args.many)]
        started = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        d.docker("rm", "-f", *ids)
        removed = (time.perf_counter() - t0) * 1000
        floor = runc_floor(args.runs, work)
    finally:
        cleanup_daemon(d)
        shutil.rmtree(work, ignore_errors=True)

    def row(name, xs):
        return f"| {name} | {statistics.median(xs):.1f} | {min(xs):.1f} | {sorted(xs)[int(len(xs) * 0.9) - 1]:.1f} |"

    print(f"| measurement ({args.runs} runs) | median ms | min ms | p90 ms |")
    print("|---|---|---|---|")
    print(row("`docker run --rm busybox true` (docker CLI → dockyard)", run_rm))
    if dockerd_runs:
        print(row("`docker run --rm busybox true` (docker CLI → dockerd 20.10, default bridge)", dockerd_runs))
    if baseline_runs:
        print(row(f"`docker run --rm busybox true` (docker CLI → dockyard from {args.baseline})", baseline_runs))
    print(row("`runc run` of a prepared bundle (floor)", floor))
    print(row("`docker run --rm --network none busybox true`", net["none"]))
    print(row("`docker run --rm -p 127.0.0.1::80 busybox true` (bridge + port proxy)", net["publish"]))
    print(f"\nbridge networking adds {statistics.median(net['bridge']) - statistics.median(net['none']):.1f} ms "
          f"(median) over --network none; a published port adds "
          f"{statistics.median(net['publish']) - statistics.median(net['bridge']):.1f} ms more")
    if dockerd_runs:
        print(f"\ndockyard / dockerd (median, same run): "
              f"{statistics.median(run_rm) / statistics.median(dockerd_runs):.2f}×")
        if baseline_runs:
            print(f"baseline dockyard / dockerd (median, same run): "
                  f"{statistics.median(baseline_runs) / statistics.median(dockerd_runs):.2f}×")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n`docker run -d` × {args.many}: {started:.0f} ms ({started / args.many:.1f} ms each); "
          f"`docker rm -f` of all {args.many}: {removed:.0f} ms")


if __name__ == "__main__":
    main()
