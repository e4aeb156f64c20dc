"""The metadata store frees deleted rows' pages without zeroing them (Debian's SQLite zeroes every freed page by
default): removing a deep build's images must not write each one's megabyte of config again."""
from dockyard.store.metadata import Metadata


def test_freed_pages_are_not_rewritten(tmp_path):
    md = Metadata(tmp_path / "md.db")
    try:
        with md.tx() as cur:  # the writer connection, which deletes
            assert cur.execute("PRAGMA secure_delete").fetchone()[0] == 2  # FAST
        assert md.one("PRAGMA secure_delete")[0] == 2  # and a reader's
    finally:
        md.close()
