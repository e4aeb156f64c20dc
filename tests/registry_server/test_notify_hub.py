"""Web hook notifications (envelope, retries, never blocking) and the Docker Hub-style extras."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from regsrv_helpers import OCI_INDEX, Image, push_blob, push_image


class Listener:
    """A web hook receiver on 127.0.0.1: fails the first `fail` posts with 500, or (hang) holds each post
    unanswered until `release` is set."""

    def __init__(self, fail: int = 0, hang: bool = False):
        self.events, self.attempts, self.content_types, self.times = [], 0, [], []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                outer.times.append(time.monotonic())
                outer.content_types.append(self.headers["Content-Type"])
                if hang:
                    outer.release.wait(60)
                if outer.attempts <= fail:
                    self.send_response(500)
                else:
                    outer.events += json.loads(body)["events"]
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/events"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred(self.events):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_notifications_envelope_and_retry(make_server):
    listener = Listener(fail=2)
    try:
        srv = make_server({"notifications": {"endpoints": [
            {"name": "hook", "url": listener.url, "timeout": "2s", "backoff": "100ms", "threshold": 3,
             "headers": {"X-Token": ["abc"]}}]}})
        img = Image([b"notify layer"])
        with srv.client() as c:
            push_image(c, "notify/app", "v1", img, headers={"User-Agent": "notify-test"})
            c.get("/v2/notify/app/manifests/v1")
            c.delete("/v2/notify/app/manifests/v1")

        def manifest_events(events):
            return [(e["action"], e["target"].get("tag")) for e in events
                    if e["target"].get("mediaType", "").endswith("manifest.v1+json") or e["action"] == "delete"]

        assert listener.wait_for(lambda ev: len(manifest_events(ev)) >= 3)
        assert manifest_events(listener.events) == [("push", "v1"), ("pull", "v1"), ("delete", "v1")]
        assert listener.attempts >= 3            # two failures, then delivered
        assert set(listener.content_types) == {"application/vnd.docker.distribution.events.v2+json"}
        push = next(e for e in listener.events if e["action"] == "push" and e["target"].get("tag") == "v1")
        assert push["target"]["digest"] == img.digest and push["target"]["repository"] == "notify/app"
        assert push["target"]["size"] == len(img.manifest) == push["target"]["length"]
        assert push["target"]["url"].endswith(f"/v2/notify/app/manifests/{img.digest}")
        assert push["request"]["method"] == "PUT" and push["request"]["useragent"] == "notify-test"
        assert push["source"]["instanceID"] and push["id"] and push["timestamp"].endswith("Z")
        blob_pushes = [e for e in listener.events if e["action"] == "push" and "/blobs/" in e["target"]["url"]]
        assert len(blob_pushes) == 2
    finally:
        listener.close()


def test_failures_retry_at_once_up_to_threshold_then_back_off(make_server):
    """distribution's retrying sink: `threshold` consecutive failures are retried straight away; from then on
    each retry waits `backoff`."""
    listener = Listener(fail=4)
    try:
        srv = make_server({"notifications": {"endpoints": [
            {"name": "flaky", "url": listener.url, "timeout": "2s", "threshold": 3, "backoff": "2s"}]}})
        with srv.client() as c:
            push_blob(c, "notify/threshold", b"one event")
        assert listener.wait_for(lambda ev: len(ev) == 1, timeout=30)
        gaps = [b - a for a, b in zip(listener.times, listener.times[1:])]
        assert len(gaps) == 4
        # Measured against the configured back-off, not against a speed: a retry either waited for it or not.
        assert gaps[0] < 2 and gaps[1] < 2, gaps              # failures 1 and 2: below the threshold, no wait
        assert gaps[2] >= 1.9 and gaps[3] >= 1.9, gaps        # failures 3 and 4: each waited the back-off
    finally:
        listener.close()


def test_slow_listener_does_not_block_requests(make_server):
    listener = Listener(hang=True)
    try:
        srv = make_server({"notifications": {"endpoints": [
            {"name": "slow", "url": listener.url, "timeout": "30s", "backoff": "1s"}]}})
        with srv.client() as c:
            push_image(c, "notify/slow", "v1", Image([b"slow layer"]))
            # A notification is being delivered and hangs, unanswered...
            deadline = time.monotonic() + 30
            while listener.attempts == 0:
                assert time.monotonic() < deadline, "no notification was sent"
                time.sleep(0.05)
            for _ in range(5):  # ...while requests are answered
                assert c.get("/v2/notify/slow/manifests/v1").status_code == 200
            assert not listener.release.is_set() and listener.events == []
        assert srv.stop() == 0      # shutdown is not held up by the hanging listener beyond its grace time
    finally:
        listener.close()


def test_hub_search_tags_description_and_stars(registry):
    img = Image([b"hub layer"])
    with registry.client() as c:
        push_image(c, "library/mysql", "8.0", img)
        time.sleep(0.02)
        c.put("/v2/library/mysql/manifests/8.4", content=img.manifest,
              headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        push_image(c, "someone/mysql-tools", "latest", img)

        r = c.patch("/v2/repositories/library/mysql/", json={"description": "MySQL database server"})
        assert r.status_code == 200 and r.json()["description"] == "MySQL database server"
        assert c.post("/v2/repositories/library/mysql/stars/").status_code == 201
        assert c.get("/v2/repositories/library/mysql/").json()["star_count"] == 1

        r = c.get("/v1/search", params={"q": "mysql", "n": 25})
        assert r.status_code == 200
        results = r.json()["results"]
        assert [x["name"] for x in results] == ["mysql", "someone/mysql-tools"]
        assert results[0] == {"name": "mysql", "description": "MySQL database server", "star_count": 1,
                              "is_official": True, "is_automated": False, "is_trusted": False}
        assert results[1]["is_official"] is False and results[1]["star_count"] == 0
        assert [x["name"] for x in c.get("/v1/search", params={"q": "database"}).json()["results"]] == ["mysql"]
        assert len(c.get("/v1/search", params={"q": "mysql", "n": 1}).json()["results"]) == 1

        r = c.get("/v2/repositories/library/mysql/tags")
        assert r.status_code == 200
        body = r.json()
        assert [t["name"] for t in body["results"]] == ["8.4", "8.0"] and body["count"] == 2
        assert body["results"][0]["digest"] == img.digest
        r = c.get("/v2/repositories/library/mysql/tags", params={"page_size": 1})
        assert len(r.json()["results"]) == 1 and "page=2" in r.json()["next"]
        assert c.get("/v2/repositories/library/nothere/tags").status_code == 404


def test_hub_single_tag_with_its_platforms(registry):
    """GET /v2/repositories/<ns>/<repo>/tags/<tag> answers one tag as Docker Hub does, and a tag lists each of
    its platforms under `images` (an index: every manifest but attestations)."""
    amd, arm = Image([b"amd layer"]), Image([b"arm layer!"], arch="arm64")
    with registry.client() as c:
        push_image(c, "hub/multi", "amd", amd)
        push_image(c, "hub/multi", "arm", arm)
        entries = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": img.digest,
                    "size": len(img.manifest), "platform": {"architecture": img.arch, "os": "linux"}}
                   for img in (amd, arm)]
        entries.append({**entries[0], "platform": {"architecture": "unknown", "os": "unknown"}})
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        assert c.put("/v2/hub/multi/manifests/both", content=index,
                     headers={"Content-Type": OCI_INDEX}).status_code == 201

        r = c.get("/v2/repositories/hub/multi/tags/amd")
        assert r.status_code == 200
        tag = r.json()
        assert tag["name"] == "amd" and tag["digest"] == amd.digest and tag["full_size"] == len(amd.layers[0])
        assert [(i["os"], i["architecture"], i["digest"], i["size"]) for i in tag["images"]] == [
            ("linux", "amd64", amd.digest, len(amd.layers[0]))]
        both = c.get("/v2/repositories/hub/multi/tags/both/").json()
        assert [(i["architecture"], i["digest"]) for i in both["images"]] == [("amd64", amd.digest),
                                                                               ("arm64", arm.digest)]
        assert both["full_size"] == len(amd.layers[0]) + len(arm.layers[0])
        listed = {t["name"]: t for t in c.get("/v2/repositories/hub/multi/tags").json()["results"]}
        assert listed["both"] == both and listed["amd"] == tag
        assert c.get("/v2/repositories/hub/multi/tags/nope").status_code == 404
        assert c.get("/v2/repositories/hub/none/tags/amd").status_code == 404
