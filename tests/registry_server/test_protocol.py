"""Raw HTTP protocol tests against a real server process: status codes, headers, error codes, pagination."""
import json
import os
import time

from regsrv_helpers import (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Image,
                            error_code, push_blob, push_image, sha256)


def test_base_endpoint_and_version_header(registry):
    with registry.client() as c:
        r = c.get("/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert r.json() == {}


def test_monolithic_upload_then_head_and_range_get(registry):
    data = os.urandom(100_000)
    with registry.client() as c:
        digest = sha256(data)
        r = c.post("/v2/proto/mono/blobs/uploads/", params={"digest": digest}, content=data)
        assert r.status_code == 201
        assert r.headers["Location"] == f"/v2/proto/mono/blobs/{digest}"
        assert r.headers["Docker-Content-Digest"] == digest

        r = c.head(f"/v2/proto/mono/blobs/{digest}")
        assert r.status_code == 200
        assert r.headers["Content-Length"] == str(len(data))
        assert r.headers["Docker-Content-Digest"] == digest
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert r.content == b""

        r = c.get(f"/v2/proto/mono/blobs/{digest}")
        assert r.status_code == 200 and r.content == data

        r = c.get(f"/v2/proto/mono/blobs/{digest}", headers={"Range": "bytes=1000-1999"})
        assert r.status_code == 206
        assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        assert r.content == data[1000:2000]

        r = c.get(f"/v2/proto/mono/blobs/{digest}", headers={"Range": "bytes=-10"})
        assert r.status_code == 206 and r.content == data[-10:]

        r = c.get(f"/v2/proto/mono/blobs/{digest}", headers={"Range": f"bytes={len(data) + 5}-"})
        assert r.status_code == 416


def test_chunked_upload_with_status_and_wrong_offset(registry):
    data = os.urandom(300_000)
    digest = sha256(data)
    with registry.client() as c:
        r = c.post("/v2/proto/chunked/blobs/uploads/")
        assert r.status_code == 202
        loc, uuid = r.headers["Location"], r.headers["Docker-Upload-UUID"]
        assert loc.endswith(uuid)
        assert r.headers["Range"] == "0-0"

        r = c.patch(loc, content=data[:100_000], headers={"Content-Range": "0-99999",
                                                          "Content-Type": "application/octet-stream"})
        assert r.status_code == 202
        assert r.headers["Range"] == "0-99999"

        # A chunk that does not start where the upload is -> 416 and nothing appended.
        r = c.patch(loc, content=data[150_000:200_000], headers={"Content-Range": "150000-199999"})
        assert r.status_code == 416 and error_code(r) == "BLOB_UPLOAD_INVALID"
        assert r.headers["Range"] == "0-99999" and r.headers["Location"] == loc

        r = c.get(loc)
        assert r.status_code == 204
        assert r.headers["Range"] == "0-99999"
        assert r.headers["Docker-Upload-UUID"] == uuid

        r = c.patch(loc, content=data[100_000:250_000], headers={"Content-Range": "100000-249999"})
        assert r.status_code == 202 and r.headers["Range"] == "0-249999"

        # Last chunk in the PUT itself.
        r = c.put(loc, params={"digest": digest}, content=data[250_000:])
        assert r.status_code == 201
        assert r.headers["Docker-Content-Digest"] == digest

        assert c.get(f"/v2/proto/chunked/blobs/{digest}").content == data
        # The finished upload is gone.
        r = c.get(loc)
        assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


def test_chunk_size_and_range_errors_keep_nothing(registry):
    data = os.urandom(1000)
    with registry.client() as c:
        loc = c.post("/v2/proto/sizes/blobs/uploads/").headers["Location"]
        cases = [
            # Content-Length disagrees with the Content-Range: refused before reading.
            (c.patch(loc, content=data[:50], headers={"Content-Range": "0-99"}), 400, "SIZE_INVALID"),
            # Chunked body (no Content-Length) shorter than its range: received, then undone.
            (c.patch(loc, content=iter([data[:60]]), headers={"Content-Range": "0-99"}), 400, "SIZE_INVALID"),
            (c.patch(loc, content=data[:100], headers={"Content-Range": "bytes 0 to 99"}), 400,
             "BLOB_UPLOAD_INVALID"),
            (c.patch(loc, content=data[:100], headers={"Content-Range": "99-0"}), 416, "BLOB_UPLOAD_INVALID"),
            (c.put(loc, params={"digest": sha256(data)}, content=data, headers={"Content-Range": "0-99"}), 400,
             "SIZE_INVALID"),
        ]
        for r, status, code in cases:
            assert (r.status_code, error_code(r)) == (status, code), r.request.headers
            assert c.get(loc).headers["Range"] == "0-0"      # nothing kept
        # The same session still completes, and the undone bytes are not part of the blob.
        r = c.patch(loc, content=iter([data[:600]]), headers={"Content-Range": "0-599"})
        assert r.status_code == 202 and r.headers["Range"] == "0-599"
        r = c.put(loc, params={"digest": sha256(data)}, content=data[600:], headers={"Content-Range": "600-999"})
        assert r.status_code == 201, r.text
        assert c.get(f"/v2/proto/sizes/blobs/{sha256(data)}").content == data


def test_manifest_with_a_wrong_descriptor_size_is_refused(registry):
    img = Image([os.urandom(300)])
    with registry.client() as c:
        for blob in img.blobs():
            push_blob(c, "proto/badsize", blob)
        doc = json.loads(img.manifest)
        doc["layers"][0]["size"] += 1
        r = c.put("/v2/proto/badsize/manifests/v1", content=json.dumps(doc).encode(),
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and error_code(r) == "SIZE_INVALID"
        assert r.json()["errors"][0]["detail"] == [{"digest": sha256(img.layers[0]), "size": len(img.layers[0]) + 1,
                                                    "actual": len(img.layers[0])}]
        assert c.get("/v2/proto/badsize/manifests/v1").status_code == 404
        assert c.put(f"/v2/proto/badsize/manifests/{img.digest}", content=img.manifest,
                     headers={"Content-Type": OCI_MANIFEST}).status_code == 201
        idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest) - 1}]}
        r = c.put("/v2/proto/badsize/manifests/idx", content=json.dumps(idx).encode(),
                  headers={"Content-Type": OCI_INDEX})
        assert r.status_code == 400 and error_code(r) == "SIZE_INVALID"


