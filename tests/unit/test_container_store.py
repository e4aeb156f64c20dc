"""ContainerStore over a real SQLite metadata file: the lookups docker users rely on (ID, name, unique prefix),
the queries other services make of it, and one lock per container shared by everyone who asks."""
import pytest

from dockyard.daemon.container_record import Container, State
from dockyard.daemon.container_store import ContainerStore
from dockyard.errors import InvalidParameter, NotFound
from dockyard.store.metadata import Metadata


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
    reopened = ContainerStore(Metadata(tmp_path / "md.db"))  # the daemon's next start
    assert [r.name for r in reopened.all()] == ["old", "db", "front"]
    assert reopened.get("front").state.Running is True
