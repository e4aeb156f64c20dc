"""Many API clients at once: N clients for D seconds over the Engine API, each looping over a mix of
`GET /containers/json?all=1`, `GET /images/json`, `GET /containers/{id}/json` and a container life cycle
(create busybox true, start, wait, remove), while a separate process pings `/_ping` every 20 ms.

    python bench/load.py [--clients 100] [--duration 60] [--engine both]

Reports errors and latency percentiles per kind, and the slowest ping, per engine (dockyard, and dockerd where
installed); the clients run in --procs processes (asyncio + aiohttp each) so the load generator is not the
bottleneck. Containers use --network none on both engines (the bridge's cost is bench/run_latency.py's).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import time
from pathlib import Path

from engines import busybox_tar, each_engine, loadavg, rss_mib

KINDS = ["containers/json", "images/json", "inspect", "lifecycle"]


async def client_loop(sock: str, deadline: float, inspect_ids: list[str], out: dict) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=sock),
                                     timeout=aiohttp.ClientTimeout(total=120)) as s:
        base = "http://d/v1.41"

        async def call(method, path, ok=(200, 201, 204), **kw):
            async with s.request(method, base + path, **kw) as r:
                body = await r.read()
                if r.status not in ok:
                    raise RuntimeError(f"{method} {path}: {r.status} {body[:200]!r}")
                return json.loads(body) if body and r.content_type == "application/json" else None

        async def lifecycle():
            c = await call("POST", "/containers/create", json={"Image": "busybox", "Cmd": ["true"],
                                                               "HostConfig": {"NetworkMode": "none"}})
            await call("POST", f"/containers/{c['Id']}/start")
            await call("POST", f"/containers/{c['Id']}/wait")
            await call("DELETE", f"/containers/{c['Id']}")

        ops = {"containers/json": lambda: call("GET", "/containers/json?all=1"),
               "images/json": lambda: call("GET", "/images/json"),
               "inspect": lambda: call("GET", f"/containers/{random.choice(inspect_ids)}/json"),
               "lifecycle": lifecycle}
        while time.time() < deadline:
            kind = random.choice(KINDS)
            t0 = time.perf_counter()
            try:
                await ops[kind]()
            except Exception as err:  # noqa: BLE001 - every failure counts as an error of its kind
                out["errors"].setdefault(kind, []).append(str(err)[:200])
                continue
            out["lat"][kind].append((time.perf_counter() - t0) * 1000)


def worker(sock: str, clients: int, deadline: float, inspect_ids: list[str], q) -> None:
    out = {"lat": {k: [] for k in KINDS}, "errors": {}}

    async def run():
        await asyncio.gather(*(client_loop(sock, deadline, inspect_ids, out) for _ in range(clients)))

    asyncio.run(run())
    q.put(out)


def pinger(sock: str, deadline: float, q) -> None:
    """Blocking socket, own process and session: its times are the daemon's, not the load generator's (in the
    generator's session the kernel's autogroup would share one slice of CPU between it and the 100 clients,
    and the ping would also time how long the pinger waited to run)."""
    os.setsid()
    times, offsets = [], []  # each ping's ms, and when it was sent (s since the pinger began)
    began = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rb")
    while time.time() < deadline:
        t0 = time.perf_counter()
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        length = 0
        while (line := f.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        f.read(length)
        times.append((time.perf_counter() - t0) * 1000)
        offsets.append(t0 - began)
        time.sleep(max(0.0, 0.02 - (time.perf_counter() - t0)))
    q.put(("ping", times, offsets))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def measure(engine, work: Path, args) -> dict:
    engine.docker("load", "-i", str(busybox_tar(work)))
    ids = [engine.docker("create", "--network", "none", "busybox", "true").stdout.decode().strip()
           for _ in range(20)]
    deadline = time.time() + args.duration
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=pinger, args=(engine.socket, deadline, q))]
    share = [args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)]
    procs += [ctx.Process(target=worker, args=(engine.socket, n, deadline, ids, q)) for n in share]
    for p in procs:
        p.start()
    results = [q.get(timeout=args.duration + 300) for _ in procs]
    for p in procs:
        p.join()
    r = {"engine": engine.name, "lat": {k: [] for k in KINDS}, "errors": {}, "ping": []}
    for res in results:
        if isinstance(res, tuple):
            _, r["ping"], offsets = res
            r["slowest_ping_at"] = offsets[r["ping"].index(max(r["ping"]))]
            continue
        for k in KINDS:
            r["lat"][k] += res["lat"][k]
        for k, errs in res["errors"].items():
            r["errors"].setdefault(k, []).extend(errs)
    r["rss_mib"] = rss_mib(engine.pid)
    engine.docker("rm", "-f", *ids)
    return r


def report(r: dict, duration: int) -> str:
    ping = r["ping"]
    lines = [f"**{r['engine']}** — daemon RSS after the run {r['rss_mib']:.0f} MiB; `/_ping` every 20 ms: "
             f"max {max(ping):.1f} ms ({r['slowest_ping_at']:.1f} s into the run), p99 {pct(ping, 99):.1f} ms "
             f"over {len(ping)} pings",
             "", "| kind | ops | ops/s | errors | median ms | p90 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|---|"]
    for k in KINDS:
        lat = r["lat"][k]
        lines.append(f"| {k} | {len(lat)} | {len(lat) / duration:.1f} | {len(r['errors'].get(k, []))} | "
                     f"{statistics.median(lat) if lat else float('nan'):.1f} | {pct(lat, 90):.1f} | "
                     f"{pct(lat, 99):.1f} | {max(lat) if lat else float('nan'):.1f} |")
    for k, errs in r["errors"].items():
        lines.append(f"\n{k} errors, first: {errs[0]}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--engine", default="both", choices=["dockyard", "dockerd", "both"])
    args = ap.parse_args()
    out = []
    for engine, work in each_engine(args.engine, "dockyard-load-"):
        before = loadavg()
        r = measure(engine, work, args)
        out.append(f"{report(r, args.duration)}\n\n(load average before {before}, after {loadavg()})")
        print(out[-1] + "\n", flush=True)
    print(f"\n{args.clients} clients for {args.duration} s\n")
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