def test_every_error_code_the_server_defines_is_raised_somewhere():
    """No dead codes (a TOOMANYREQUESTS without any rate limiting would promise what is not there; the Hub's
    login throttling raises it, so its package counts too)."""
    import pathlib
    import re

    from dockyard.registry.server import errors

    src = pathlib.Path(errors.__file__).parent
    hub = src.parent.parent / "hub"
    raised = set()
    for path in [*src.glob("*.py"), *hub.rglob("*.py")]:
        raised |= set(re.findall(r'RegistryError\(\s*"([A-Z_]+)"', path.read_text()))
    assert set(errors.CODES) == raised


def test_wrong_digest_is_refused_and_nothing_kept(registry):
    data = b"some content"
    wrong = sha256(b"other content")
    with registry.client() as c:
        r = c.post("/v2/proto/wrong/blobs/uploads/")
        loc = r.headers["Location"]
        r = c.put(loc, params={"digest": wrong}, content=data)
        assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
        assert c.head(f"/v2/proto/wrong/blobs/{wrong}").status_code == 404
        assert c.head(f"/v2/proto/wrong/blobs/{sha256(data)}").status_code == 404
        assert c.get(loc).status_code == 404
    blob_dir = os.path.join(registry.storage, "docker/registry/v2/blobs/sha256", sha256(data)[7:9])
    assert not os.path.exists(os.path.join(blob_dir, sha256(data)[7:]))


def test_cancel_upload(registry):
    with registry.client() as c:
        loc = c.post("/v2/proto/cancel/blobs/uploads/").headers["Location"]
        c.patch(loc, content=b"abc")
        assert c.delete(loc).status_code == 204
        r = c.get(loc)
        assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
        r = c.delete(loc)
        assert r.status_code == 404


