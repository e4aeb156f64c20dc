"""Build benchmark: a 10-step Dockerfile with ~4 MB of context, cold build and fully cached rebuild through
the real docker CLI (DOCKER_BUILDKIT=0), beside the raw cost of its RUN steps (`docker run` of the same
commands, i.e. what the RUN steps themselves cost without commits).

Usage: python bench/build.py [--runs 3]   (needs root; starts its own daemon)
"""
from __future__ import annotations

import argparse
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

from tests.e2e.daemon_harness import DOCKER, build_busybox_archive, cleanup_daemon, new_daemon  # noqa: E402

RUNS = ["mkdir -p /app/data", "mkdir -p /app && echo one > /app/one", "mkdir -p /app/data && cp /bin/busybox /app/data/",
        "mkdir -p /app && ls -l /app > /app/listing"]
DOCKERFILE = f"""FROM busybox
ENV APP=/app
WORKDIR /app
COPY blob1 /app/
COPY blob2 /app/
RUN {RUNS[0]}
RUN {RUNS[1]}
RUN {RUNS[2]}
RUN {RUNS[3]}
CMD ["cat", "/app/listing"]
"""


def timed(argv, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-build-"))
    ctx = work / "ctx"
    ctx.mkdir()
    (ctx / "blob1").write_bytes(os.urandom(2 * 1024 * 1024))
    (ctx / "blob2").write_bytes(os.urandom(2 * 1024 * 1024))
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    d = new_daemon(work / "daemon")
    d.start()
    cold, cached, raw = [], [], []
    try:
        d.docker("load", "-i", str(build_busybox_archive(work / "busybox.tar")))
        env = d.env()
        for i in range(args.runs):
            cold.append(timed([DOCKER, "build", "--no-cache", "-t", f"bench:{i}", str(ctx)], env))
            cached.append(timed([DOCKER, "build", "-t", f"bench:{i}", str(ctx)], env))
            raw.append(sum(timed([DOCKER, "run", "--rm", "busybox", "sh", "-c", cmd], env) for cmd in RUNS))
    finally:
        cleanup_daemon(d)
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    print(f"| measurement (median of {args.runs}) | ms |")
    print("|---|---|")
    print(f"| cold build, 10 steps, 4 MB context (`docker build --no-cache`) | {med(cold):.0f} |")
    print(f"| fully cached rebuild | {med(cached):.0f} |")
    print(f"| raw cost of the 4 RUN steps (`docker run --rm` each) | {med(raw):.0f} |")


if __name__ == "__main__":
    main()
