"""container_fs.ContainerView: docker cp's view of a container (rootfs + volumes and binds), resolved as in
a chroot, so that no path, symlink or `..` leads outside the rootfs or a mount's source."""
import os
import tarfile

import pytest

from dockyard.errors import Forbidden, InvalidParameter
from dockyard.daemon import container_fs
from dockyard.daemon.container_fs import ContainerView


@pytest.fixture
def view(tmp_path):
    root, vol, nested, outside = (tmp_path / n for n in ("root", "vol", "nested", "outside"))
    for d in (root / "data", root / "etc", vol, nested, outside):
        d.mkdir(parents=True)
    (outside / "secret").write_text("host")
    (root / "etc" / "passwd").write_text("container")
    (vol / "v.txt").write_text("volume")
    (nested / "n.txt").write_text("nested")
    os.symlink("/data", root / "link-to-vol")
    os.symlink("../../../../outside/secret", root / "climb")
    os.symlink("../../etc", vol / "up")  # inside the volume, pointing out of it: the container's /etc
    mounts = [{"Type": "volume", "Destination": "/data", "Source": str(vol), "RW": True},
              {"Type": "bind", "Destination": "/data/deeper", "Source": str(nested), "RW": False},
              {"Type": "tmpfs", "Destination": "/run", "Source": "", "RW": True}]
    return ContainerView(str(root), mounts), tmp_path


def host(view, path, follow_last=True):
    return view.host_of(view.resolve(path, follow_last))


def test_paths_map_to_the_longest_mount_prefix(view):
    v, tmp = view
    assert host(v, "/data/v.txt") == str(tmp / "vol" / "v.txt")
    assert host(v, "/data/deeper/n.txt") == str(tmp / "nested" / "n.txt")
    assert host(v, "/etc/passwd") == str(tmp / "root" / "etc" / "passwd")
    assert host(v, "/run/x") == str(tmp / "root" / "run" / "x")  # tmpfs: only the container sees it


def test_symlinks_resolve_inside_the_view(view):
    v, tmp = view
    assert host(v, "/link-to-vol/v.txt") == str(tmp / "vol" / "v.txt")
    assert host(v, "/data/up/passwd") == str(tmp / "root" / "etc" / "passwd")
    assert host(v, "/climb") == str(tmp / "root" / "outside" / "secret")  # `..` stops at the root
    assert host(v, "/../../outside/secret") == str(tmp / "root" / "outside" / "secret")
    assert host(v, "/link-to-vol", follow_last=False) == str(tmp / "root" / "link-to-vol")


def test_symlink_loops_are_refused(view):
    v, tmp = view
    os.symlink("/loop", tmp / "root" / "loop")
    with pytest.raises(InvalidParameter, match="too many levels of symbolic links"):
        v.resolve("/loop/x")


def test_stat_reports_the_resolved_link_target(view):
    v, _ = view
    assert container_fs.path_stat(v, "/link-to-vol")["linkTarget"] == "/data"
    assert container_fs.path_stat(v, "/data/up")["linkTarget"] == "/etc"


def test_archive_of_a_directory_walks_into_its_mounts(view, tmp_path):
    v, _ = view
    out = tmp_path / "out.tar"
    container_fs.write_path_tar(v, "/data", str(out))
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"data", "data/v.txt", "data/deeper", "data/deeper/n.txt", "data/up"} <= names


def _tar_of(tmp_path, name: str) -> str:
    src = tmp_path / "src.txt"
    src.write_text("copied")
    path = tmp_path / "in.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(src, arcname=name)
    return str(path)


def test_extraction_goes_to_the_mount_and_respects_read_only(view, tmp_path):
    v, tmp = view
    container_fs.extract_into(v, "/link-to-vol", _tar_of(tmp_path, "new.txt"), readonly_rootfs=True)
    assert (tmp / "vol" / "new.txt").read_text() == "copied"
    with pytest.raises(InvalidParameter, match="mounted volume is marked read-only"):
        container_fs.extract_into(v, "/data/deeper", _tar_of(tmp_path, "x.txt"), readonly_rootfs=False)
    with pytest.raises(Forbidden, match="container rootfs is marked read-only"):
        container_fs.extract_into(v, "/etc", _tar_of(tmp_path, "x.txt"), readonly_rootfs=True)
    assert not (tmp / "nested" / "x.txt").exists() and not (tmp / "root" / "etc" / "x.txt").exists()