def test_manifest_put_get_head_by_tag_and_digest(registry):
    img = Image([os.urandom(1000)], label="tagdigest")
    with registry.client() as c:
        r = push_image(c, "proto/img", "v1", img)
        assert r.headers["Docker-Content-Digest"] == img.digest
        assert r.headers["Location"] == f"/v2/proto/img/manifests/{img.digest}"
        for ref in ("v1", img.digest):
            r = c.get(f"/v2/proto/img/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
            assert r.status_code == 200
            assert r.content == img.manifest
            assert r.headers["Content-Type"] == OCI_MANIFEST
            assert r.headers["Docker-Content-Digest"] == img.digest
            h = c.head(f"/v2/proto/img/manifests/{ref}")
            assert h.status_code == 200 and h.content == b""
            assert h.headers["Content-Length"] == str(len(img.manifest))
            assert h.headers["Docker-Content-Digest"] == img.digest


def test_docker_schema2_manifest(registry):
    layer, config = os.urandom(500), b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    with registry.client() as c:
        push_blob(c, "proto/docker", layer)
        push_blob(c, "proto/docker", config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                               "config": {"mediaType": DOCKER_CONFIG, "digest": sha256(config), "size": len(config)},
                               "layers": [{"mediaType": DOCKER_LAYER, "digest": sha256(layer),
                                           "size": len(layer)}]}).encode()
        r = c.put("/v2/proto/docker/manifests/latest", content=manifest, headers={"Content-Type": DOCKER_MANIFEST})
        assert r.status_code == 201
        r = c.get("/v2/proto/docker/manifests/latest")
        assert r.headers["Content-Type"] == DOCKER_MANIFEST and r.content == manifest


def test_manifest_validation_errors(registry):
    img = Image([os.urandom(100)])
    with registry.client() as c:
        # Blobs not uploaded: refused, with the missing digests.
        r = c.put("/v2/proto/invalid/manifests/v1", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        assert {d["digest"] for d in r.json()["errors"][0]["detail"]} == {sha256(b) for b in img.blobs()}

        for blob in img.blobs():
            push_blob(c, "proto/invalid", blob)
        r = c.put(f"/v2/proto/invalid/manifests/{sha256(b'x')}", content=img.manifest,
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"

        r = c.put("/v2/proto/invalid/manifests/v1", content=b"{not json", headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"

        r = c.put("/v2/proto/invalid/manifests/v1", content=b'{"schemaVersion": 2, "mediaType": "text/plain"}',
                  headers={"Content-Type": "text/plain"})
        assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"

        # An index whose child manifest is not in the repository.
        idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest)}]}).encode()
        r = c.put("/v2/proto/invalid/manifests/idx", content=idx, headers={"Content-Type": OCI_INDEX})
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        assert c.put(f"/v2/proto/invalid/manifests/{img.digest}", content=img.manifest,
                     headers={"Content-Type": OCI_MANIFEST}).status_code == 201
        r = c.put("/v2/proto/invalid/manifests/idx", content=idx, headers={"Content-Type": OCI_INDEX})
        assert r.status_code == 201
        assert c.get("/v2/proto/invalid/manifests/idx").headers["Content-Type"] == OCI_INDEX


def test_error_codes_for_unknown_and_invalid_things(registry):
    zero = "sha256:" + "0" * 64
    with registry.client() as c:
        cases = [
            (c.get("/v2/proto/nosuchrepo/manifests/latest"), 404, "MANIFEST_UNKNOWN"),  # as registry:2 says
            (c.get("/v2/proto/nosuchrepo/tags/list"), 404, "NAME_UNKNOWN"),
            (c.get("/v2/proto/nosuchrepo/blobs/" + zero), 404, "BLOB_UNKNOWN"),
            (c.get("/v2/Bad_Name/manifests/latest"), 400, "NAME_INVALID"),
            (c.get("/v2/proto/img/manifests/bad:tag:here"), 400, "DIGEST_INVALID"),
            (c.get("/v2/proto/img/manifests/-badtag"), 400, "TAG_INVALID"),
            (c.get("/v2/proto/img/blobs/sha256:nothex"), 400, "DIGEST_INVALID"),
            (c.get("/v2/proto/img/blobs/uploads/00000000-0000-0000-0000-000000000000"), 404, "BLOB_UPLOAD_UNKNOWN"),
            (c.request("PATCH", "/v2/proto/img/manifests/latest"), 405, "UNSUPPORTED"),
            (c.get("/v2/proto/img/tags/list", params={"n": "abc"}), 400, "PAGINATION_NUMBER_INVALID"),
        ]
        push_image(c, "proto/known", "v1", Image([b"known"]))
        cases.append((c.get("/v2/proto/known/manifests/nosuchtag"), 404, "MANIFEST_UNKNOWN"))
        cases.append((c.get(f"/v2/proto/known/manifests/{zero}"), 404, "MANIFEST_UNKNOWN"))
        for r, status, code in cases:
            assert (r.status_code, error_code(r)) == (status, code), r.request.url
            assert r.headers["Content-Type"].startswith("application/json")
        # HEAD errors carry the status but no body.
        h = c.head("/v2/proto/known/manifests/nosuchtag")
        assert h.status_code == 404 and h.content == b""


