"""Web hooks: Docker Hub's payload POSTed to a receiver on 127.0.0.1 on every push, retries, delivery history,
the allowlist, and a private repository's payload going to its own hooks only."""
import httpx

from hub_helpers import Receiver, message, wait_until


def _hooks(c, repo):
    return c.get(f"/v2/repositories/{repo}/webhook_pipeline/").json()["results"]


def test_push_delivers_docker_hubs_payload_and_shows_it_in_the_history(hub):
    hub.add_user("hank")
    receiver = Receiver()
    try:
        with hub.api("hank") as c:
            c.post("/v2/namespaces/hank/repositories", json={"name": "hooked", "description": "has a hook",
                                                              "is_private": True})
            r = c.post("/v2/repositories/hank/hooked/webhook_pipeline/",
                       json={"name": "ci", "webhooks": [{"name": "ci", "hook_url": receiver.url}]})
            assert r.status_code == 201
            assert r.json()["name"] == "ci" and r.json()["webhooks"] == [{"name": "ci", "hook_url": receiver.url}]
            assert r.json()["deliveries"] == []
            r = c.post("/v2/repositories/hank/hooked/webhook_pipeline/",
                       json={"name": "ci", "webhooks": [{"name": "ci", "hook_url": receiver.url}]})
            assert r.status_code == 409
        img = hub.push("hank", "hank/hooked", "v1")
        payload = receiver.wait(1)[0]
        assert payload["push_data"]["tag"] == "v1" and payload["push_data"]["pusher"] == "hank"
        assert isinstance(payload["push_data"]["pushed_at"], int)
        repo = payload["repository"]
        assert (repo["repo_name"], repo["namespace"], repo["name"], repo["owner"]) == ("hank/hooked", "hank", "hooked", "hank")
        assert repo["is_private"] is True and repo["description"] == "has a hook" and repo["status"] == "Active"
        assert repo["repo_url"] == f"{hub.url}/r/hank/hooked"
        for key in ("is_trusted", "full_description", "is_official", "star_count", "comment_count", "date_created",
                    "dockerfile"):
            assert key in repo
        assert payload["callback_url"].startswith(f"{hub.url}/v2/webhook_callbacks/")
        with hub.api("hank") as c:
            history = wait_until(lambda: [d for d in _hooks(c, "hank/hooked")[0]["deliveries"] if d["status"] == "success"],
                                 what="a successful delivery in the history")
            assert history[0]["response_code"] == 200 and history[0]["tag"] == "v1" and history[0]["attempts"] == 1
            assert history[0]["created"]
        # the receiver reports back through the callback URL, as Docker Hub's hooks can
        r = httpx.post(payload["callback_url"], json={"state": "success", "description": "deployed"})
        assert r.status_code == 200
        assert httpx.post(payload["callback_url"], json={"state": "bogus"}).status_code == 400
        with hub.api("hank") as c:
            d = _hooks(c, "hank/hooked")[0]["deliveries"][0]
            assert (d["callback_state"], d["callback_description"]) == ("success", "deployed")
            assert c.get("/v2/repositories/hank/hooked/webhook_pipeline/ci/").json()["name"] == "ci"
            assert c.delete("/v2/repositories/hank/hooked/webhook_pipeline/ci/").status_code == 204
            assert _hooks(c, "hank/hooked") == []
        hub.push("hank", "hank/hooked", "v2", img)
        with hub.api() as c:      # a push with no hook left delivers nothing; nothing to see for others either
            assert c.get("/v2/repositories/hank/hooked/webhook_pipeline/").status_code == 404
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_a_failing_receiver_is_retried_and_then_marked_failed(make_hub):
    srv = make_hub({"hub": {"webhook_retries": 2, "webhook_backoff": "50ms"}})
    srv.add_user("rob")
    flaky, dead = Receiver(codes=[500]), Receiver(codes=[503, 503, 503])
    try:
        with srv.api("rob") as c:
            c.post("/v2/namespaces/rob/repositories", json={"name": "app"})
            for name, receiver in (("flaky", flaky), ("dead", dead)):
                assert c.post("/v2/repositories/rob/app/webhook_pipeline/", json={
                    "name": name, "webhooks": [{"name": name, "hook_url": receiver.url}]}).status_code == 201
        srv.push("rob", "rob/app", "1")
        assert flaky.wait(1)[0]["push_data"]["tag"] == "1" and flaky.attempts == 2
        with srv.api("rob") as c:
            def outcome(name):
                hooks = {h["name"]: h for h in _hooks(c, "rob/app")}
                d = hooks[name]["deliveries"][0]
                return d if d["status"] != "pending" else None
            delivered = wait_until(lambda: outcome("flaky"), what="flaky delivered")
            assert delivered["status"] == "success" and delivered["attempts"] == 2
            failed = wait_until(lambda: outcome("dead"), what="dead hook given up")
            assert failed["status"] == "failed" and failed["response_code"] == 503 and failed["attempts"] == 3
        assert dead.attempts == 3 and dead.bodies == []
    finally:
        flaky.close()
        dead.close()


def test_hook_urls_must_be_on_the_allowlist(hub):
    hub.add_user("alma")
    with hub.api("alma") as c:
        c.post("/v2/namespaces/alma/repositories", json={"name": "x1"})
        for url, words in (("http://10.1.2.3/hook", "not in the registry's webhook allowlist"),
                           ("http://ci.example/hook", "not in the registry's webhook allowlist"),
                           ("ftp://127.0.0.1/x", "must be an http:// or https:// URL"),
                           ("http://127.0.0.1:notaport/", "not a valid URL")):
            r = c.post("/v2/repositories/alma/x1/webhook_pipeline/",
                       json={"name": "h", "webhooks": [{"name": "h", "hook_url": url}]})
            assert r.status_code == 400 and words in message(r), (url, r.text)
        r = c.post("/v2/repositories/alma/x1/webhook_pipeline/", json={"name": "h", "webhooks": []})
        assert r.status_code == 400 and message(r) == "webhooks must be a list of one {name, hook_url}"
        assert _hooks(c, "alma/x1") == []


def test_each_repository_s_payload_goes_to_its_own_hooks_only(hub):
    hub.add_user("pia")
    private_rx, public_rx = Receiver(), Receiver()
    try:
        with hub.api("pia") as c:
            c.post("/v2/namespaces/pia/repositories", json={"name": "priv", "is_private": True})
            c.post("/v2/namespaces/pia/repositories", json={"name": "pub"})
            for repo, rx in (("priv", private_rx), ("pub", public_rx)):
                c.post(f"/v2/repositories/pia/{repo}/webhook_pipeline/",
                       json={"name": "h", "webhooks": [{"name": "h", "hook_url": rx.url}]})
        hub.push("pia", "pia/priv", "secret-tag")
        hub.push("pia", "pia/pub", "open-tag")
        assert [b["push_data"]["tag"] for b in private_rx.wait(1)] == ["secret-tag"]
        assert [b["push_data"]["tag"] for b in public_rx.wait(1)] == ["open-tag"]
        with hub.api("pia") as c:   # both delivered, so nothing else is on its way
            wait_until(lambda: all(_hooks(c, f"pia/{r}")[0]["deliveries"][0]["status"] == "success"
                                   for r in ("priv", "pub")), what="both deliveries done")
        assert len(private_rx.bodies) == 1 and len(public_rx.bodies) == 1
    finally:
        private_rx.close()
        public_rx.close()
