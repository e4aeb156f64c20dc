"""The content store only ever publishes verified blobs."""
import hashlib

import pytest

from dockyard.errors import InvalidParameter
from dockyard.store.content import ContentStore


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_and_read_round_trip(tmp_path):
    store = ContentStore(tmp_path)
    d = store.put(b"hello")
    assert d == digest(b"hello")
    assert store.read(d) == b"hello"
    assert store.size(d) == 5


def test_wrong_digest_is_refused_and_nothing_is_kept(tmp_path):
    store = ContentStore(tmp_path)
    wrong = digest(b"other")
    with pytest.raises(InvalidParameter, match="digest mismatch"):
        with store.writer(expected_digest=wrong) as w:
            w.write(b"hello")
            w.commit()
    assert not store.has(wrong)
    assert not store.has(digest(b"hello"))
    assert list(store.ingest_dir.iterdir()) == []


def test_wrong_size_is_refused(tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(InvalidParameter, match="size mismatch"):
        with store.writer(expected_size=3) as w:
            w.write(b"hello")
            w.commit()
    assert list(store.blobs_dir.iterdir()) == []


def test_abandoned_write_leaves_nothing(tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(RuntimeError):
        with store.writer() as w:
            w.write(b"partial")
            raise RuntimeError("client went away")
    assert list(store.ingest_dir.iterdir()) == []
    assert list(store.blobs_dir.iterdir()) == []


def test_stale_ingest_files_are_cleaned_at_start(tmp_path):
    ContentStore(tmp_path)
    (tmp_path / "ingest" / "crashed-upload").write_bytes(b"half")
    ContentStore(tmp_path)
    assert list((tmp_path / "ingest").iterdir()) == []


def test_bad_digest_string_is_an_error(tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(InvalidParameter):
        store.has("sha256:xyz")
