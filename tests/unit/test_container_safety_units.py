"""Unit checks of the audit's container fixes: create body types, -v modes and --mount fields, cp paths that
name a file as a directory."""
from __future__ import annotations

import os

import pytest

from dockyard.daemon import mounts
from dockyard.daemon.container_fs import ContainerView, extract_into, path_stat, write_path_tar
from dockyard.daemon.create_types import check_create_body
from dockyard.errors import InvalidParameter, NotFound


@pytest.mark.parametrize("body", [
    {"Image": "busybox", "Cmd": [1, 2]}, {"Env": "A=1"}, {"HostConfig": {"Memory": "lots"}}, [1, 2],
    {"Image": 123}, {"HostConfig": "x"}, {"HostConfig": {"RestartPolicy": {"MaximumRetryCount": "abc"}}},
    {"HostConfig": {"Memory": True}}, {"Labels": {"a": 1}},
])
def test_wrong_types_are_invalid(body):
    with pytest.raises(InvalidParameter, match="json: cannot unmarshal"):
        check_create_body(body)


def test_cmd_message_and_strslice():
    with pytest.raises(InvalidParameter) as err:
        check_create_body({"Cmd": [1]})
    assert str(err.value) == "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string"
    assert check_create_body({"Cmd": "true", "Env": None})["Cmd"] == ["true"]


@pytest.mark.parametrize("mode,ok", [("", True), ("ro", True), ("rw,z", True), ("ro,rshared", True),
                                     ("zz", False), ("ro,rw", False), ("Z,z", False)])
def test_valid_mode(mode, ok):
    assert mounts.valid_mode(mode) is ok


def test_mount_messages():
    with pytest.raises(InvalidParameter, match="^invalid mode: zz$"):
        mounts.requested_mounts({}, {"Binds": ["/tmp:/y:zz"]})
    with pytest.raises(InvalidParameter, match='^invalid mount config for type "bind": field Source must not be empty$'):
        mounts.requested_mounts({}, {"Mounts": [{"Type": "bind", "Target": "/y"}]})
    with pytest.raises(InvalidParameter, match='type "bogus": mount type unknown'):
        mounts.requested_mounts({}, {"Mounts": [{"Type": "bogus", "Target": "/y"}]})
    with pytest.raises(InvalidParameter, match="invalid characters"):
        mounts.requested_mounts({}, {"Binds": ["bad$vol:/y"]})


def _view(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root\n")
    return ContainerView(str(root), [], "c1"), root


def test_file_named_as_directory_is_not_found(tmp_path):
    view, root = _view(tmp_path)
    with pytest.raises(NotFound, match="Could not find the file /etc/passwd/ in container c1"):
        path_stat(view, "/etc/passwd/")
    with pytest.raises(NotFound) as err:
        write_path_tar(view, "/etc/passwd/x", str(tmp_path / "out.tar"))
    assert str(root) not in str(err.value)
    assert path_stat(view, "/etc/passwd")["name"] == "passwd"


def test_extract_into_file_writes_nothing(tmp_path):
    import tarfile

    view, root = _view(tmp_path)
    src = tmp_path / "x.txt"
    src.write_text("new\n")
    tar_path = tmp_path / "in.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(src, arcname="passwd")
    for dest in ("/etc/passwd/", "/etc/passwd"):
        with pytest.raises((NotFound, InvalidParameter)):
            extract_into(view, dest, str(tar_path), readonly_rootfs=False)
    assert (root / "etc" / "passwd").read_text() == "root\n"
    assert sorted(os.listdir(root / "etc")) == ["passwd"]
