"""The Snapshotter contract, run against overlay and vfs: a layer chain applied from tars (files,
whiteouts, opaque dirs), a container's RW snapshot over it mounted from the mount specs the snapshotter
returns, the changes and diff of that RW layer, and removal that leaves nothing mounted or on disk."""
from __future__ import annotations

import io
import os
import secrets
import subprocess
import tarfile

import pytest

from dockyard.image import layertar
from dockyard.image.layers import LayerStore
from dockyard.image.unpack import apply_layer
from dockyard.store.content import ContentStore
from dockyard.store.fsutil import mounts_under
from dockyard.store.metadata import Metadata
from dockyard.store.snapshots.mount import is_mountpoint, mount_all, unmount_all

from .snapshotters import NAMES, snapshotter_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mounts")


def layer_tar(files: dict[str, bytes] = {}, whiteouts=(), opaque=()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        names = list(files) + [os.path.join(d, ".wh." + b) for d, b in map(os.path.split, whiteouts)] + \
            [os.path.join(d, ".wh..wh..opq") for d in opaque]
        for d in sorted({os.path.dirname(n) for n in names if os.path.dirname(n)}):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name in names:
            data = files.get(name, b"")
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(params=NAMES)
def snapshotter(request, tmp_path):
    yield snapshotter_for(request.param, tmp_path)
    for point in mounts_under(tmp_path):
        subprocess.run(["umount", "-l", point], capture_output=True)


def apply(snap, key: str, parent: str | None, tar: bytes) -> None:
    d = snap.prepare(key, parent)
    apply_layer(io.BytesIO(tar), str(d), mode=snap.apply_mode)
    snap.commit(key)


def tree(root) -> dict[str, bytes | None]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = None
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                out[os.path.relpath(os.path.join(dirpath, name), root)] = f.read()
    return out


def base_chain(snap) -> list[str]:
    apply(snap, "l1", None, layer_tar({"etc/a": b"a", "etc/b": b"b", "dir/x": b"x", "dir/y": b"y", "keep": b"k"}))
    apply(snap, "l2", "l1", layer_tar({"dir/z": b"z", "etc/a": b"a2"}, whiteouts=["etc/b"], opaque=["dir"]))
    return ["l1", "l2"]


def test_a_rw_snapshot_mounted_from_its_specs_shows_the_merged_tree(snapshotter, tmp_path):
    chain = base_chain(snapshotter)
    snapshotter.prepare("rw", chain[-1])
    mounts = snapshotter.mounts("rw", chain)
    assert mounts and all(m.type in ("overlay", "bind") for m in mounts)
    target = tmp_path / "rootfs"
    target.mkdir()
    mount_all(mounts, str(target))
    try:
        assert tree(target) == {"etc/": None, "etc/a": b"a2", "dir/": None, "dir/z": b"z", "keep": b"k"}
        (target / "etc" / "new").write_bytes(b"n")
        os.unlink(target / "keep")
        (target / "dir" / "z").write_bytes(b"z2")
        # writes land in the RW snapshot, never in the committed layers below
        assert (snapshotter.upper("l1") / "keep").read_bytes() == b"k"
        assert (snapshotter.upper("l2") / "dir" / "z").read_bytes() == b"z"
        lowers = [str(snapshotter.upper(k)) for k in reversed(chain)]
        changes = {(c["Path"], c["Kind"]) for c in
                   layertar.changes(lowers, str(snapshotter.upper("rw")), mode=snapshotter.apply_mode)}
        # As Docker's drivers: a dir only copied up as the parent of a modified file is a change for vfs's
        # full-tree comparison (ChangesDirs), not for overlay's walk of the upper dir (OverlayChanges).
        assert changes - {("/dir", 0)} == {("/etc", 0), ("/etc/new", 1), ("/keep", 2), ("/dir/z", 0)}
        assert snapshotter.usage("rw") > 0
    finally:
        unmount_all(str(target))
    assert not is_mountpoint(str(target))


def test_removal_leaves_nothing_mounted_or_on_disk(snapshotter, tmp_path):
    chain = base_chain(snapshotter)
    snapshotter.prepare("rw", chain[-1])
    target = tmp_path / "rootfs"
    target.mkdir()
    mount_all(snapshotter.mounts("rw", chain), str(target))
    unmount_all(str(target))
    for key in ["rw", *reversed(chain)]:
        snapshotter.remove(key)
    assert snapshotter.keys() == set()
    assert not mounts_under(str(tmp_path))
    assert snapshotter.cleanup() == []  # and the snapshotter's own bookkeeping went with them
    left = [p for p in snapshotter.root.rglob("*") if not p.is_dir()]
    assert left == []
    snapshotter.trash.drain()  # and the trash deleted what it was given
    assert list(snapshotter.trash.root.iterdir()) == []


def test_a_deep_chain_still_mounts(snapshotter, tmp_path):
    """More layers than fit one page of mount options with their full paths (overlay2's l/ links)."""
    parent = None
    chain = []
    for i in range(70):
        key = f"layer{i:02d}" + secrets.token_hex(28)
        apply(snapshotter, key, parent, layer_tar({f"f{i:02d}": str(i).encode()}))
        chain.append(key)
        parent = key
    snapshotter.prepare("rw", parent)
    target = tmp_path / "rootfs"
    target.mkdir()
    mount_all(snapshotter.mounts("rw", chain), str(target))
    try:
        assert sorted(os.listdir(target)) == [f"f{i:02d}" for i in range(70)]
    finally:
        unmount_all(str(target))


def test_the_layer_store_mounts_container_roots_from_the_specs(snapshotter, tmp_path):
    store = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"), snapshotter)
    base = store.register(io.BytesIO(layer_tar({"a/keep": b"1", "a/gone": b"2", "o/old": b"3"})), None)
    top = store.register(io.BytesIO(layer_tar({"a/new": b"3", "o/fresh": b"4"}, whiteouts=["a/gone"],
                                              opaque=["o"])), base.chain_id)
    cid = secrets.token_hex(32)
    store.create_rw(cid, top.chain_id)
    root = store.mount_rw(cid, top.chain_id)
    assert is_mountpoint(str(root)) and root == store.rw_root(cid)
    assert sorted(os.listdir(root / "a")) == ["keep", "new"] and os.listdir(root / "o") == ["fresh"]
    assert (root / ".dockerenv").exists()  # the init layer is part of the stack
    (root / "a" / "made").write_text("x")
    os.unlink(root / "o" / "fresh")
    out = io.BytesIO()
    store.write_rw_diff(cid, top.chain_id, out)
    names = set(tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames())
    assert {"a/made", "o/.wh.fresh"} <= names and ".dockerenv" not in names
    assert store.mount_rw(cid, top.chain_id) == root  # mounting again does not stack a second mount
    store.unmount_rw(cid)
    assert not is_mountpoint(str(root))
    store.mount_rw(cid, top.chain_id)
    store.remove_rw(cid)  # removing a mounted container's layer: gone at once, unmounted in the background
    assert not (snapshotter.keys() & {cid, f"{cid}-init"})
    store.release([top.chain_id, base.chain_id])
    snapshotter.trash.drain()
    assert not mounts_under(str(tmp_path))
    assert list(snapshotter.trash.root.iterdir()) == []
    assert snapshotter.keys() == set()


def test_the_containers_of_an_image_share_its_init_layer_which_goes_with_the_image(snapshotter, tmp_path):
    store = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"), snapshotter)
    base = store.register(io.BytesIO(layer_tar({"a/keep": b"1"})), None)
    ids = [secrets.token_hex(32) for _ in range(3)]
    for cid in ids:
        store.create_rw(cid, base.chain_id)
    assert snapshotter.keys() == {base.cache_id, f"{base.cache_id}-init", *ids}  # one init layer, not three
    roots = [store.mount_rw(cid, base.chain_id) for cid in ids]
    for root in roots:
        assert (root / ".dockerenv").exists() and (root / "etc" / "hosts").exists()
        assert (root / "a" / "keep").read_bytes() == b"1"
    (roots[0] / "etc" / "hosts").write_text("127.0.0.1 first\n")  # a container's writes stay its own
    assert (roots[1] / "etc" / "hosts").read_text() == ""
    for cid in ids:
        store.remove_rw(cid)
    assert snapshotter.keys() == {base.cache_id, f"{base.cache_id}-init"}
    store.release([base.chain_id])
    snapshotter.trash.drain()
    assert snapshotter.keys() == set()


def test_an_init_layer_left_half_made_is_completed_and_an_own_one_still_serves(snapshotter, tmp_path):
    store = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"), snapshotter)
    base = store.register(io.BytesIO(layer_tar({"a/keep": b"1"})), None)
    snapshotter.prepare(f"{base.cache_id}-init", base.cache_id)  # a daemon killed while making it
    cid = secrets.token_hex(32)
    LayerStore(store.md, store.content, snapshotter).create_rw(cid, base.chain_id)  # the next daemon's
    assert (store.mount_rw(cid, base.chain_id) / ".dockerenv").exists()
    older = secrets.token_hex(32)  # a container made when each had its own init layer
    own = snapshotter.prepare(f"{older}-init", base.cache_id)
    (own / "made-before").write_text("x")
    snapshotter.commit(f"{older}-init")
    snapshotter.prepare(older, f"{older}-init")
    assert (store.mount_rw(older, base.chain_id) / "made-before").exists()
    store.remove_rw(older)
    assert not snapshotter.keys() & {older, f"{older}-init"}


def test_a_build_steps_container_has_an_init_layer_of_its_own_that_goes_with_it(snapshotter, tmp_path):
    store = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"), snapshotter)
    base = store.register(io.BytesIO(layer_tar({"a/keep": b"1"})), None)
    step = secrets.token_hex(32)
    store.create_rw(step, base.chain_id, shared_init=False)
    assert snapshotter.keys() == {base.cache_id, step, f"{step}-init"}
    assert (store.mount_rw(step, base.chain_id) / ".dockerenv").exists()
    store.remove_rw(step)
    assert snapshotter.keys() == {base.cache_id}
