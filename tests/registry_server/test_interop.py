"""Interop with independent clients (skopeo, podman) over real sockets."""
import concurrent.futures
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from regsrv_helpers import OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Image, busybox_layer, oci_layout, push_blob, sha256, skopeo


def _dest(server, ref):
    return ["--dest-tls-verify=false", f"docker://{server.host}/{ref}"]


def test_multilayer_push_then_second_push_mounts_shared_layers(registry, tmp_path):
    base = busybox_layer()
    a = Image([base, os.urandom(1 << 20), b"a" * 1000], label="a")
    b = Image([base, os.urandom(1 << 20)], label="b")
    oci_layout(str(tmp_path / "a"), {"1": a})
    oci_layout(str(tmp_path / "b"), {"1": b})
    skopeo("copy", f"oci:{tmp_path}/a:1", *_dest(registry, "interop/a:1"))
    skopeo("copy", f"oci:{tmp_path}/b:1", *_dest(registry, "interop/b:1"))

    # The shared busybox layer reached interop/b by a cross-repository mount, not a second upload.
    shared = sha256(a.layers[0])
    log = registry.access_log()
    mounts = [e for e in log if e["path"].startswith("/v2/interop/b/blobs/uploads/") and "mount=" in e["path"]
              and shared.split(":")[1] in e["path"]]
    assert mounts and mounts[-1]["status"] == 201
    assert not [e for e in log if e["method"] in ("PATCH", "PUT") and e["path"].startswith("/v2/interop/b/blobs/uploads/")
                and e["bytes_received"] == len(a.layers[0])]

    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/interop/b:1").stdout)
    assert info["Layers"] == [sha256(layer) for layer in b.layers]
    assert info["Digest"] == b.digest
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host}/interop/a").stdout)
    assert tags["Tags"] == ["1"]

    # Round trip: copy back out and compare every blob.
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/interop/a:1", f"oci:{tmp_path}/out:1")
    for blob in [*a.blobs(), a.manifest]:
        with open(tmp_path / "out" / "blobs" / "sha256" / sha256(blob)[7:], "rb") as f:
            assert f.read() == blob

    skopeo("delete", "--tls-verify=false", f"docker://{registry.host}/interop/a:1")
    r = skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/interop/a:1", check=False)
    assert r.returncode != 0 and "manifest unknown" in r.stderr.lower()


def test_oci_index_with_two_platforms(registry, tmp_path):
    amd = Image([busybox_layer()], arch="amd64")
    arm = Image([os.urandom(2000)], arch="arm64")
    oci_layout(str(tmp_path / "idx"), {"amd": amd, "arm": arm}, index_tag="multi")
    skopeo("copy", "--all", f"oci:{tmp_path}/idx:multi", *_dest(registry, "interop/index:multi"))
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                            f"docker://{registry.host}/interop/index:multi").stdout)
    assert raw["mediaType"] == OCI_INDEX
    assert {m["digest"] for m in raw["manifests"]} == {amd.digest, arm.digest}
    with registry.client() as c:
        r = c.get(f"/v2/interop/index/manifests/{arm.digest}")
        assert r.status_code == 200 and r.headers["Content-Type"] == OCI_MANIFEST
    info = json.loads(skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64",
                             f"docker://{registry.host}/interop/index:multi").stdout)
    assert info["Architecture"] == "arm64"
    assert info["Layers"] == [sha256(layer) for layer in arm.layers]


def test_100mb_layer_uploaded_in_chunks(registry, tmp_path):
    chunk = 10 * 1024 * 1024
    # A valid gzip layer of ~100 MiB (level 0 = stored blocks: fast to make), sent in 10 MiB chunks.
    data = gzip.compress(os.urandom(10 * chunk - 8000), compresslevel=0)
    digest = sha256(data)
    with registry.client() as c:
        r = c.post("/v2/interop/big/blobs/uploads/")
        loc = r.headers["Location"]
        for off in range(0, len(data), chunk):
            piece = data[off:off + chunk]
            r = c.patch(loc, content=piece, headers={"Content-Range": f"{off}-{off + len(piece) - 1}",
                                                     "Content-Type": "application/octet-stream"})
            assert r.status_code == 202 and r.headers["Range"] == f"0-{off + len(piece) - 1}"
        r = c.put(loc, params={"digest": digest})
        assert r.status_code == 201
        img_config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
        push_blob(c, "interop/big", img_config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha256(img_config), "size": len(img_config)},
                               "layers": [{"mediaType": OCI_LAYER + "+gzip", "digest": digest, "size": len(data)}]}).encode()
        assert c.put("/v2/interop/big/manifests/1", content=manifest,
                     headers={"Content-Type": OCI_MANIFEST}).status_code == 201
    # An independent client pulls it back intact.
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/interop/big:1", f"oci:{tmp_path}/big:1")
    h = hashlib.sha256()
    with open(tmp_path / "big" / "blobs" / "sha256" / digest[7:], "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    assert "sha256:" + h.hexdigest() == digest


def test_four_concurrent_pushes(registry, tmp_path):
    base = busybox_layer()
    images = [Image([base, os.urandom(2 << 20)], label=str(i)) for i in range(4)]
    for i, img in enumerate(images):
        oci_layout(str(tmp_path / f"c{i}"), {"1": img})
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: skopeo("copy", f"oci:{tmp_path}/c{i}:1", *_dest(registry, f"interop/conc{i}:1")),
                      range(4)))
    for i, img in enumerate(images):
        info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/interop/conc{i}:1").stdout)
        assert info["Digest"] == img.digest
    with registry.client() as c:
        catalog = c.get("/v2/_catalog").json()["repositories"]
    assert {f"interop/conc{i}" for i in range(4)} <= set(catalog)
    hexpart = sha256(images[0].layers[0])[7:]
    assert os.listdir(os.path.join(registry.storage, "docker/registry/v2/blobs/sha256", hexpart[:2])).count(hexpart) == 1


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (apt-get install podman)")
def test_podman_pull_and_push(registry, tmp_path):
    img = Image([busybox_layer()], label="podman")
    oci_layout(str(tmp_path / "p"), {"1": img})
    skopeo("copy", f"oci:{tmp_path}/p:1", *_dest(registry, "interop/podman:1"))
    runroot = tempfile.mkdtemp(prefix="dy-podman-")    # podman wants a runroot path under 50 characters
    podman = ["podman", "--root", str(tmp_path / "root"), "--runroot", runroot, "--storage-driver", "vfs"]
    try:
        _podman_round_trip(registry, podman)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def _podman_round_trip(registry, podman):
    r = subprocess.run([*podman, "pull", "--tls-verify=false", f"{registry.host}/interop/podman:1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*podman, "push", "--tls-verify=false", f"{registry.host}/interop/podman:1",
                        f"{registry.host}/interop/podman-copy:2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with registry.client() as c:
        assert c.get("/v2/interop/podman-copy/tags/list").json()["tags"] == ["2"]
        r = c.get("/v2/interop/podman-copy/manifests/2",
                  headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json, " + OCI_MANIFEST})
        assert r.status_code == 200
        assert [layer["size"] for layer in r.json()["layers"]]
