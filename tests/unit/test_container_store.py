"""ContainerStore over a real SQLite metadata file: the lookups docker users rely on (ID, name, unique prefix),
the queries other services make of it, and one lock per container shared by everyone who asks."""
import asyncio
import threading
import time

import pytest

from dockyard.daemon.container_record import Container, State
from dockyard.daemon.container_store import ContainerStore
from dockyard.errors import InvalidParameter, NotFound
from dockyard.store.metadata import Metadata
from dockyard.store.write_behind import request_written, track_request


def record(cid: str, name: str, image: str = "sha256:" + "a" * 64, running=False, paused=False, created=1,
           volumes=(), links=()):
    return Container(id=cid, name=name, created=f"2024-01-01T00:00:{created:02d}Z", image_id=image,
                     config={"Image": "busybox", "Labels": {"team": name}}, host_config={"Links": list(links)},
                     state=State(Running=running, Paused=paused),
                     mount_points=[{"Name": v, "Type": "volume"} for v in volumes])


@pytest.fixture
def store(tmp_path):
    s = ContainerStore(Metadata(tmp_path / "md.db"))
    s.save(record("ab" + "0" * 62, "web", running=True, created=1, volumes=["data"]))
    s.save(record("ac" + "1" * 62, "db", paused=True, running=True, created=2, links=["/web:/db/web"]))
    s.save(record("ff" + "2" * 62, "old", image="sha256:" + "b" * 64, created=3))
    return s


def test_lookup_by_id_name_and_unique_prefix(store):
    assert store.get("ab" + "0" * 62).name == "web"
    assert store.get("web").id.startswith("ab") and store.get("/web").name == "web"
    assert store.get("ff").name == "old"
    with pytest.raises(InvalidParameter, match="multiple IDs found with provided prefix: a"):
        store.get("a")
    with pytest.raises(NotFound, match="No such container: nothere"):
        store.get("nothere")
    assert store.find("ab") is None and store.find("ab" + "0" * 62).name == "web"


def test_queries_other_services_make(store):
    assert [c.name for c in store.all()] == ["old", "db", "web"]  # newest first
    assert store.names() == {"web", "db", "old"} and store.id_named("db").startswith("ac")
    assert sorted(store.users_of_image("sha256:" + "a" * 64)) == [("ab" + "0" * 62, True), ("ac" + "1" * 62, True)]
    assert store.users_of_image("sha256:" + "c" * 64) == []
    assert store.users_of_volume("data") == ["ab" + "0" * 62]
    assert store.counts() == {"running": 1, "paused": 1, "stopped": 1}
    assert store.link_targets() == {"web"} and store.ids_linking_to("web") == ["ac" + "1" * 62]
    assert store.labels_of("ff" + "2" * 62) == {"team": "old"} and store.labels_of("") == {}


def test_delete_and_one_lock_per_container(store):
    cid = store.id_named("old")
    lock = store.lock(cid)
    assert store.lock(cid) is lock and store.lock(store.id_named("web")) is not lock
    store.delete(cid)
    store.forget_lock(cid)
    assert not store.exists(cid) and store.lock(cid) is not lock
    assert cid not in store.ids()


def test_a_rename_moves_the_name_and_a_new_store_reads_what_was_saved(store, tmp_path):
    c = store.get("web")
    c.name = "front"
    store.save(c)
    assert store.get("front").id == c.id and store.id_named("web") is None and "web" not in store.names()
    with pytest.raises(NotFound):
        store.get("web")
    store.close()  # the daemon's shutdown writes what is pending
    reopened = ContainerStore(Metadata(tmp_path / "md.db"))  # the daemon's next start
    assert [r.name for r in reopened.all()] == ["old", "db", "front"]
    assert reopened.get("front").state.Running is True


def hold_write_lock(md: Metadata) -> tuple[threading.Thread, threading.Event]:
    """A thread in a long write transaction (as a pool thread's image removal or build), until the event is set."""
    inside, release = threading.Event(), threading.Event()

    def long_transaction():
        with md.tx():
            inside.set()
            release.wait(30)

    other = threading.Thread(target=long_transaction)
    other.start()
    assert inside.wait(10)
    return other, release


