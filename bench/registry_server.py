"""Benchmark: dockyard's registry vs Debian's docker-registry (docker/distribution 2.8), same machine, same data.

Both servers read the *same* storage directory (dockyard's layout is distribution's filesystem layout), filled
once through dockyard's API: one 32 MiB blob and one small Docker v2 manifest. Load comes from `wrk` (fixed
duration, stops by itself): blob GET throughput and manifest GET requests/s. Results are printed and written to
bench/RESULTS.md under "## Registry server".

    python bench/registry_server.py [--duration 10] [--no-write]
"""
import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx

BLOB_SIZE = 32 * 1024 * 1024
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = f"Accept: {MANIFEST_TYPE}, application/vnd.oci.image.manifest.v1+json"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {url}")
        try:
            if httpx.get(url, timeout=1).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server did not start: {url}")


def start_dockyard(storage: str, workdir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cfg = os.path.join(workdir, "dockyard.yml")
    with open(cfg, "w") as f:
        f.write("log:\n  accesslog:\n    disabled: true\n")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard.registry.server", "serve", "--listen",
                             f"127.0.0.1:{port}", "--storage", storage, "--config", cfg],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "dockyard.log"), "w"))
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/v2/", proc)
    return proc, url


def start_distribution(storage: str, workdir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cfg = os.path.join(workdir, "distribution.yml")
    with open(cfg, "w") as f:
        f.write(f"""version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage:
  filesystem: {{rootdirectory: {storage}}}
  cache: {{blobdescriptor: inmemory}}
http: {{addr: 127.0.0.1:{port}}}
""")
    proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", cfg], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "distribution.log"), "w"))
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/v2/", proc)
    return proc, url


def populate(url: str) -> tuple[str, str]:
    """Push one big layer, a config and a manifest (tag bench/app:v1). Returns (layer digest, manifest digest)."""
    layer = os.urandom(BLOB_SIZE)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    with httpx.Client(base_url=url, timeout=120) as c:
        digests = []
        for blob in (layer, config):
            d = "sha256:" + hashlib.sha256(blob).hexdigest()
            loc = c.post("/v2/bench/app/blobs/uploads/").headers["Location"]
            assert c.put(loc, params={"digest": d}, content=blob).status_code == 201
            digests.append(d)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                          "digest": digests[1], "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                           "digest": digests[0], "size": len(layer)}]}).encode()
        r = c.put("/v2/bench/app/manifests/v1", content=manifest, headers={"Content-Type": MANIFEST_TYPE})
        assert r.status_code == 201, r.text
        return digests[0], r.headers["Docker-Content-Digest"]


def check_same_answers(url: str, layer: str, manifest: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.get("/v2/bench/app/manifests/v1", headers={"Accept": ACCEPT.split(": ", 1)[1]})
        assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == manifest, (url, r.status_code)
        r = c.head(f"/v2/bench/app/blobs/{layer}")
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == BLOB_SIZE, (url, r.status_code)


_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def wrk(url: str, threads: int, conns: int, duration: int, header: str | None = None) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    transfer = float(m.group(1)) * _UNITS[m.group(2)] / 1024 ** 2
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "mib_s": transfer, "p99": p99, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}


def run(duration: int) -> list[dict]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = tempfile.mkdtemp(prefix="dy-regbench-")
    storage = os.path.join(work, "storage")
    procs = []
    try:
        dy, dy_url = start_dockyard(storage, work)
        procs.append(dy)
        layer, manifest = populate(dy_url)
        dist, dist_url = start_distribution(storage, work)
        procs.append(dist)
        rows = []
        for name, url in (("dockyard", dy_url), ("docker-registry 2.8.2", dist_url)):
            check_same_answers(url, layer, manifest)
            wrk(f"{url}/v2/bench/app/manifests/v1", 1, 8, 2, ACCEPT)        # warm-up
            blob = wrk(f"{url}/v2/bench/app/blobs/{layer}", 2, 4, duration)
            man = wrk(f"{url}/v2/bench/app/manifests/v1", 2, 64, duration, ACCEPT)
            rows.append({"server": name, "blob": blob, "manifest": man})
            print(f"{name:24s} blob GET {blob['mib_s']:8.0f} MiB/s ({blob['rps']:.1f} req/s, p99 {blob['p99']})   "
                  f"manifest GET {man['rps']:8.0f} req/s (p99 {man['p99']})"
                  + (f"  non-2xx: {blob['non2xx'] + man['non2xx']}" if blob["non2xx"] + man["non2xx"] else ""))
        return rows
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def write_results(rows: list[dict], duration: int) -> None:
    cpu = platform.processor() or platform.machine()
    lines = ["## Registry server", "",
             f"`python bench/registry_server.py --duration {duration}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
             f"{cpu}). Both servers serve the same storage directory (dockyard writes distribution's filesystem "
             "layout) on 127.0.0.1; load from `wrk` on the same machine (it competes for the 2 cores). "
             "Access logs off on both.", "",
             "| server | blob GET 32 MiB, 4 conns (MiB/s) | blob p99 | manifest GET, 64 conns (req/s) | manifest p99 |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['server']} | {r['blob']['mib_s']:.0f} | {r['blob']['p99']} | {r['manifest']['rps']:.0f} | "
                     f"{r['manifest']['p99']} |")
    ours, reference = rows[0]["blob"]["mib_s"], rows[-1]["blob"]["mib_s"]
    lines += ["", f"Blob GET: dockyard at {100 * ours / reference:.0f}% of {rows[-1]['server']}'s throughput "
                  f"(issue 6's target: at least equal); manifest GET at {rows[0]['manifest']['rps'] / rows[-1]['manifest']['rps']:.1f}×.", ""]
    section = "\n".join(lines) + "\n"
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n\n"
    pattern = re.compile(r"^## Registry server\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    with open(RESULTS, "w") as f:
        f.write(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = ap.parse_args()
    rows = run(args.duration)
    if not args.no_write:
        write_results(rows, args.duration)


if __name__ == "__main__":
    main()
