"""`dockyard cp CONTAINER:SRC DEST` unpacks with tarfile's "tar" filter; on Debian 12's python 3.11.2, which has no
filters, dockyard.cli.copy.extract refuses the same things itself. Both paths run here."""
import io
import tarfile

import pytest

from dockyard.cli.copy import extract


def archive(*members) -> tarfile.TarFile:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    buf.seek(0)
    return tarfile.open(fileobj=buf)


def member(name, data=b"", mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


@pytest.fixture(params=["with-filters", "python-3.11.2"])
def python(request, monkeypatch):
    if request.param == "python-3.11.2":
        monkeypatch.delattr(tarfile, "tar_filter", raising=False)
    return request.param


def test_files_and_relative_links_extract_with_modes_cleaned(tmp_path, python):
    tar = archive(member("d/f", b"hi", mode=0o4777), member("d/l", kind=tarfile.SYMTYPE, linkname="f"))
    extract(tar, str(tmp_path), tar.getmembers())
    assert (tmp_path / "d" / "l").read_text() == "hi"
    assert (tmp_path / "d" / "f").stat().st_mode & 0o7777 == 0o755  # no setuid, no group/other write


@pytest.mark.parametrize("bad", [
    [member("../escape", b"x")],
    [member("up", kind=tarfile.SYMTYPE, linkname=".."), member("up/escape", b"x")],  # through its own symlink
])
def test_paths_outside_the_destination_are_refused(tmp_path, python, bad):
    tar = archive(*bad)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(tarfile.TarError):
        extract(tar, str(dest), tar.getmembers())
    assert not (tmp_path / "escape").exists()