def test_a_save_never_waits_for_the_database_and_a_request_waits_for_its_own_writes(tmp_path):
    md = Metadata(tmp_path / "md.db")
    store = ContainerStore(md)
    other, release = hold_write_lock(md)

    async def request():
        token = track_request()
        began = time.monotonic()
        store.save(record("ab" + "0" * 62, "web", running=True))
        saved_in = time.monotonic() - began
        assert store.get("web").state.Running  # seen at once by every lookup
        threading.Timer(0.3, release.set).start()
        await request_written(token)  # what the response waits for
        return saved_in, time.monotonic() - began

    saved_in, answered_in = asyncio.run(request())
    other.join()
    assert saved_in < 0.1  # on the old store: the whole 0.3 s the other transaction took
    assert answered_in >= 0.3  # ...and the response only once the record is on disk:
    on_disk = Metadata(tmp_path / "md.db").query("SELECT name FROM containers")
    assert [r["name"] for r in on_disk] == ["web"]
    store.delete(store.id_named("web"))
    store.close()
    assert Metadata(tmp_path / "md.db").query("SELECT name FROM containers") == []


def test_listings_decode_a_record_once_per_save(store):
    first = {c.name: c for c in store.listed()}
    assert [c.name for c in store.listed()] == ["old", "db", "web"]  # newest first, as all()
    again = {c.name: c for c in store.listed()}
    assert all(again[name] is first[name] for name in first)  # nothing decoded again
    web = store.get("web")
    web.state.Running = False
    store.save(web)
    store.delete(store.id_named("old"))
    after = {c.name: c for c in store.listed()}
    assert set(after) == {"db", "web"} and after["db"] is first["db"]
    assert after["web"] is not first["web"] and after["web"].state.Running is False


def test_a_response_goes_out_once_what_its_request_saved_is_on_disk(tmp_path):
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from dockyard.api.middleware import written_middleware

    md = Metadata(tmp_path / "md.db")
    store = ContainerStore(md)

    async def create(request):
        store.save(record("ab" + "0" * 62, "web"))
        return web.json_response({"Id": "ab" + "0" * 62})

    async def ping(request):
        return web.Response(text="OK")

    async def scenario():
        app = web.Application(middlewares=[written_middleware])
        app.router.add_post("/create", create)
        app.router.add_get("/_ping", ping)
        other, release = hold_write_lock(md)
        async with TestClient(TestServer(app)) as client:
            answer = asyncio.ensure_future(client.post("/create"))
            await asyncio.sleep(0.3)
            assert not answer.done()  # held: the record is not on disk yet
            assert (await client.get("/_ping")).status == 200  # a request that wrote nothing is not held
            release.set()
            assert (await answer).status == 200
        other.join()
        return [r["name"] for r in Metadata(tmp_path / "md.db").query("SELECT name FROM containers")]

    assert asyncio.run(scenario()) == ["web"]
    store.close()


def test_a_record_round_trips_with_every_field_and_shares_nothing_with_its_copy():
    c = Container(id="c" * 64, name="full", created="2026-12-07T16:00:00.000000000Z", image_id="sha256:" + "a" * 64,
                  config={"Cmd": ["sh"], "Labels": {"a": "b"}}, host_config={"Binds": ["/x:/y"], "AutoRemove": True},
                  path="sh", args=["-c", "true"], network_settings={"Networks": {"bridge": {"IPAddress": "10.0.0.2"}}},
                  mount_points=[{"Type": "volume", "Name": "v"}])
    c.state.set_running(42, "2026-12-07T16:00:01.000000000Z")
    c.state.Health = {"Status": "healthy", "FailingStreak": 0, "Log": []}
    copy = Container.from_json(c.to_json())
    assert copy == c
    copy.config["Labels"]["a"] = "changed"
    copy.state.Pid = 7
    assert c.config["Labels"]["a"] == "b" and c.state.Pid == 42
