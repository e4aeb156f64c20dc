"""zstd-compressed layers (`application/vnd.oci.image.layer.v1.tar+zstd`, what buildx `compression=zstd` and
`skopeo --dest-compress-format zstd` write): pull, run, push back, save/load, load of an OCI layout, import,
and corrupt streams. Driven with the real docker CLI against a real dockyard daemon and Debian's
docker-registry, all on 127.0.0.1."""
from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import tarfile
import urllib.request

import pytest
import zstandard

from tests.e2e.daemon_harness import build_busybox_archive, cleanup_daemon, new_daemon

from .helpers import (OCI_MANIFEST, Image, busybox_layer, oci_layout, sha256, skopeo_copy,
                      tar_layer)

OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    busybox = build_busybox_archive(tmp_path_factory.mktemp("images") / "busybox.tar")
    d = new_daemon(tmp_path_factory.mktemp("zstd-daemon"))
    d.start()
    d.docker("load", "-i", str(busybox))
    yield d
    cleanup_daemon(d)


def zstd(data: bytes) -> bytes:
    """A zstd frame with a content checksum, as the zstd CLI and Go's encoder (buildx) write them."""
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def damaged(frame: bytes, how: str) -> bytes:
    if how == "truncated":
        return frame[:len(frame) // 2]
    flipped = bytearray(frame)
    flipped[len(flipped) // 2] ^= 0xFF
    return bytes(flipped)


class ZstdImage(Image):
    """An OCI image whose layers are zstd frames (`damage`: the last layer's frame is "flipped" or
    "truncated", its digest still right, as a broken tool would upload it)."""

    def __init__(self, tars: list[bytes], damage: str = "", **kw):
        super().__init__(tars, **kw)
        self.layers = [zstd(t) for t in tars]
        if damage:
            self.layers[-1] = damaged(self.layers[-1], damage)
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": json.loads(super().__getattribute__("manifest"))["config"],
            "layers": [{"mediaType": OCI_LAYER_ZSTD, "digest": sha256(l), "size": len(l)} for l in self.layers],
        }, sort_keys=True).encode()
        self.digest = sha256(self.manifest)


