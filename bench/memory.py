"""Daemon memory through a repeated workload: does RSS stay under 100 MiB and stop growing?

    python bench/memory.py [--rounds 3] [--runs 1000] [--steps 2000] [--pulls 50] [--streams 20]

One dockyard daemon, one registry of our own on 127.0.0.1; each round runs, through the docker CLI:
`docker run --rm busybox true` × runs (4 at a time), a build of `steps` metadata steps, pushes and pulls × pulls
(a small image to and from the registry, removed locally in between), and attach/logs/exec streams × streams on
a running container. After each round: the daemon's RSS (VmRSS), threads and open fds; with --trace the daemon
runs under tracemalloc (DOCKYARD_TRACEMALLOC, see dockyard/memtrace.py) and each row adds the Python heap it
traced, with the dumps (what grew since the previous round, by line and by object type) kept in
/tmp/dockyard-memtrace/.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engines import DOCKER, busybox_tar, loadavg, rss_mib, start_dockyard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dockyard.registry.server", "serve", "--listen",
                             f"127.0.0.1:{port}", "--storage", str(work / "registry")],
                            stdout=subprocess.DEVNULL, stderr=open(work / "registry.log", "w"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("registry did not start")


KEPT_TRACES = Path(tempfile.gettempdir()) / "dockyard-memtrace"


def anon_file_threads_fds(pid: int) -> tuple[float, float, int, int]:
    """RSS split into anonymous memory (heaps: what a leak grows) and mapped files (code paged in), thread and
    open-fd counts."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return (int(status["RssAnon"].split()[0]) / 1024, int(status["RssFile"].split()[0]) / 1024,
            int(status["Threads"]), len(os.listdir(f"/proc/{pid}/fd")))


def traced_mib(pid: int, trace_dir: Path | None, n: int) -> float | None:
    """Ask the daemon for memtrace dump n (SIGUSR2) and read the Python heap it traced from its first line."""
    if trace_dir is None:
        return None
    os.kill(pid, signal.SIGUSR2)
    path = trace_dir / f"memtrace-{n}.txt"
    for _ in range(1200):
        if path.exists() and path.read_text().endswith("\n"):
            shutil.copy(path, KEPT_TRACES / path.name)
            return float(path.read_text().split()[1])
        time.sleep(0.1)
    raise RuntimeError(f"the daemon wrote no {path}")


def round_(engine, work: Path, registry: str, args) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: engine.docker("run", "--rm", "--network", "none", "busybox", "true"),
                      range(args.runs)))
    ctx = work / "build"
    ctx.mkdir(exist_ok=True)
    steps = [f"ENV S{i % 40}={i}" if i % 2 else f"LABEL l{i % 40}={i}" for i in range(args.steps)]
    (ctx / "Dockerfile").write_text("FROM busybox\n" + "\n".join(steps) + "\n")
    engine.docker("build", "-q", "--no-cache", "-t", "memchain", str(ctx))
    engine.docker("rmi", "memchain")
    for i in range(args.pulls):
        ref = f"{registry}/mem/box:{i % 5}"
        engine.docker("tag", "busybox", ref)
        engine.docker("push", "-q", ref)
        engine.docker("rmi", ref)
        engine.docker("pull", "-q", ref)
        engine.docker("rmi", ref)
    cid = engine.docker("run", "-d", "--network", "none", "busybox", "sh", "-c",
                        "while true; do echo tick; sleep 0.05; done").stdout.decode().strip()
    for _ in range(args.streams):
        engine.docker("logs", "--tail", "5", cid)
        engine.docker("exec", cid, "echo", "hi")
        engine.docker("exec", "-i", cid, "cat", input=b"x" * 10000)
        # attach until the CLI is stopped: a stream the client closes mid-way
        p = subprocess.Popen([DOCKER, "attach", "--no-stdin", cid], env=engine.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        p.stdout.readline()
        p.kill()
        p.wait()
    engine.docker("rm", "-f", cid)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--pulls", type=int, default=50)
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--trace", action="store_true", help="run the daemon under tracemalloc (slower) and dump "
                    "what grew after each round")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-memory-"))
    trace_dir = work / "memtrace" if args.trace else None
    if trace_dir:
        shutil.rmtree(KEPT_TRACES, ignore_errors=True)
        KEPT_TRACES.mkdir()
    registry, addr = start_registry(work)
    engine = start_dockyard(work, {"DOCKYARD_TRACEMALLOC": str(trace_dir)} if trace_dir else None)
    rows = []

    def row(label: str, n: int, secs: float) -> None:
        traced = traced_mib(engine.pid, trace_dir, n)
        rows.append((label, rss_mib(engine.pid), *anon_file_threads_fds(engine.pid), traced, secs))
        print(rows[-1], flush=True)

    try:
        engine.docker("load", "-i", str(busybox_tar(work)))
        row("fresh, busybox loaded", 0, 0.0)
        for n in range(1, args.rounds + 1):
            t0 = time.perf_counter()
            round_(engine, work, addr, args)
            row(f"after round {n}", n, time.perf_counter() - t0)
    finally:
        engine.stop()
        registry.terminate()
        registry.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nround = {args.runs} × run --rm, a {args.steps}-step build, {args.pulls} push+pull, {args.streams} × "
          f"(logs, exec, exec -i, attach); load average at the end {loadavg()}\n")
    print("| point | daemon RSS (MiB) | anonymous | files | threads | open fds | Python heap traced (MiB) "
          "| round time (s) |\n|---|---|---|---|---|---|---|---|")
    for label, rss, anon, files, threads, fds, traced, secs in rows:
        heap = "—" if traced is None else f"{traced:.2f}"
        print(f"| {label} | {rss:.1f} | {anon:.1f} | {files:.1f} | {threads} | {fds} | {heap} | {secs:.0f} |")
    if trace_dir:
        print(f"\nwhat grew, round by round: {KEPT_TRACES}/memtrace-N.txt")


if __name__ == "__main__":
    main()
