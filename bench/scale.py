"""Costs with a big store: 10,000 images and 1,000 containers, through the real docker CLI.

    python bench/scale.py [--images 10000] [--containers 1000] [--chain-steps 10000] [--engine both]
    python bench/scale.py --chain-only --chain-steps 3000 [--baseline /path/to/old/checkout]

Per engine (dockyard, and dockerd where installed), on fresh data roots:
  * `docker load` of one archive of N images (distinct configs on the busybox layer, tagged scale:N),
    `docker create` of M containers;
  * timed: `docker images`, `docker images -a`, `docker ps -a`, `docker inspect` of a container and an image
    (median of 5), `docker rmi` of 300 tags of one image (one command), `docker rm` of 300 created containers;
  * a `--chain-steps`-step Dockerfile (ENV and LABEL, RUN true every --run-every steps) built with the classic builder, with the
    time per step at its start and its end, then `docker rmi -f` of its image (the whole chain).
`--chain-only` skips the store part; `--baseline DIR` runs the chain first on a dockyard daemon running the code
of another checkout (old vs new code in the same run).
Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engines import DOCKER, busybox_tar, each_engine, loadavg, rss_mib, start_dockyard


def many_images_archive(src: Path, dest: Path, n: int) -> Path:
    """A docker-archive of `n` images sharing busybox's layer, each with its own config (a label)."""
    with tarfile.open(src) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        base = json.load(t.extractfile(manifest["Config"]))
        layer_name = manifest["Layers"][0]
        layer = t.extractfile(layer_name).read()
    entries = []
    with tarfile.open(dest, "w") as out:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))

        add(layer_name, layer)
        for i in range(n):
            cfg = json.loads(json.dumps(base))
            cfg["config"]["Labels"] = {"scale.n": str(i)}
            cfg["created"] = f"2024-01-01T00:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i:06d}Z"
            data = json.dumps(cfg, separators=(",", ":")).encode()
            name = f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"
            add(name, data)
            entries.append({"Config": name, "RepoTags": [f"scale:{i}"], "Layers": [layer_name]})
        add("manifest.json", json.dumps(entries).encode())
    return dest


def timed(engine, *args, runs: int = 1) -> float:
    """Median wall time (ms) of a docker CLI command."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.docker(*args)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def chain_dockerfile(steps: int, run_every: int) -> str:
    """ENV and LABEL steps in turn, `RUN true` every `run_every` steps (overlay2 stacks at most 125 layers on
    dockerd, so a RUN in every third step of 10,000 would fail there)."""
    lines = ["FROM busybox"]
    for i in range(1, steps + 1):
        lines.append("RUN true" if i % run_every == 0 else f"ENV S{i % 50}={i}" if i % 2 else f"LABEL step{i % 50}={i}")
    return "\n".join(lines) + "\n"


def build_chain(engine, work: Path, steps: int, run_every: int, window: int = 0) -> dict:
    ctx = work / f"chain-{engine.name}"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(chain_dockerfile(steps, run_every))
    stamps: dict[int, float] = {}
    t0 = time.perf_counter()
    p = subprocess.Popen([DOCKER, "build", "--rm", "-t", "chain:latest", str(ctx)],
                         env=engine.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    for line in p.stdout:
        if line.startswith("Step "):
            stamps[int(line.split()[1].split("/")[0])] = time.perf_counter()
        tail = (tail + [line])[-5:]
    rc = p.wait()
    total = time.perf_counter() - t0
    if rc:
        print(f"{engine.name}: chain build failed after {len(stamps)} steps:\n{''.join(tail)}", flush=True)
        return {"chain_failed_at": len(stamps)}

    def per_step(a: int, b: int) -> float:
        return (stamps[b] - stamps[a]) / (b - a) * 1000 if a in stamps and b in stamps else float("nan")

    def median_step(a: int, b: int) -> float:
        """The median step's time: on a shared machine a few steps stalled by others skew the mean."""
        return statistics.median((stamps[i + 1] - stamps[i]) * 1000 for i in range(a, b))

    window = window or max(steps // 100, 30)
    early = per_step(2, 2 + window)
    late = per_step(steps + 1 - window, steps + 1)
    r = {"build_s": total, "early_ms": early, "late_ms": late, "window": window,
         "early_median_ms": median_step(2, 2 + window), "late_median_ms": median_step(steps + 1 - window, steps + 1)}
    print(f"{engine.name}: {steps} steps in {total:.1f} s; ms per step over steps 2-{2 + window}: {early:.1f} "
          f"(median {r['early_median_ms']:.1f}), over the last {window}: {late:.1f} (median {r['late_median_ms']:.1f})",
          flush=True)
    return r


def measure(engine, work: Path, args) -> dict:
    r: dict = {"engine": engine.name}
    engine.docker("load", "-i", str(busybox_tar(work)))
    if not args.chain_only:
        measure_store(engine, work, args, r)
    if args.chain_steps:
        r.update(build_chain(engine, work, args.chain_steps, args.run_every, args.window))
        if "build_s" in r:
            images = len(engine.docker("images", "-aq").stdout.split())
            r["rmi_chain_s"] = timed(engine, "rmi", "-f", "chain:latest") / 1000
            r["images_after_chain"] = len(engine.docker("images", "-aq").stdout.split())
            print(f"{engine.name}: rmi -f of the chain ({images} images): {r['rmi_chain_s']:.1f} s, "
                  f"{r['images_after_chain']} images left", flush=True)
    return r


def measure_store(engine, work: Path, args, r: dict) -> None:
    archive = work / f"many-{args.images}.tar"
    if not archive.exists():
        many_images_archive(busybox_tar(work), archive, args.images)
    t0 = time.perf_counter()
    engine.docker("load", "-q", "-i", str(archive))
    r["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: engine.docker("create", "--network", "none", "--name", f"sc{i}", "busybox",
                                                    "true").stdout.decode().strip(), range(args.containers)))
    r["create_s"] = time.perf_counter() - t0
    r["images"] = timed(engine, "images", runs=5)
    r["images_a"] = timed(engine, "images", "-a", runs=5)
    r["ps_a"] = timed(engine, "ps", "-a", runs=5)
    r["inspect_c"] = timed(engine, "inspect", f"sc{args.containers // 2}", runs=5)
    r["inspect_i"] = timed(engine, "image", "inspect", f"scale:{args.images // 2}", runs=5)
    r["rss_mib"] = rss_mib(engine.pid)
    tags = [f"many:{i}" for i in range(300)]
    for t in tags:
        engine.docker("tag", "busybox", t)
    r["rmi_300"] = timed(engine, "rmi", *tags)
    r["rm_300"] = timed(engine, "rm", *ids[:300])