def manifest_of(base_url: str, repo: str, ref: str) -> dict:
    req = urllib.request.Request(f"{base_url}/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join([
        OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def skopeo_zstd(layout, tag: str, dest: str) -> None:
    """`skopeo copy --dest-compress-format zstd`: skopeo recompresses every layer as zstd on the way."""
    args = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "-q", "--dest-compress-format",
            "zstd", f"oci:{layout}:{tag}", f"docker://{dest}"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def stored_layers(daemon) -> set[str]:
    with sqlite3.connect(daemon.data_root / "dockyard.db") as db:
        return {r[0] for r in db.execute("SELECT diff_id FROM layers")}


@pytest.fixture(scope="module")
def zstd_ref(registry, tmp_path_factory):
    """A two-layer busybox image in the registry with zstd layers, as skopeo writes it."""
    img = Image([busybox_layer(), tar_layer({"etc/motd": b"hello from a zstd layer\n"})], cmd=["sh"])
    skopeo_zstd(oci_layout(tmp_path_factory.mktemp("zl"), "latest", [img]), "latest",
                f"{registry.host}/zstd/busybox:latest")
    manifest = manifest_of(registry.url, "zstd/busybox", "latest")
    assert {l["mediaType"] for l in manifest["layers"]} == {OCI_LAYER_ZSTD}
    return f"{registry.host}/zstd/busybox:latest", img, manifest


def test_zstd_image_pulls_and_runs_with_the_uncompressed_diff_ids(daemon, zstd_ref):
    ref, img, manifest = zstd_ref
    out = daemon.docker("pull", ref).stdout
    for layer in manifest["layers"]:
        assert f"{layer['digest'].split(':')[1][:12]}: Pull complete" in out
    info = json.loads(daemon.docker("image", "inspect", ref).stdout)[0]
    assert info["Id"] == img.id
    assert info["RootFS"]["Layers"] == img.diff_ids  # sha256 of the uncompressed tars
    run = daemon.docker("run", "--rm", ref, "cat", "/etc/motd")
    assert run.stdout == "hello from a zstd layer\n"


def test_pulled_zstd_layers_push_back_as_the_same_blobs(daemon, registry, zstd_ref):
    ref, img, manifest = zstd_ref
    daemon.docker("pull", ref)
    copy = f"{registry.host}/zstd/copy:1"
    daemon.docker("tag", ref, copy)
    daemon.docker("push", copy)
    pushed = manifest_of(registry.url, "zstd/copy", "1")
    assert [(l["mediaType"], l["digest"], l["size"]) for l in pushed["layers"]] == \
        [(l["mediaType"], l["digest"], l["size"]) for l in manifest["layers"]]
    assert pushed["config"]["digest"] == img.id
    # and what was pushed pulls back into the same image
    daemon.docker("rmi", copy)
    daemon.docker("pull", copy)
    assert json.loads(daemon.docker("image", "inspect", copy).stdout)[0]["Id"] == img.id


def test_save_then_load_keeps_the_image_id(daemon, zstd_ref, tmp_path):
    ref, img, _ = zstd_ref
    daemon.docker("pull", ref)
    saved = tmp_path / "saved.tar"
    daemon.docker("save", "-o", str(saved), ref)
    daemon.docker("rmi", ref)
    out = daemon.docker("load", "-i", str(saved)).stdout
    assert f"Loaded image: {ref}" in out
    assert json.loads(daemon.docker("image", "inspect", ref).stdout)[0]["Id"] == img.id
    assert daemon.docker("run", "--rm", ref, "cat", "/etc/motd").stdout == "hello from a zstd layer\n"


def _layout_tar(layout, dest):
    with tarfile.open(dest, "w") as tar:
        tar.add(layout, arcname=".")
    return dest


def test_load_of_an_oci_layout_with_zstd_blobs(daemon, tmp_path):
    img = ZstdImage([busybox_layer(), tar_layer({"etc/motd": b"loaded from zstd blobs\n"})], cmd=["sh"])
    layout = oci_layout(tmp_path / "layout", "zstd-load:1", [img])
    out = daemon.docker("load", "-i", str(_layout_tar(layout, tmp_path / "layout.tar"))).stdout
    assert "Loaded image: zstd-load:1" in out
    info = json.loads(daemon.docker("image", "inspect", "zstd-load:1").stdout)[0]
    assert info["Id"] == img.id and info["RootFS"]["Layers"] == img.diff_ids
    assert daemon.docker("run", "--rm", "zstd-load:1", "cat", "/etc/motd").stdout == "loaded from zstd blobs\n"


def test_import_of_a_zstd_compressed_rootfs_tar(daemon, tmp_path):
    # moby's DetectCompression knows the zstd magic, so `docker import x.tar.zst` works there
    path = tmp_path / "rootfs.tar.zst"
    path.write_bytes(zstd(
        tar_layer({"etc/motd": b"imported from zstd\n", "bin/busybox": open("/bin/busybox", "rb").read()},
                  {"bin/cat": "busybox"})))
    image_id = daemon.docker("import", str(path), "zstd-import:1").stdout.strip()
    assert image_id.startswith("sha256:")
    assert daemon.docker("run", "--rm", "zstd-import:1", "/bin/cat", "/etc/motd").stdout == "imported from zstd\n"


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_corrupt_zstd_layer_fails_the_pull_clearly_and_stores_nothing(daemon, registry, tmp_path, damage):
    img = ZstdImage([tar_layer({"zbad/ok": b"fine\n"}), tar_layer({"zbad/bad": os.urandom(200_000)})],
                    damage=damage)
    ref = f"{registry.host}/zstd/{damage}:v1"
    skopeo_copy(oci_layout(tmp_path / "bad", "v1", [img]), "v1", ref)
    r = daemon.docker("pull", ref, check=False)
    assert r.returncode == 1
    assert "zstd decompress error" in r.stderr, r.stderr
    assert daemon.docker("image", "inspect", ref, check=False).returncode == 1
    assert img.diff_ids[1] not in stored_layers(daemon)
    assert not (daemon.data_root / "content" / "blobs" / "sha256" / sha256(img.layers[1]).split(":")[1]).exists()


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_corrupt_zstd_blob_fails_the_load_clearly_and_stores_nothing(daemon, tmp_path, damage):
    img = ZstdImage([tar_layer({"zload/ok": b"fine\n"}), tar_layer({"zload/bad": os.urandom(200_000)})],
                    damage=damage)
    layout = oci_layout(tmp_path / "layout", f"zstd-{damage}:1", [img])
    r = daemon.docker("load", "-i", str(_layout_tar(layout, tmp_path / "layout.tar")), check=False)
    assert r.returncode == 1
    assert "zstd decompress error" in r.stderr, r.stderr
    assert daemon.docker("image", "inspect", f"zstd-{damage}:1", check=False).returncode == 1
    assert img.diff_ids[1] not in stored_layers(daemon)


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_corrupt_zstd_rootfs_fails_the_import_clearly(daemon, tmp_path, damage):
    path = tmp_path / "rootfs.tar.zst"
    path.write_bytes(damaged(zstd(tar_layer({"zimport/big": os.urandom(200_000)})), damage))
    r = daemon.docker("import", str(path), f"zstd-import-{damage}:1", check=False)
    assert r.returncode == 1
    assert "zstd decompress error" in r.stderr, r.stderr
    assert daemon.docker("image", "inspect", f"zstd-import-{damage}:1", check=False).returncode == 1


def test_zstd_rootfs_cut_between_frames_is_refused_not_imported_short(daemon, tmp_path):
    """A multi-frame stream (as pzstd writes) cut just after a frame that ends on a tar member boundary:
    the tar reader sees a clean end, so only the zstd framing tells that the second file is missing."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in ("first", "second"):
            info = tarfile.TarInfo(name)
            info.size = 512
            tar.addfile(info, io.BytesIO(b"x" * 512))
    data = buf.getvalue()
    boundary = 1024  # header + 512 bytes of "first"
    path = tmp_path / "cut.tar.zst"
    path.write_bytes(zstd(data[:boundary]) + zstd(data[boundary:])[:12])
    r = daemon.docker("import", str(path), "zstd-cut:1", check=False)
    assert r.returncode == 1, "a rootfs without its second file was imported"
    assert "zstd decompress error: unexpected EOF" in r.stderr, r.stderr
    assert daemon.docker("image", "inspect", "zstd-cut:1", check=False).returncode == 1


@pytest.fixture
def own_registry(tmp_path):
    """dockyard's own registry server (`dockyard registry serve`), open, on a free loopback port."""
    from tests.e2e.test_own_registry import start_registry

    host, proc = start_registry(tmp_path, {})
    yield host
    proc.terminate()
    proc.wait(10)


def test_zstd_image_through_our_own_registry_server(daemon, own_registry, tmp_path):
    img = Image([busybox_layer(), tar_layer({"etc/motd": b"zstd via our registry\n"})], cmd=["sh"])
    skopeo_zstd(oci_layout(tmp_path / "l", "1", [img]), "1", f"{own_registry}/zown/box:1")
    sent = manifest_of(f"http://{own_registry}", "zown/box", "1")
    ref = f"{own_registry}/zown/box:1"
    daemon.docker("pull", ref)
    assert daemon.docker("run", "--rm", ref, "cat", "/etc/motd").stdout == "zstd via our registry\n"
    daemon.docker("tag", ref, f"{own_registry}/zown/again:1")
    daemon.docker("push", f"{own_registry}/zown/again:1")
    again = manifest_of(f"http://{own_registry}", "zown/again", "1")
    assert again["mediaType"] == OCI_MANIFEST
    assert [l["digest"] for l in again["layers"]] == [l["digest"] for l in sent["layers"]]
    assert {l["mediaType"] for l in again["layers"]} == {OCI_LAYER_ZSTD}
