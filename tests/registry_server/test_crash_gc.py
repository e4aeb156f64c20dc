"""Durability: SIGKILL during a big upload, restart; restart persistence; garbage collection."""
import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from regsrv_helpers import Image, push_blob, push_image, sha256


def test_sigkill_during_100mb_upload_then_restart(make_server):
    srv = make_server()
    before = Image([b"already here"])
    data = os.urandom(100 * 1024 * 1024)
    digest = sha256(data)
    with srv.client() as c:
        push_image(c, "crash/app", "v1", before)
        loc = c.post("/v2/crash/app/blobs/uploads/").headers["Location"]

    sent = threading.Event()

    def body():
        for off in range(0, len(data), 1 << 20):
            if off >= 40 * (1 << 20):
                sent.set()
                time.sleep(0.2)      # slow down: the server is killed while the body is still streaming
            yield data[off:off + (1 << 20)]

    def upload():
        try:
            httpx.put(srv.url + loc, params={"digest": digest}, content=body(), timeout=30)
        except httpx.HTTPError:
            pass

    t = threading.Thread(target=upload)
    t.start()
    assert sent.wait(30)
    srv.stop(sig=signal.SIGKILL)
    assert srv.proc.returncode == -signal.SIGKILL
    t.join(30)
    srv.start()

    with srv.client() as c:
        # Nothing half-written is visible; what was there before is intact.
        assert c.head(f"/v2/crash/app/blobs/{digest}").status_code == 404
        assert c.get("/v2/crash/app/tags/list").json()["tags"] == ["v1"]
        r = c.get("/v2/crash/app/manifests/v1")
        assert r.status_code == 200 and r.content == before.manifest
        assert c.get(f"/v2/crash/app/blobs/{sha256(before.layers[0])}").content == before.layers[0]

        # The interrupted upload can be resumed from the offset the server reports...
        r = c.get(loc)
        assert r.status_code == 204
        offset = int(r.headers["Range"].split("-")[1]) + 1
        assert 0 < offset < len(data)
        r = c.put(loc, params={"digest": digest}, content=data[offset:],
                  headers={"Content-Range": f"{offset}-{len(data) - 1}"})
        assert r.status_code == 201, r.text
        assert c.head(f"/v2/crash/app/blobs/{digest}").headers["Content-Length"] == str(len(data))

        # ...or simply redone from scratch in another repository.
        assert push_blob(c, "crash/again", data) == digest
        assert c.head(f"/v2/crash/again/blobs/{digest}").status_code == 200
    for dirpath, _, files in os.walk(srv.storage):
        assert not [f for f in files if f.startswith(".tmp-")], dirpath


def test_sigterm_is_a_clean_shutdown_and_data_persists(make_server):
    srv = make_server()
    img = Image([b"persist me"])
    with srv.client() as c:
        push_image(c, "persist/app", "v1", img)
    assert srv.stop() == 0
    assert "shutting down" in srv.log()
    srv.start()
    with srv.client() as c:
        assert c.get("/v2/persist/app/manifests/v1").content == img.manifest
        assert c.get("/v2/_catalog").json()["repositories"] == ["persist/app"]


def _gc(srv, *args):
    return subprocess.run([sys.executable, "-m", "dockyard.registry.server", "garbage-collect",
                           "--storage", srv.storage, *args], capture_output=True, text=True, timeout=60)


def test_garbage_collect(make_server):
    srv = make_server()
    shared = b"shared layer"
    keep, drop = Image([shared, b"keep only"]), Image([shared, b"drop only"])
    with srv.client() as c:
        push_image(c, "gc/keep", "v1", keep)
        push_image(c, "gc/drop", "v1", drop)
        orphan = push_blob(c, "gc/keep", b"never referenced")
        assert c.delete(f"/v2/gc/drop/manifests/{drop.digest}").status_code == 202
    srv.stop()
    unreferenced = {sha256(drop.layers[1]), drop.digest, sha256(drop.config), orphan}

    dry = _gc(srv, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert {line.split()[-1] for line in dry.stdout.splitlines() if line.startswith("would delete blob")} == unreferenced
    assert os.path.exists(os.path.join(srv.storage, "docker/registry/v2/blobs/sha256", orphan[7:9], orphan[7:]))

    real = _gc(srv)
    assert real.returncode == 0, real.stderr
    assert {line.split()[-1] for line in real.stdout.splitlines() if line.startswith("deleted blob")} == unreferenced

    srv.start()
    with srv.client() as c:
        assert c.get("/v2/gc/keep/manifests/v1").content == keep.manifest
        for blob in keep.blobs():
            assert c.get(f"/v2/gc/keep/blobs/{sha256(blob)}").content == blob
        assert c.head(f"/v2/gc/keep/blobs/{orphan}").status_code == 404
        assert c.head(f"/v2/gc/drop/blobs/{sha256(drop.layers[1])}").status_code == 404