def test_cross_repo_mount(registry):
    data = os.urandom(5000)
    with registry.client() as c:
        digest = push_blob(c, "proto/mount-src", data)
        r = c.post("/v2/proto/mount-dst/blobs/uploads/", params={"mount": digest, "from": "proto/mount-src"})
        assert r.status_code == 201
        assert r.headers["Location"] == f"/v2/proto/mount-dst/blobs/{digest}"
        assert c.get(f"/v2/proto/mount-dst/blobs/{digest}").content == data
        # Unknown blob: falls back to a normal upload session.
        r = c.post("/v2/proto/mount-dst/blobs/uploads/", params={"mount": sha256(b"nope"), "from": "proto/mount-src"})
        assert r.status_code == 202 and "Docker-Upload-UUID" in r.headers


def test_blob_not_visible_in_other_repo_and_stored_once(registry):
    data = os.urandom(7000)
    with registry.client() as c:
        digest = push_blob(c, "proto/once-a", data)
        assert c.head(f"/v2/proto/once-b/blobs/{digest}").status_code == 404
        push_blob(c, "proto/once-b", data)
        assert c.head(f"/v2/proto/once-b/blobs/{digest}").status_code == 200
    hexpart = digest[7:]
    d = os.path.join(registry.storage, "docker/registry/v2/blobs/sha256", hexpart[:2])
    assert os.listdir(d).count(hexpart) == 1
    assert os.path.getsize(os.path.join(d, hexpart, "data")) == len(data)


def _follow(c, url, key):
    seen, pages = [], 0
    while url:
        r = c.get(url)
        assert r.status_code == 200
        seen += r.json()[key]
        pages += 1
        link = r.headers.get("Link")
        url = link[1:link.index(">")] if link else None
        if link:
            assert link.endswith('rel="next"')
    return seen, pages


