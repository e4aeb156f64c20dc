"""Containers and networks are named as dockerd names them (store/record_index.py): the full ID first, then
the name, then a unique ID prefix; each with its resource's own words for "not found" and "ambiguous"."""
import pytest

from dockyard.daemon.config import DaemonConfig
from dockyard.daemon.container_store import ContainerStore
from dockyard.daemon.events import EventBus
from dockyard.daemon.network_record import Network
from dockyard.daemon.networks import NetworkService
from dockyard.errors import InvalidParameter, NotFound
from dockyard.store.metadata import Metadata

from .test_container_store import record

A, B = "ab" + "0" * 62, "ac" + "1" * 62


@pytest.fixture
def md(tmp_path):
    md = Metadata(tmp_path / "md.db")
    yield md
    md.close()


def test_container_full_id_then_name_then_prefix(md):
    store = ContainerStore(md)
    store.save(record(A, "web"))
    store.save(record(B, A, created=2))  # named as the other's full ID
    store.save(record("ff" + "2" * 62, "ab", created=3))  # named as the other's ID prefix
    assert store.get(A).name == "web"  # the ID wins over a name
    assert store.get("ab").id.startswith("ff")  # a name wins over a prefix
    assert store.get("ac").id == B
    with pytest.raises(InvalidParameter, match="^multiple IDs found with provided prefix: a$"):
        store.get("a")
    for ref in ("a%", "a_", "AB"):  # not a lower-case hex prefix: no wildcard, no case folding
        with pytest.raises(NotFound, match=f"^No such container: {ref}$"):
            store.get(ref)


def test_network_words_for_missing_and_ambiguous(md, tmp_path):
    networks = NetworkService(DaemonConfig(data_root=tmp_path, exec_root=tmp_path), md, EventBus(), ContainerStore(md))
    # long shared prefixes: the predefined networks (bridge, host, none) have random IDs of their own
    front, back = "abcdef0" + "0" * 57, "abcdef1" + "1" * 57
    for nid, name in ((front, "front"), (back, "back")):
        networks._save(Network(id=nid, name=name, driver="bridge", created="2024-01-01T00:00:00Z"))
    assert networks.get("front").id == front and networks.get("abcdef1").name == "back"
    assert networks.get(back).name == "back"
    with pytest.raises(NotFound, match=r"^network abcdef is ambiguous \(2 matches found based on ID prefix\)$"):
        networks.get("abcdef")
    with pytest.raises(NotFound, match="^network nothere not found$"):
        networks.get("nothere")
    again = NetworkService(DaemonConfig(data_root=tmp_path, exec_root=tmp_path), md, EventBus(), ContainerStore(md))
    assert again.get("abcdef1").name == "back" and [n.name for n in again.all()] == ["back", "bridge", "front",
                                                                                       "host", "none"]
