"""`docker save -o` / `docker export -o` (cli.common.copy_to_file): the file appears whole or not at all, as
the docker CLI's CopyToFile writes beside it and renames; a stream cut short leaves the old file untouched."""
import pytest

from dockyard.cli.common import copy_to_file


class Answer:
    def __init__(self, chunks, error: Exception | None = None):
        self.chunks, self.error, self.closed = chunks, error, False

    def iter_bytes(self):
        yield from self.chunks
        if self.error:
            raise self.error

    def close(self):
        self.closed = True


def test_whole_stream_lands_in_the_file(tmp_path):
    out = tmp_path / "x.tar"
    answer = Answer([b"a" * 10, b"b"])
    copy_to_file(answer, str(out))
    assert out.read_bytes() == b"a" * 10 + b"b" and answer.closed
    assert [p.name for p in tmp_path.iterdir()] == ["x.tar"]


def test_cut_short_stream_leaves_the_old_file_and_no_temp(tmp_path):
    out = tmp_path / "x.tar"
    out.write_bytes(b"old")
    answer = Answer([b"new"], ConnectionResetError("daemon went away"))
    with pytest.raises(ConnectionResetError):
        copy_to_file(answer, str(out))
    assert out.read_bytes() == b"old" and answer.closed
    assert [p.name for p in tmp_path.iterdir()] == ["x.tar"]


def test_no_output_goes_to_stdout(capfdbinary):
    copy_to_file(Answer([b"tar", b"bytes"]), None)
    assert capfdbinary.readouterr().out == b"tarbytes"
