"""A multi-platform tag in the pages: one row per platform on the tags page, one explorer tab per platform."""
from __future__ import annotations

import json

from pages_browser import Browser
from regsrv_helpers import OCI_INDEX, OCI_MANIFEST, Image, push_image, tar_layer


def test_multi_platform_tag_shows_each_platform(hub, tmp_path):
    hub.add_user("multi")
    amd = Image([tar_layer({"bin/tool": b"x" * 3000})], arch="amd64")
    arm = Image([tar_layer({"bin/tool": b"y" * 7000, "bin/extra": b"z" * 10})], arch="arm64")
    with hub.v2("multi", "multi/tool", "pull,push") as c:
        push_image(c, "multi/tool", "amd64-only", amd)
        push_image(c, "multi/tool", "arm64-only", arm)
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest),
             "platform": {"os": "linux", "architecture": img.arch}} for img in (amd, arm)]}).encode()
        r = c.put("/v2/multi/tool/manifests/1.0", content=index, headers={"Content-Type": OCI_INDEX})
        assert r.status_code == 201, r.text
    person = Browser(hub.url, tmp_path, "platforms")
    try:
        person.open("/r/multi/tool/tags")
        rows = person.driver.find_element("tag name", "table").text
        assert "linux/amd64" in rows and "linux/arm64" in rows and "1.0" in rows
        person.follow("1.0")
        assert "Image layers (linux/amd64)" in person.text() and "+1 added" in person.text()
        person.follow("linux/arm64")
        text = person.text()
        assert "Image layers (linux/arm64)" in text and "+2 added" in text
        person.screenshot("multi-platform")
    finally:
        person.close()