def test_tags_pagination(registry):
    img = Image([b"tags layer"])
    tags = ["a", "b", "c", "d", "e"]
    with registry.client() as c:
        push_image(c, "proto/tags", tags[0], img)
        for t in tags[1:]:
            c.put(f"/v2/proto/tags/manifests/{t}", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        assert c.get("/v2/proto/tags/tags/list").json() == {"name": "proto/tags", "tags": tags}
        r = c.get("/v2/proto/tags/tags/list", params={"n": 2})
        assert r.json()["tags"] == ["a", "b"]
        assert r.headers["Link"] == '</v2/proto/tags/tags/list?n=2&last=b>; rel="next"'
        seen, pages = _follow(c, "/v2/proto/tags/tags/list?n=2", "tags")
        assert seen == tags and pages == 3
        assert c.get("/v2/proto/tags/tags/list", params={"n": 10, "last": "c"}).json()["tags"] == ["d", "e"]
        assert "Link" not in c.get("/v2/proto/tags/tags/list", params={"n": 5}).headers


def test_catalog_pagination(registry):
    img = Image([b"catalog layer"])
    with registry.client() as c:
        for i in range(3):
            push_image(c, f"proto/cat{i}", "v1", img)
        full = c.get("/v2/_catalog").json()["repositories"]
        assert full == sorted(full) and {"proto/cat0", "proto/cat1", "proto/cat2"} <= set(full)
        seen, pages = _follow(c, "/v2/_catalog?n=2", "repositories")
        assert seen == full and pages == (len(full) + 1) // 2


def test_referrers_api(registry):
    img = Image([b"subject layer"])
    with registry.client() as c:
        push_image(c, "proto/ref", "v1", img)
        empty = b"{}"
        push_blob(c, "proto/ref", empty)
        artifact = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sbom",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest)},
            "annotations": {"org.example": "yes"}}).encode()
        r = c.put(f"/v2/proto/ref/manifests/{sha256(artifact)}", content=artifact,
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201
        assert r.headers["OCI-Subject"] == img.digest

        r = c.get(f"/v2/proto/ref/referrers/{img.digest}")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith(OCI_INDEX)
        idx = r.json()
        assert idx["mediaType"] == OCI_INDEX
        assert idx["manifests"] == [{"mediaType": OCI_MANIFEST, "digest": sha256(artifact), "size": len(artifact),
                                     "artifactType": "application/vnd.example.sbom",
                                     "annotations": {"org.example": "yes"}}]
        r = c.get(f"/v2/proto/ref/referrers/{img.digest}", params={"artifactType": "application/other"})
        assert r.json()["manifests"] == [] and r.headers["OCI-Filters-Applied"] == "artifactType"
        # Unknown subject: an empty index, not an error.
        r = c.get(f"/v2/proto/ref/referrers/{sha256(b'unknown')}")
        assert r.status_code == 200 and r.json()["manifests"] == []
        # Deleting the referrer removes it from the list.
        assert c.delete(f"/v2/proto/ref/manifests/{sha256(artifact)}").status_code == 202
        assert c.get(f"/v2/proto/ref/referrers/{img.digest}").json()["manifests"] == []


def test_deletes(registry):
    img = Image([b"delete me"])
    with registry.client() as c:
        push_image(c, "proto/del", "v1", img)
        c.put("/v2/proto/del/manifests/v2", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        # Deleting a tag removes only that tag.
        assert c.delete("/v2/proto/del/manifests/v1").status_code == 202
        assert c.get("/v2/proto/del/tags/list").json()["tags"] == ["v2"]
        assert c.get(f"/v2/proto/del/manifests/{img.digest}").status_code == 200
        # Deleting by digest removes the manifest and every tag on it.
        assert c.delete(f"/v2/proto/del/manifests/{img.digest}").status_code == 202
        assert error_code(c.get(f"/v2/proto/del/manifests/{img.digest}")) == "MANIFEST_UNKNOWN"
        assert c.get("/v2/proto/del/tags/list").json()["tags"] == []
        assert error_code(c.delete(f"/v2/proto/del/manifests/{img.digest}")) == "MANIFEST_UNKNOWN"
        layer = sha256(img.layers[0])
        assert c.delete(f"/v2/proto/del/blobs/{layer}").status_code == 202
        assert c.head(f"/v2/proto/del/blobs/{layer}").status_code == 404
        assert error_code(c.delete(f"/v2/proto/del/blobs/{layer}")) == "BLOB_UNKNOWN"


def test_health_and_metrics(registry):
    with registry.client() as c:
        c.get("/v2/proto/metrics-nothing/tags/list")
        assert c.get("/health").json() == {"status": "ok"}
        text = c.get("/metrics").text
    assert "# TYPE dockyard_registry_http_requests_total counter" in text
    assert 'dockyard_registry_errors_total{code="NAME_UNKNOWN"}' in text
    assert 'dockyard_registry_http_requests_total{code="200",method="GET",route="base"}' in text


def _metric(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.split()[-1])
    return 0.0


def test_response_bytes_count_blob_bodies_sent_with_sendfile(registry):
    """A blob GET's body goes out by sendfile, around aiohttp's writer: the metric and the access log still
    count it (a HEAD counts nothing, a 206 its range)."""
    data = os.urandom(3_000_000)
    with registry.client() as c:
        digest = push_blob(c, "proto/bytes", data)
        before = _metric(c.get("/metrics").text, "dockyard_registry_http_response_bytes_total", route="blobs")
        assert c.get(f"/v2/proto/bytes/blobs/{digest}").content == data
        assert c.head(f"/v2/proto/bytes/blobs/{digest}").status_code == 200
        assert c.get(f"/v2/proto/bytes/blobs/{digest}", headers={"Range": "bytes=0-999"}).status_code == 206
        after = _metric(c.get("/metrics").text, "dockyard_registry_http_response_bytes_total", route="blobs")
    assert after - before == len(data) + 1000
    sent = [(e["method"], e["status"], e["bytes_sent"]) for e in registry.access_log()
            if e["path"] == f"/v2/proto/bytes/blobs/{digest}"]
    assert sent == [("GET", 200, len(data)), ("HEAD", 200, 0), ("GET", 206, 1000)]


def test_access_log_is_json_lines(registry):
    with registry.client() as c:
        c.get("/v2/proto/accesslog-probe/tags/list", headers={"User-Agent": "probe/1"})
    deadline = time.monotonic() + 10
    while True:  # the server writes the line after the response has gone out
        entries = [e for e in registry.access_log() if e["path"] == "/v2/proto/accesslog-probe/tags/list"]
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert entries and entries[-1]["status"] == 404 and entries[-1]["user_agent"] == "probe/1"
    assert entries[-1]["error"] == "NAME_UNKNOWN" and entries[-1]["method"] == "GET"
