"""docker-archive / OCI layout writing and reading, and interop with skopeo (an independent implementation)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import InvalidParameter
from dockyard.image import archive
from dockyard.image.archive import ArchiveImage, LayerSource, read_archive, write_docker_archive
from dockyard.image.unpack import apply_layer

REPO = Path(__file__).resolve().parents[2]
needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")


def layer_tar(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_for(layers: list, cmd="sh") -> bytes:
    return json.dumps({"architecture": archive.host_platform()[1], "os": "linux",
                       "created": "2024-01-01T00:00:00.123456789Z", "config": {"Cmd": [cmd]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]}},
                      sort_keys=True).encode()


def source(data: bytes, known_size=True) -> LayerSource:
    return LayerSource(sha(data), lambda: io.BytesIO(data), len(data) if known_size else None)


BASE = layer_tar({"bin/sh": b"shell"})
APP = layer_tar({"app/run": b"app"})


def two_images():
    base_cfg, app_cfg = config_for([BASE]), config_for([BASE, APP], cmd="/app/run")
    return [ArchiveImage(base_cfg, ["busybox:latest", "me/base:1"], [source(BASE)]),
            ArchiveImage(app_cfg, [], [source(BASE, known_size=False), source(APP)])]


def write(images) -> bytes:
    buf = io.BytesIO()
    write_docker_archive(buf, images)
    return buf.getvalue()


def members(data: bytes) -> dict:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def read_layers(img) -> list:
    out = []
    for opener in img.layer_openers:
        with opener() as f:
            out.append(f.read())
    return out


# ----------------------------------------------------------------------------- writer layout
def test_written_archive_has_dockers_layout(tmp_path):
    images = two_images()
    files = members(write(images))
    base_id, app_id = sha(images[0].config_bytes), sha(images[1].config_bytes)
    blobs = {n for n in files if n.startswith("blobs/sha256/") and files[n] is not None}
    # shared base layer stored once; configs and layers named by digest; two OCI manifests
    assert {f"blobs/sha256/{d[7:]}" for d in (base_id, app_id, sha(BASE), sha(APP))} <= blobs
    assert len(blobs) == 6
    assert files["oci-layout"] == b'{"imageLayoutVersion": "1.0.0"}'
    manifest = json.loads(files["manifest.json"])
    assert manifest[0] == {
        "Config": f"blobs/sha256/{base_id[7:]}",
        "RepoTags": ["busybox:latest", "me/base:1"],
        "Layers": [f"blobs/sha256/{sha(BASE)[7:]}"],
        "LayerSources": {sha(BASE): {"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                     "size": len(BASE), "digest": sha(BASE)}},
    }
    assert manifest[1]["RepoTags"] is None and len(manifest[1]["Layers"]) == 2
    assert json.loads(files["repositories"]) == {"busybox": {"latest": sha(BASE)[7:]},
                                                 "me/base": {"1": sha(BASE)[7:]}}
    index = json.loads(files["index.json"])
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m.get("annotations") for m in index["manifests"]] == [
        {"io.containerd.image.name": "docker.io/library/busybox:latest", "org.opencontainers.image.ref.name": "latest"},
        {"io.containerd.image.name": "docker.io/me/base:1", "org.opencontainers.image.ref.name": "1"},
        None]
    oci_manifest = json.loads(files[f"blobs/sha256/{index['manifests'][2]['digest'][7:]}"])
    assert oci_manifest["config"]["digest"] == app_id
    assert [l["digest"] for l in oci_manifest["layers"]] == [sha(BASE), sha(APP)]


def test_writer_refuses_a_layer_that_does_not_match_its_diff_id():
    bad = LayerSource(sha(b"something else"), lambda: io.BytesIO(BASE), len(BASE))
    with pytest.raises(InvalidParameter, match="digest mismatch"):
        write([ArchiveImage(config_for([BASE]), ["x:1"], [bad])])


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("as_dir", [False, True], ids=["tar-stream", "extracted-dir"])
def test_round_trip(tmp_path, as_dir):
    images = two_images()
    data = write(images)
    if as_dir:
        d = tmp_path / "x"
        d.mkdir()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(d)  # the test's own archive (Debian 12's python 3.11.2 has no filter=)
        got = read_archive(str(d))
    else:
        got = read_archive(io.BytesIO(data), str(tmp_path / "work"))
    assert [g.config_bytes for g in got] == [i.config_bytes for i in images]
    assert [g.image_id for g in got] == [sha(i.config_bytes) for i in images]
    assert [g.repo_tags for g in got] == [["busybox:latest", "me/base:1"], []]
    assert got[1].diff_ids == [sha(BASE), sha(APP)]
    assert read_layers(got[1]) == [BASE, APP]


def test_tampered_layer_is_detected_when_read(tmp_path):
    data = write(two_images()[:1])
    got = read_archive(io.BytesIO(data), str(tmp_path))
    blob = tmp_path / "blobs/sha256" / sha(BASE)[7:]
    blob.write_bytes(BASE.replace(b"shell", b"SHELL"))
    with pytest.raises(InvalidParameter, match="digest mismatch"):
        read_layers(got[0])


def test_tampered_config_is_refused(tmp_path):
    data = write(two_images()[:1])
    work = tmp_path / "w"
    read_archive(io.BytesIO(data), str(work))
    cfg = work / "blobs/sha256" / sha(config_for([BASE]))[7:]
    cfg.write_bytes(cfg.read_bytes().replace(b'"sh"', b'"xx"'))
    with pytest.raises(InvalidParameter, match="does not match its digest"):
        read_archive(str(work))


def test_truncated_archive_is_refused(tmp_path):
    data = write(two_images())
    with pytest.raises(InvalidParameter, match="truncated"):
        read_archive(io.BytesIO(data[: len(data) // 2]), str(tmp_path))


def test_not_an_archive(tmp_path):
    with pytest.raises(InvalidParameter, match="neither manifest.json nor index.json"):
        read_archive(io.BytesIO(layer_tar({"hello": b"x"})), str(tmp_path))


def test_layer_count_must_match_the_config(tmp_path):
    cfg = config_for([BASE, APP])
    with pytest.raises(InvalidParameter, match="diff IDs"):
        read_archive(io.BytesIO(write([ArchiveImage(cfg, ["x:1"], [source(BASE)])])), str(tmp_path))


def test_hostile_outer_tar_cannot_escape_the_work_dir(tmp_path):
    evil = layer_tar({"../escaped": b"x"})
    with pytest.raises(InvalidParameter, match="escapes"):
        read_archive(io.BytesIO(evil), str(tmp_path / "work"))
    assert not (tmp_path / "escaped").exists()


def test_old_docker_layout_with_layer_tar_dirs_and_symlinked_duplicates(tmp_path):
    """Docker < 25: `<v1id>/layer.tar`, `<config hex>.json`; duplicate layers saved as symlinks."""
    cfg = config_for([BASE, APP, BASE])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("aaa/layer.tar", BASE)
        add("bbb/layer.tar", APP)
        link = tarfile.TarInfo("ccc/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        tar.addfile(link)
        add(f"{sha(cfg)[7:]}.json", cfg)
        add("manifest.json", json.dumps([{"Config": f"{sha(cfg)[7:]}.json", "RepoTags": ["old:1"],
                                          "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"]}]).encode())
    got = read_archive(io.BytesIO(buf.getvalue()), str(tmp_path))
    assert got[0].repo_tags == ["old:1"] and got[0].image_id == sha(cfg)
    assert read_layers(got[0]) == [BASE, APP, BASE]


# ----------------------------------------------------------------------------- OCI layouts
def oci_layout(tmp_path, platforms, annotations=None, compress=False) -> Path:
    """An OCI layout whose index.json points at a nested index with one manifest per platform."""
    root = tmp_path / "oci"
    blobs = root / "blobs/sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict:
        (blobs / sha(data)[7:]).write_bytes(data)
        return {"digest": sha(data), "size": len(data)}

    entries = []
    for os_name, arch in platforms:
        layer = layer_tar({"arch": arch.encode()})
        cfg = json.dumps({"architecture": arch, "os": os_name,
                          "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
        blob = gzip.compress(layer, mtime=0) if compress else layer
        manifest = json.dumps({"schemaVersion": 2, "mediaType": archive.MEDIA_OCI_MANIFEST,
                               "config": {"mediaType": archive.MEDIA_OCI_CONFIG, **put(cfg)},
                               "layers": [{"mediaType": archive.MEDIA_OCI_LAYER + ("+gzip" if compress else ""),
                                           **put(blob)}]}).encode()
        entries.append({"mediaType": archive.MEDIA_OCI_MANIFEST, **put(manifest),
                        "platform": {"os": os_name, "architecture": arch}})
    nested = json.dumps({"schemaVersion": 2, "mediaType": archive.MEDIA_OCI_INDEX, "manifests": entries}).encode()
    top = {"mediaType": archive.MEDIA_OCI_INDEX, **put(nested)}
    if annotations:
        top["annotations"] = annotations
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def test_nested_index_picks_the_host_platform(tmp_path):
    host_arch = archive.host_platform()[1]
    other = "s390x" if host_arch != "s390x" else "amd64"
    root = oci_layout(tmp_path, [("linux", other), ("linux", host_arch)],
                      annotations={"io.containerd.image.name": "docker.io/library/multi:2"}, compress=True)
    [img] = read_archive(str(root))
    assert json.loads(img.config_bytes)["architecture"] == host_arch
    assert img.repo_tags == ["multi:2"]
    dest = tmp_path / "rootfs"
    dest.mkdir()
    with img.layer_openers[0]() as f:
        apply_layer(f, str(dest), mode="vfs")  # gzip blob: verified compressed, unpacked by magic
    assert (dest / "arch").read_text() == host_arch


def test_layout_without_the_host_platform_is_refused(tmp_path):
    root = oci_layout(tmp_path, [("linux", "no-such-arch")])
    with pytest.raises(InvalidParameter, match="no image for this platform"):
        read_archive(str(root))


def test_bare_ref_name_tag_gives_an_untagged_image(tmp_path):
    root = oci_layout(tmp_path, [("linux", archive.host_platform()[1])],
                      annotations={"org.opencontainers.image.ref.name": "latest"})
    assert read_archive(str(root))[0].repo_tags == []


# ----------------------------------------------------------------------------- skopeo interop
@pytest.fixture(scope="module")
def busybox_tar(tmp_path_factory):
    out = tmp_path_factory.mktemp("bb") / "busybox.tar"
    subprocess.run([sys.executable, str(REPO / "scripts/mkimage-busybox"), "-o", str(out)], check=True, capture_output=True)
    return out


def skopeo(*args) -> str:
    return subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True, text=True).stdout


@needs_skopeo
def test_skopeo_reads_what_mkimage_busybox_writes(busybox_tar, tmp_path):
    [img] = read_archive(io.BytesIO(busybox_tar.read_bytes()), str(tmp_path))
    info = json.loads(skopeo("inspect", f"docker-archive:{busybox_tar}"))
    assert info["Layers"] == img.diff_ids
    assert info["Os"] == "linux" and info["Architecture"] == archive.host_platform()[1]
    raw_config = skopeo("inspect", "--config", "--raw", f"docker-archive:{busybox_tar}")
    assert sha(raw_config.encode()) == img.image_id
    # the same file is also a valid OCI layout archive
    oci_info = json.loads(skopeo("inspect", f"oci-archive:{busybox_tar}"))
    assert oci_info["Layers"] == img.diff_ids


@needs_skopeo
def test_reading_an_oci_layout_written_by_skopeo(busybox_tar, tmp_path):
    layout = tmp_path / "layout"
    skopeo("copy", f"docker-archive:{busybox_tar}", f"oci:{layout}:latest")
    [ours] = read_archive(io.BytesIO(busybox_tar.read_bytes()), str(tmp_path / "w1"))
    [theirs] = read_archive(str(layout))
    assert theirs.diff_ids == ours.diff_ids
    assert json.loads(theirs.config_bytes)["config"]["Cmd"] == ["sh"]
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with theirs.layer_openers[0]() as f:  # skopeo gzips the layer
        apply_layer(f, str(rootfs), mode="vfs")
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    # and as a tar stream of that layout
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(layout, arcname=".")
    buf.seek(0)
    assert read_archive(buf, str(tmp_path / "w2"))[0].diff_ids == ours.diff_ids


@needs_skopeo
def test_reading_a_docker_archive_written_by_skopeo(busybox_tar, tmp_path):
    out = tmp_path / "re.tar"
    skopeo("copy", f"docker-archive:{busybox_tar}", f"docker-archive:{out}:again/busybox:2")
    [img] = read_archive(io.BytesIO(out.read_bytes()), str(tmp_path / "w"))
    assert img.repo_tags == ["again/busybox:2"]
    assert [sha(layer) for layer in read_layers(img)] == img.diff_ids


# ----------------------------------------------------------------------------- the image scripts
def test_mkimage_busybox_is_deterministic_and_complete(busybox_tar, tmp_path):
    again = tmp_path / "again.tar"
    subprocess.run([sys.executable, str(REPO / "scripts/mkimage-busybox"), "-o", str(again), "-t", "busybox:latest"],
                   check=True, capture_output=True)
    assert again.read_bytes() == busybox_tar.read_bytes()
    [img] = read_archive(io.BytesIO(busybox_tar.read_bytes()), str(tmp_path / "w"))
    assert img.repo_tags == ["busybox:latest"]
    config = json.loads(img.config_bytes)
    assert config["config"]["Cmd"] == ["sh"]
    assert config["config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert config["created"] == "2024-01-01T00:00:00Z"
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with img.layer_openers[0]() as f:
        apply_layer(f, str(rootfs), mode="vfs")
    assert (os.stat(rootfs / "tmp").st_mode & 0o7777) == 0o1777
    assert "root:x:0:0" in (rootfs / "etc/passwd").read_text()
    assert "nobody" in (rootfs / "etc/group").read_text()
    for d in ("bin", "etc", "proc", "sys", "dev", "root", "var", "home", "usr/bin"):
        assert (rootfs / d).is_dir()
    out = subprocess.run(["chroot", str(rootfs), "/bin/sh", "-c", "echo hi from $(basename $0)"],
                         capture_output=True, text=True)
    assert out.stdout == "hi from sh\n"


def test_mkimage_hello(tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    out = tmp_path / "hello.tar"
    subprocess.run([sys.executable, str(REPO / "scripts/mkimage-hello"), "-o", str(out)], check=True, capture_output=True)
    [img] = read_archive(io.BytesIO(out.read_bytes()), str(tmp_path / "w"))
    assert img.repo_tags == ["hello-world:latest"]
    assert json.loads(img.config_bytes)["config"]["Cmd"] == ["/hello"]
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with img.layer_openers[0]() as f:
        apply_layer(f, str(rootfs), mode="vfs")
    assert os.listdir(rootfs) == ["hello"]
    run = subprocess.run([str(rootfs / "hello")], capture_output=True, text=True)
    assert run.returncode == 0 and "Hello from Docker!" in run.stdout
