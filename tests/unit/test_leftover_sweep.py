"""The start-up sweep: temp files and half-extracted layer dirs a killed daemon left behind go, and
nothing anyone still knows (layers, container RW and init layers, mount sources) is touched."""
import io
import os
import secrets
import subprocess
import tarfile

import pytest

from dockyard.image.layers import LayerStore
from dockyard.store.content import ContentStore
from dockyard.store.fsutil import mounts_under, wipe_dir
from dockyard.store.metadata import Metadata
from dockyard.store.snapshots import OverlayDriver
from tests.store.snapshotters import NAMES, snapshotter_for

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mounts")


def one_file_tar(name: str, data: bytes) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


@pytest.fixture(params=NAMES)
def store(request, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root for mounts")
    driver = snapshotter_for(request.param, tmp_path)
    s = LayerStore(Metadata(tmp_path / "db"), ContentStore(tmp_path / "content"), driver)
    yield s
    for point in mounts_under(tmp_path):
        subprocess.run(["umount", "-l", point], capture_output=True)


def half_extracted_layer(store: LayerStore, parent_cache_id=None) -> str:
    """A layer dir as a register() killed mid-extraction leaves it: on disk, in no layers row."""
    cache_id = secrets.token_hex(32)
    d = store.driver.prepare(cache_id, parent_cache_id)
    (d / "big").write_bytes(b"x" * 4096)
    return cache_id


def test_sweep_removes_only_dirs_nobody_knows(store):
    base = store.register(one_file_tar("base.txt", b"base"), None)
    container = secrets.token_hex(32)
    store.create_rw(container, base.chain_id)
    (store.mount_rw(container, base.chain_id) / "written").write_text("kept")
    orphan = half_extracted_layer(store, base.cache_id)
    foreign = store.driver.root / "not-ours"
    foreign.mkdir()

    removed = store.remove_orphans([container])

    assert removed == [orphan]
    left = store.driver.keys()
    assert orphan not in left
    assert {base.cache_id, container, f"{base.cache_id}-init", "not-ours"} <= left  # the image's init layer too
    assert store.driver.layer_dir(base.cache_id).joinpath("base.txt").read_bytes() == b"base"
    assert store.remove_orphans([container]) == []  # a second start finds nothing more


def test_sweep_without_the_container_row_removes_its_layers(store):
    """A container created by a killed daemon before its record was saved: nothing knows its dirs."""
    base = store.register(one_file_tar("base.txt", b"base"), None)
    unsaved = secrets.token_hex(32)
    store.create_rw(unsaved, base.chain_id)
    store.mount_rw(unsaved, base.chain_id)  # still mounted after the SIGKILL (overlay)

    assert store.remove_orphans([]) == [unsaved]
    assert store.driver.keys() == {base.cache_id, f"{base.cache_id}-init"}  # the image's init layer stays
    assert store.driver.layer_dir(base.cache_id).joinpath("base.txt").read_bytes() == b"base"


def test_overlay_sweep_drops_the_orphans_links(store):
    if not isinstance(store.driver, OverlayDriver):
        pytest.skip("overlay only")
    base = store.register(one_file_tar("base.txt", b"base"), None)
    orphan = half_extracted_layer(store)
    store.driver.commit(orphan)  # killed after the commit that made its link, before its row
    dangling = store.driver.root / "l" / "DANGLING"
    dangling.symlink_to("../gone/diff")
    orphan_link = (store.driver.root / orphan / "link").read_text()

    store.remove_orphans([])

    links = {p.name for p in (store.driver.root / "l").iterdir()}
    assert orphan_link not in links and "DANGLING" not in links
    assert (store.driver.root / base.cache_id / "link").read_text() in links


def test_orphan_with_an_empty_link_file_is_removed(store):
    """A crash between creating `link` and writing it leaves an empty file: the l/ dir itself stays."""
    if not isinstance(store.driver, OverlayDriver):
        pytest.skip("overlay only")
    orphan = half_extracted_layer(store)
    (store.driver.root / orphan / "link").write_text("")
    assert store.remove_orphans([]) == [orphan]
    assert (store.driver.root / "l").is_dir()


def test_wipe_dir_empties_tmp(tmp_path):
    tmp = tmp_path / "tmp"
    (tmp / "context-abc" / "sub").mkdir(parents=True)
    (tmp / "upload-123").write_bytes(b"partial")
    (tmp / "context-abc" / "sub" / "f").write_text("x")
    os.symlink("/etc/hostname", tmp / "link")
    wipe_dir(tmp)
    assert tmp.is_dir() and list(tmp.iterdir()) == []
    assert os.path.exists("/etc/hostname")


def test_wipe_dir_creates_a_missing_dir(tmp_path):
    wipe_dir(tmp_path / "tmp")
    assert (tmp_path / "tmp").is_dir()


@needs_root
def test_wipe_dir_detaches_mounts_and_spares_their_source(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "precious").write_text("keep me")
    target = tmp_path / "tmp" / "build-1" / "root"
    target.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
    try:
        wipe_dir(tmp_path / "tmp")
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert (source / "precious").read_text() == "keep me"
