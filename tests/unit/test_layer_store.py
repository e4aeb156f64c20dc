"""The layer store on both snapshot drivers: chain IDs, sharing, whiteouts, diffs, release."""
import io
import os
import tarfile

import pytest

from dockyard.store.content import ContentStore
from dockyard.image.layers import LayerStore, chain_id_of
from dockyard.store.metadata import Metadata
from tests.store.snapshotters import NAMES, snapshotter_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mounts")


def layer_tar(files: dict[str, bytes], whiteouts=()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = sorted({os.path.dirname(p) for p in list(files) + list(whiteouts) if os.path.dirname(p)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for path in whiteouts:
            d, base = os.path.split(path)
            info = tarfile.TarInfo(os.path.join(d, ".wh." + base))
            tar.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


@pytest.fixture(params=NAMES)
def store(request, tmp_path):
    md = Metadata(tmp_path / "db")
    content = ContentStore(tmp_path / "content")
    s = LayerStore(md, content, snapshotter_for(request.param, tmp_path))
    yield s
    for row in md.query("SELECT 1"):
        pass
    for rw in ("c1",):
        s.remove_rw(rw)


def test_register_is_content_addressed_and_shared(store):
    data = layer_tar({"etc/hello": b"hi\n"})
    a = store.register(io.BytesIO(data), None)
    b = store.register(io.BytesIO(data), None)
    assert a == b  # the same layer is stored once
    assert a.chain_id == a.diff_id
    top = store.register(io.BytesIO(layer_tar({"etc/two": b"2"})), a.chain_id)
    assert top.chain_id == chain_id_of(a.chain_id, top.diff_id)
    assert [l.chain_id for l in store.chain(top.chain_id)] == [a.chain_id, top.chain_id]
    with store.open_tar(a.diff_id) as f:  # the exact bytes behind the diff ID are kept
        assert f.read() == data


def test_container_sees_stacked_layers_with_whiteouts_and_diff(store):
    base = store.register(io.BytesIO(layer_tar({"a/keep": b"1", "a/gone": b"2"})), None)
    top = store.register(io.BytesIO(layer_tar({"a/new": b"3"}, whiteouts=["a/gone"])), base.chain_id)
    store.create_rw("c1", top.chain_id)
    root = store.mount_rw("c1", top.chain_id)
    assert sorted(os.listdir(root / "a")) == ["keep", "new"]
    (root / "a" / "made").write_text("x")
    os.unlink(root / "a" / "keep")
    changes = {(c["Path"], c["Kind"]) for c in store.rw_changes("c1", top.chain_id)}
    assert {("/a/made", 1), ("/a/keep", 2), ("/a", 0)} <= changes
    out = io.BytesIO()
    store.write_rw_diff("c1", top.chain_id, out)
    names = tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames()
    assert "a/made" in names and "a/.wh.keep" in names


def test_release_removes_only_unreferenced_layers(store):
    base = store.register(io.BytesIO(layer_tar({"x": b"1"})), None)
    top = store.register(io.BytesIO(layer_tar({"y": b"2"})), base.chain_id)
    store.release([base.chain_id])  # still the parent of `top`
    assert store.get(base.chain_id) is not None
    store.release([top.chain_id, base.chain_id])
    assert store.get(top.chain_id) is None and store.get(base.chain_id) is None
    assert list(store.content.blobs_dir.iterdir()) == []


def test_corrupt_layer_registers_nothing(store):
    data = layer_tar({"big": b"x" * 100000})
    with pytest.raises(Exception):
        store.register(io.BytesIO(data[:5000]), None)
    assert store.md.query("SELECT * FROM layers") == []
    assert list(store.content.blobs_dir.iterdir()) == []


def test_an_overlay_create_makes_only_the_rw_diff_dir_until_the_first_mount(tmp_path):
    """Each dir a `docker create` makes costs (up to half a millisecond on a slow disk): the RW layer's work dir
    and mount point come with its first mount, and it gets no short link, being nobody's lower dir."""
    store = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"),
                       snapshotter_for("overlay2", tmp_path))
    base = store.register(io.BytesIO(layer_tar({"a": b"1"})), None)
    root = store.driver.root
    links = set(os.listdir(root / "l"))
    store.create_rw("c1", base.chain_id)
    assert os.listdir(root / "c1") == ["diff"] and set(os.listdir(root / "l")) == links | {
        (root / f"{base.cache_id}-init" / "link").read_text()}  # the shared init layer's, made once
    merged = store.mount_rw("c1", base.chain_id)
    try:
        assert sorted(os.listdir(root / "c1")) == ["diff", "merged", "work"] and (merged / "a").read_bytes() == b"1"
    finally:
        store.unmount_rw("c1")