ROWS = [("`docker load` of the N-image archive (s)", "load_s", "{:.1f}"),
        ("`docker create` × M, 8 at a time (s)", "create_s", "{:.1f}"),
        ("`docker images` (ms, median of 5)", "images", "{:.0f}"),
        ("`docker images -a` (ms)", "images_a", "{:.0f}"),
        ("`docker ps -a` (ms)", "ps_a", "{:.0f}"),
        ("`docker inspect` a container (ms)", "inspect_c", "{:.0f}"),
        ("`docker image inspect` (ms)", "inspect_i", "{:.0f}"),
        ("`docker rmi` of 300 tags (ms)", "rmi_300", "{:.0f}"),
        ("`docker rm` of 300 created containers (ms)", "rm_300", "{:.0f}"),
        ("chain build, total (s)", "build_s", "{:.1f}"),
        ("chain build, ms per step at the start", "early_ms", "{:.1f}"),
        ("chain build, ms per step at the end", "late_ms", "{:.1f}"),
        ("chain build, median step at the start (ms)", "early_median_ms", "{:.1f}"),
        ("chain build, median step at the end (ms)", "late_median_ms", "{:.1f}"),
        ("`docker rmi -f` of the chain's image (s)", "rmi_chain_s", "{:.1f}"),
        ("images left after that `rmi -f`", "images_after_chain", "{}"),
        ("chain build failed at step", "chain_failed_at", "{}"),
        ("daemon RSS with the store loaded (MiB)", "rss_mib", "{:.0f}")]


def table(results: list[dict]) -> str:
    names = [r["engine"] for r in results]
    lines = ["| measurement | " + " | ".join(names) + (f" | {names[0]} / {names[1]} |" if len(names) == 2 else " |"),
             "|---" * (len(names) + 1 + (len(names) == 2)) + "|"]
    for label, key, fmt in ROWS:
        if not any(key in r for r in results):
            continue
        cells = [fmt.format(r[key]) if key in r else "—" for r in results]
        if len(results) == 2:
            both = all(key in r for r in results) and results[1][key]
            cells.append(f"{results[0][key] / results[1][key]:.2f}×" if both else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--chain-steps", type=int, default=10000)
    ap.add_argument("--run-every", type=int, default=100, help="a RUN true step every N steps of the chain")
    ap.add_argument("--window", type=int, default=0, help="steps per start/end window (default 1%%, at least 30)")
    ap.add_argument("--engine", default="both", choices=["dockyard", "dockerd", "both"])
    ap.add_argument("--chain-only", action="store_true", help="only the chain build and its rmi -f")
    ap.add_argument("--baseline", type=Path, help="a checkout of older dockyard code, run first for comparison")
    args = ap.parse_args()
    results = []
    if args.baseline:
        results.append(measure_baseline(args))
    for engine, work in each_engine(args.engine, "dockyard-scale-"):
        print(f"# {engine.name} (load {loadavg()})", flush=True)
        results.append(measure(engine, work, args))
        print(json.dumps(results[-1]), flush=True)
    store = "" if args.chain_only else f"{args.images} images, {args.containers} containers, "
    print(f"\n{store}chain of {args.chain_steps} steps; "
          f"load average at the end {loadavg()}\n")
    print(table(results))


def measure_baseline(args) -> dict:
    """The same measurements on a dockyard daemon importing the code of `args.baseline` (PYTHONSAFEPATH: the
    harness's working directory, this checkout, is not put first on its path)."""
    work = Path(tempfile.mkdtemp(prefix="dockyard-scale-base-"))
    try:
        engine = start_dockyard(work, {"PYTHONPATH": str(args.baseline.resolve()), "PYTHONSAFEPATH": "1"})
        engine.name = "dockyard (baseline)"
        try:
            print(f"# {engine.name} from {args.baseline} (load {loadavg()})", flush=True)
            r = measure(engine, work, args)
            print(json.dumps(r), flush=True)
            return r
        finally:
            engine.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
