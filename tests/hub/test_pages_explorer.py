"""Layer explorer on blobs stored in a real registry Storage: files added/changed/removed, wasted space,
compression formats, multi-platform indexes and the on-disk cache."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import tarfile

import zstandard

from dockyard.hub.explorer import Explorer, platforms, step_command
from dockyard.registry.server.storage import Storage
from hub_helpers import Image, wait_until


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    """Entries (name, data); data None = a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _put(storage: Storage, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    storage.put_blob(digest, data)
    return {"digest": digest, "size": len(data)}


def _image(storage: Storage, layers: list[bytes], history: list[dict], arch="amd64") -> str:
    config = {"os": "linux", "architecture": arch, "config": {"Cmd": ["sh"], "Labels": {"a": "<b>"}},
              "history": history, "rootfs": {"type": "layers", "diff_ids": []}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_put(storage, json.dumps(config).encode())},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_put(storage, b)} for b in layers]}
    return _put(storage, json.dumps(manifest).encode())["digest"]


def _three_layer_image(storage: Storage) -> str:
    l1 = gzip.compress(_tar([("./", None), ("./a", b"x" * 100), ("dir/", None), ("dir/b", b"y" * 50),
                             ("dir/c", b"z" * 10), ("keep", b"k" * 7)]))
    l2 = zstandard.ZstdCompressor().compress(_tar([("a", b"X" * 200), ("dir/.wh.b", b""), ("new", b"n" * 3)]))
    l3 = _tar([(".wh.dir", b"")])  # plain tar
    history = [{"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
               {"created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": True},
               {"created_by": "/bin/sh -c echo > a && rm dir/b"},
               {"created_by": "RUN /bin/sh -c rm -rf dir # buildkit"}]
    return _image(storage, [l1, l2, l3], history)


def test_files_added_changed_removed_and_wasted_space(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    digest = _three_layer_image(storage)
    result = Explorer(storage, str(tmp_path / "cache")).compute(digest)
    l1, l2, l3 = result["layers"]
    assert [f["path"] for f in l1["added"]["files"]] == ["a", "dir/b", "dir/c", "keep"]
    assert l1["size"] == 167 and l1["changed"]["count"] == 0
    # layer 1's a (100), dir/b (50) and dir/c (10) are overwritten or deleted later: 160 bytes wasted
    assert l1["wasted"] == 160
    assert l2["changed"]["files"] == [{"path": "a", "size": 200}]
    assert l2["added"]["files"] == [{"path": "new", "size": 3}]
    assert l2["removed"]["files"] == [{"path": "dir/b", "size": 50}]
    assert l2["wasted"] == 0
    assert l3["removed"]["files"] == [{"path": "dir/c", "size": 10}] and l3["size"] == 0
    assert result["wasted"] == 160 and result["total_size"] == 370
    assert result["top_wasted"][0] == {"path": "a", "wasted": 100, "copies": 2}
    assert result["platform"] == "linux/amd64"
    assert [s["command"] for s in result["steps"]] == [
        "ADD file:abc in /", "ENV A=1", "RUN /bin/sh -c echo > a && rm dir/b", "RUN /bin/sh -c rm -rf dir # buildkit"]
    assert [s["layer"] for s in result["steps"]] == [0, None, 1, 2]


def test_second_view_comes_from_the_cache(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    digest = _three_layer_image(storage)
    first = Explorer(storage, str(tmp_path / "cache")).compute(digest)
    # A new Explorer (a restarted server) finds the JSON on disk, even with the layer blobs gone.
    for layer in first["layers"]:
        storage.delete_blob(layer["digest"])
    again = asyncio.run(Explorer(storage, str(tmp_path / "cache")).get(digest))
    assert again == json.loads(json.dumps(first))


def test_missing_layers_are_reported_not_cached(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    digest = _three_layer_image(storage)
    manifest = json.loads(storage.read_blob(digest))
    storage.delete_blob(manifest["layers"][1]["digest"])
    ex = Explorer(storage, str(tmp_path / "cache"))
    assert ex.compute(digest)["missing"] == [manifest["layers"][1]["digest"]]
    assert Explorer(storage, str(tmp_path / "cache")).load_cached(digest) is None


def test_multi_platform_index_lists_platforms_without_attestations(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    amd = _image(storage, [_tar([("a", b"1")])], [{"created_by": "x"}], arch="amd64")
    arm = _image(storage, [_tar([("a", b"22")])], [{"created_by": "y"}], arch="arm64")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": amd, "size": 1, "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]}
    idx = _put(storage, json.dumps(index).encode())["digest"]
    assert platforms(storage, idx) == [{"digest": amd, "platform": "linux/amd64"},
                                       {"digest": arm, "platform": "linux/arm64/v8"}]
    ex = Explorer(storage, str(tmp_path / "cache"))
    assert ex.compute(arm)["layers"][0]["size"] == 2
    assert ex.compute(idx) is None  # an index has no layers of its own


def test_step_command_shows_instructions_like_docker_hub():
    assert step_command("/bin/sh -c #(nop)  CMD [\"sh\"]") == 'CMD ["sh"]'
    assert step_command("/bin/sh -c apk add x") == "RUN /bin/sh -c apk add x"
    assert step_command("COPY . / # buildkit") == "COPY . / # buildkit"


def test_a_corrupt_layer_is_reported_not_a_crash(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    bad = b"\x1f\x8b" + b"not really gzip" * 10
    digest = _image(storage, [_tar([("a", b"1")]), bad], [{"created_by": "x"}, {"created_by": "y"}])
    result = Explorer(storage, str(tmp_path / "cache")).compute(digest)
    assert result["layers"][0]["size"] == 1 and result["layers"][1].get("unreadable")
    assert result["missing"] == [result["layers"][1]["digest"]]
    assert Explorer(storage, str(tmp_path / "cache")).load_cached(digest) is None   # tried again next time


def test_a_pushed_image_is_explored_before_anyone_opens_its_page(make_hub):
    """Through a real `serve --hub`: the push alone fills the explorer's cache (keyed by the manifest digest)."""
    server = make_hub()
    server.add_user("pusher")
    digest = server.push("pusher", "pusher/app", "1", Image([_tar([("etc/motd", b"hello")])])).digest
    cache = Explorer(Storage(server.storage), os.path.join(server.storage, "dockyard", "explorer"))
    wait_until(lambda: cache.load_cached(digest), what="the explorer's cache entry")
    assert cache.load_cached(digest)["layers"][0]["added"]["files"] == [{"path": "etc/motd", "size": 5}]
