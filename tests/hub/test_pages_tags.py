"""The tags pages' reader on a real registry Storage: newest first, pages, per-platform rows of an index."""
from __future__ import annotations

import json
import os

from dockyard.hub.pages.tags import TagReader
from dockyard.registry.server.storage import Storage
from test_pages_explorer import _image, _put, _tar


def test_tags_newest_first_in_pages_with_platforms(tmp_path):
    storage = Storage(str(tmp_path / "reg"))
    amd = _image(storage, [_tar([("a", b"1" * 10)])], [{"created_by": "x"}], arch="amd64")
    arm = _image(storage, [_tar([("a", b"2" * 20)])], [{"created_by": "y"}], arch="arm64")
    index = _put(storage, json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                      "manifests": [{"digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
                                                    {"digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}}]}).encode())["digest"]
    for i in range(30):
        storage.set_tag("u/r", f"t{i}", amd)
        link = os.path.join(storage.repo_dir("u/r"), "_manifests", "tags", f"t{i}", "current", "link")
        os.utime(link, (1000 + i, 1000 + i))          # t29 is the newest
    storage.set_tag("u/r", "multi", index)
    storage.delete_tag("u/r", "t5")
    reader = TagReader(storage)
    rows, total = reader.page("u/r", 1, 25)
    assert total == 30 and len(rows) == 25
    assert [r.name for r in rows[:3]] == ["multi", "t29", "t28"]
    multi = rows[0]
    assert [p["platform"] for p in multi.platforms] == ["linux/amd64", "linux/arm64"]
    assert multi.size == sum(p["size"] for p in multi.platforms) > 0
    rows2, _ = reader.page("u/r", 2, 25)
    assert [r.name for r in rows2] == ["t4", "t3", "t2", "t1", "t0"]          # t5 was deleted
    assert reader.row("u/r", "t5") is None
    assert rows[1].platforms == [{"platform": "linux/amd64", "digest": amd, "size": rows[1].size}]
