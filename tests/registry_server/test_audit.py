"""Audit against registry:2 (Debian's docker-registry) and the OCI distribution spec: what a client sees on
refusals, mounts, referrers, conditional requests, tags pushed with a digest, manifest validation and
notifications, where dockyard's registry used to differ."""
import base64
import json
import os
import re
import sys

import bcrypt
import httpx
import pytest

from regsrv_helpers import OCI_MANIFEST, Image, push_blob, push_image, sha256
from test_notify_hub import Listener

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
from tests.e2e.daemon_harness import cleanup_daemon, new_daemon  # noqa: E402

USERS = {"alice": "alice-pw"}
ACCESS = {"default": {"public": True, "pull": ["*"], "push": []},
          "repositories": [{"match": "team/*", "public": True, "pull": ["*"], "push": ["alice"]}]}


@pytest.fixture
def htpasswd(tmp_path):
    path = tmp_path / "users.htpasswd"
    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n" for u, p in USERS.items()))
    return str(path)


@pytest.fixture
def token_server(make_server, htpasswd):
    return make_server({"auth": {"token": {"service": "audit", "htpasswd": htpasswd}}, "access": ACCESS})


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A real dockyard daemon, the client side a user pulls through (no images needed)."""
    if os.geteuid() != 0:
        pytest.skip("the daemon needs root")
    d = new_daemon(tmp_path_factory.mktemp("daemon"))
    d.start()
    yield d
    cleanup_daemon(d)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def challenge_params(header: str) -> dict:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def first_error(r: httpx.Response) -> dict:
    return r.json()["errors"][0]


# ---------- refusals ----------
def test_wrong_password_is_refused_as_authentication_required(make_server, htpasswd):
    """registry:2 words every 401 "authentication required" with the access needed as detail; a wrong
    password used to say "invalid credentials" (what `docker pull` with stale credentials then printed)."""
    srv = make_server({"auth": {"htpasswd": {"realm": "audit-realm", "path": htpasswd}}, "access": ACCESS})
    with srv.client() as c:
        r = c.get("/v2/team/app/tags/list", headers=basic("alice", "wrong"))
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="audit-realm"'
        assert first_error(r) == {"code": "UNAUTHORIZED", "message": "authentication required",
                                  "detail": [{"Type": "repository", "Name": "team/app", "Action": "pull"}]}
        r = c.get("/v2/", headers=basic("alice", "wrong"))
        assert r.status_code == 401 and first_error(r) == {"code": "UNAUTHORIZED", "message": "authentication required"}
        r = c.get("/v2/_catalog")
        assert first_error(r)["detail"] == [{"Type": "registry", "Name": "catalog", "Action": "*"}]


def test_pull_with_a_wrong_password_says_authentication_required(daemon, make_server, htpasswd):
    """What a user sees: docker-py's pull through the daemon reports registry:2's words."""
    import docker

    srv = make_server({"auth": {"htpasswd": {"realm": "audit-realm", "path": htpasswd}}, "access": ACCESS})
    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    with pytest.raises(docker.errors.APIError) as err:
        client.images.pull(f"{srv.host}/team/app", tag="v1", auth_config={"username": "alice", "password": "wrong"})
    assert err.value.status_code == 401
    assert err.value.explanation == "unauthorized: authentication required"


def test_invalid_token_challenge_names_the_scope_to_ask_for(token_server):
    """An expired or garbled token: 401 with error="invalid_token" and the scope of the request, so a client
    can fetch a fresh token from the challenge alone (it used to carry no scope, and Python's JWT error)."""
    with token_server.client() as c:
        r = c.get("/v2/team/app/manifests/latest", headers={"Authorization": "Bearer abc.def.ghi"})
        assert r.status_code == 401
        params = challenge_params(r.headers["WWW-Authenticate"])
        assert params["scope"] == "repository:team/app:pull" and params["error"] == "invalid_token"
        assert first_error(r) == {"code": "UNAUTHORIZED", "message": "authentication required",
                                  "detail": [{"Type": "repository", "Name": "team/app", "Action": "pull"}]}
        # An insufficient scope is worded the same way (docker reads the challenge's error, not the text).
        anon = c.get(params["realm"], params={"service": "audit", "scope": "repository:team/app:pull"}).json()["token"]
        r = c.post("/v2/team/app/blobs/uploads/", headers={"Authorization": f"Bearer {anon}"})
        assert r.status_code == 401 and first_error(r)["message"] == "authentication required"
        assert challenge_params(r.headers["WWW-Authenticate"])["error"] == "insufficient_scope"


def test_mount_challenge_asks_for_the_source_repository_and_its_scope_string_gets_a_token(token_server):
    """registry:2's challenge for a cross-repository mount names both repositories, space-separated; a client
    passing that scope on verbatim as one `scope` parameter gets a token for both, and the mount succeeds."""
    img = Image([b"shared layer"])
    layer = img.layers[0]
    with token_server.client() as c:
        realm = f"{token_server.url}/token"
        r = c.get(realm, params={"service": "audit", "scope": "repository:team/src:pull,push"},
                  headers=basic("alice", "alice-pw"))
        push_blob(c, "team/src", layer, {"Authorization": f"Bearer {r.json()['token']}"})

        r = c.post(f"/v2/team/dst/blobs/uploads/?mount={sha256(layer)}&from=team/src")
        assert r.status_code == 401
        params = challenge_params(r.headers["WWW-Authenticate"])
        assert params["scope"] == "repository:team/dst:pull,push repository:team/src:pull"
        assert {d["Name"] for d in first_error(r)["detail"]} == {"team/dst", "team/src"}

        r = c.get(params["realm"], params={"service": params["service"], "scope": params["scope"]},
                  headers=basic("alice", "alice-pw"))
        token = {"Authorization": f"Bearer {r.json()['token']}"}
        r = c.post(f"/v2/team/dst/blobs/uploads/?mount={sha256(layer)}&from=team/src", headers=token)
        assert r.status_code == 201, r.text
        assert r.headers["Location"] == f"/v2/team/dst/blobs/{sha256(layer)}"


# ---------- notifications ----------
def test_cross_repository_mount_is_notified_with_its_source(make_server):
    """registry:2 sends a "mount" event whose target names fromRepository; a mount used to send nothing, so a
    listener never learnt that the blob had landed in the second repository."""
    listener = Listener()
    try:
        srv = make_server({"notifications": {"endpoints": [{"name": "hook", "url": listener.url}]}})
        layer = b"mounted layer"
        with srv.client() as c:
            push_blob(c, "notify/src", layer)
            r = c.post(f"/v2/notify/dst/blobs/uploads/?mount={sha256(layer)}&from=notify/src",
                       headers={"User-Agent": "audit-mount"})
            assert r.status_code == 201
        assert listener.wait_for(lambda events: any(e["action"] == "mount" for e in events))
        mount = next(e for e in listener.events if e["action"] == "mount")
        assert mount["target"] == {
            "repository": "notify/dst", "fromRepository": "notify/src", "digest": sha256(layer),
            "mediaType": "application/octet-stream", "size": len(layer), "length": len(layer),
            "url": f"{srv.url}/v2/notify/dst/blobs/{sha256(layer)}"}
        assert mount["request"]["method"] == "POST" and mount["request"]["useragent"] == "audit-mount"
    finally:
        listener.close()


# ---------- referrers ----------
def test_referrers_content_type_is_exactly_the_index_media_type(registry):
    """The OCI conformance suite compares the referrers response's Content-Type whole; aiohttp's JSON helper
    used to append "; charset=utf-8", failing every referrers check, filtered or not."""
    subject = Image([b"referrers subject"])
    with registry.client() as c:
        push_image(c, "audit/referrers", "v1", subject)
        for params in ({}, {"artifactType": "application/x-none"}):
            r = c.get(f"/v2/audit/referrers/referrers/{subject.digest}", params=params)
            assert r.status_code == 200
            assert r.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
            assert r.json() == {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                "manifests": []}


# ---------- conditional requests ----------
def test_if_none_match_on_the_digest_gets_304_for_manifests_and_blobs(registry):
    """registry:2 tags a manifest and a blob with its quoted digest and answers If-None-Match with 304; blobs
    used to carry aiohttp's mtime-size ETag (different on every copy of the storage) and neither side ever
    answered 304, so caches in front of the registry re-downloaded everything."""
    img = Image([b"conditional layer"])
    config = sha256(img.config)
    with registry.client() as c:
        push_image(c, "audit/conditional", "v1", img)
        r = c.get(f"/v2/audit/conditional/blobs/{config}")
        assert r.status_code == 200
        assert r.headers["ETag"] == f'"{config}"' and r.headers["Cache-Control"] == "max-age=31536000"
        for method in ("GET", "HEAD"):
            r = c.request(method, f"/v2/audit/conditional/blobs/{config}", headers={"If-None-Match": f'"{config}"'})
            assert r.status_code == 304 and r.content == b""
            assert r.headers["ETag"] == f'"{config}"' and r.headers["Docker-Content-Digest"] == config
            r = c.request(method, "/v2/audit/conditional/manifests/v1",
                          headers={"Accept": OCI_MANIFEST, "If-None-Match": f'"{img.digest}"'})
            assert r.status_code == 304 and r.content == b""
            assert r.headers["ETag"] == f'"{img.digest}"' and r.headers["Docker-Content-Digest"] == img.digest
        # Another tag, or none, still gets the content; ranges still work with the digest ETag.
        r = c.get("/v2/audit/conditional/manifests/v1", headers={"If-None-Match": '"sha256:' + "0" * 64 + '"'})
        assert r.status_code == 200 and r.content == img.manifest
        r = c.get(f"/v2/audit/conditional/blobs/{config}", headers={"Range": "bytes=0-3"})
        assert r.status_code == 206 and r.content == img.config[:4] and r.headers["ETag"] == f'"{config}"'


def test_deleting_a_manifest_by_digest_notifies_each_tag_it_took_along(make_server):
    """Deleting a digest removes the tags pointing at it; registry:2 sends a delete event for each of them, so a
    listener keeping an index of tags drops them. Only the digest's event used to go out."""
    listener = Listener()
    try:
        srv = make_server({"notifications": {"endpoints": [{"name": "hook", "url": listener.url}]}})
        img = Image([b"tagged twice"])
        with srv.client() as c:
            push_image(c, "notify/tags", "v1", img)
            r = c.put("/v2/notify/tags/manifests/latest", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
            assert r.status_code == 201
            assert c.delete(f"/v2/notify/tags/manifests/{img.digest}").status_code == 202
            assert c.get("/v2/notify/tags/tags/list").json()["tags"] == []

        def deletes(events):
            return [(e["target"]["digest"], e["target"].get("tag")) for e in events if e["action"] == "delete"]

        assert listener.wait_for(lambda events: len(deletes(events)) >= 3)
        assert sorted(deletes(listener.events), key=str) == sorted(
            [(img.digest, None), (img.digest, "latest"), (img.digest, "v1")], key=str)
    finally:
        listener.close()


# ---------- pushing with tags ----------
def test_manifest_pushed_by_digest_with_tag_parameters_sets_them_and_says_so(registry):
    """Spec v1.1.1 (end-7b): PUT /v2/<name>/manifests/<digest>?tag=..&tag=.. sets every tag and answers OCI-Tag.
    The parameters used to be ignored: the manifest landed untagged and the client, seeing no OCI-Tag, had no
    way to know."""
    img = Image([b"tagged by parameter"])
    with registry.client() as c:
        push_image(c, "audit/tagparam", "first", img)
        r = c.put(f"/v2/audit/tagparam/manifests/{img.digest}?tag=1.2.3&tag=1.2&tag=latest", content=img.manifest,
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201
        assert [t.strip() for t in r.headers["OCI-Tag"].split(",")] == ["1.2.3", "1.2", "latest"]
        assert r.headers["Docker-Content-Digest"] == img.digest
        assert c.get("/v2/audit/tagparam/tags/list").json()["tags"] == ["1.2", "1.2.3", "first", "latest"]
        r = c.get("/v2/audit/tagparam/manifests/1.2", headers={"Accept": OCI_MANIFEST})
        assert r.status_code == 200 and r.content == img.manifest

        # An invalid tag refuses the whole request, before anything is stored or tagged.
        other = Image([b"never stored"])
        push_blob(c, "audit/tagparam", other.config)
        push_blob(c, "audit/tagparam", other.layers[0])
        r = c.put(f"/v2/audit/tagparam/manifests/{other.digest}?tag=ok&tag=-bad", content=other.manifest,
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and first_error(r)["code"] == "TAG_INVALID"
        assert c.head(f"/v2/audit/tagparam/manifests/{other.digest}").status_code == 404
        assert "ok" not in c.get("/v2/audit/tagparam/tags/list").json()["tags"]


# ---------- manifest validation ----------
def test_manifests_with_mistyped_fields_are_refused_not_stored(registry):
    """registry:2 decodes manifests into typed structs and refuses annotations that are not a string map or urls
    that are not strings (MANIFEST_INVALID). They used to be stored, after which every typed client failed on
    them, and a bad artifact broke the referrers listing of its subject for everyone. Absurdly deep JSON used to
    be a 500."""
    img = Image([b"typed fields"])
    doc = json.loads(img.manifest)
    subject = {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest)}
    with registry.client() as c:
        push_image(c, "audit/typed", "v1", img)
        bad = {
            "annotations list": {**doc, "subject": subject, "annotations": ["x"]},
            "annotation number": {**doc, "subject": subject, "annotations": {"a": 1}},
            "artifactType object": {**doc, "subject": subject, "artifactType": {"x": 1}},
            "layer annotations list": {**doc, "layers": [{**doc["layers"][0], "annotations": ["x"]}]},
            "layer urls string": {**doc, "layers": [{**doc["layers"][0], "urls": "http://example.invalid/l"}]},
        }
        for label, manifest in bad.items():
            body = json.dumps(manifest).encode()
            r = c.put("/v2/audit/typed/manifests/bad", content=body, headers={"Content-Type": OCI_MANIFEST})
            assert r.status_code == 400 and first_error(r)["code"] == "MANIFEST_INVALID", label
            assert c.head(f"/v2/audit/typed/manifests/{sha256(body)}").status_code == 404, label
        r = c.put("/v2/audit/typed/manifests/deep", content=b'{"a":' * 3000 + b"1" + b"}" * 3000,
                  headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and first_error(r)["code"] == "MANIFEST_INVALID"
        assert c.get("/v2/audit/typed/tags/list").json()["tags"] == ["v1"]

        # The referrers listing stays one typed clients can decode.
        good = json.dumps({**doc, "subject": subject, "artifactType": "application/x-audit",
                           "annotations": {"org.example": "yes"}}).encode()
        assert c.put(f"/v2/audit/typed/manifests/{sha256(good)}", content=good,
                     headers={"Content-Type": OCI_MANIFEST}).status_code == 201
        listed = c.get(f"/v2/audit/typed/referrers/{img.digest}").json()["manifests"]
        assert listed == [{"mediaType": OCI_MANIFEST, "digest": sha256(good), "size": len(good),
                           "artifactType": "application/x-audit", "annotations": {"org.example": "yes"}}]
