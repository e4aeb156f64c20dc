"""ImageService removal and listing rules (moby's image_delete.go and images list), on a real SQLite store
with images that have no layers, so no mounts are needed."""
import json
from types import SimpleNamespace

import pytest

from dockyard.daemon.events import EventBus
from dockyard.filters import Filters
from dockyard.daemon.images import ImageService, _is_single_reference
from dockyard.errors import Conflict, NotFound
from dockyard.store.metadata import Metadata


class NoLayers:
    """Layer store stand-in: these images have empty root filesystems."""
    def get(self, chain_id):
        return None

    def release(self, chain_ids):
        pass


@pytest.fixture
def images(tmp_path):
    events = EventBus()
    users = {}  # image ID -> [(container ID, running)]
    containers = SimpleNamespace(users_of_image=lambda image_id: users.get(image_id, []))
    svc = ImageService(Metadata(tmp_path / "md.db"), None, NoLayers(), events, containers)
    svc.users = users
    return svc


def add(images, created: str, tags=(), parent: str = "", label: str = "") -> str:
    cfg = {"created": created, "os": "linux", "config": {"Labels": {"n": label or created}},
           "rootfs": {"type": "layers", "diff_ids": []}}
    return images.add_image(json.dumps(cfg).encode(), parent=parent, tags=tags)


def test_single_reference_is_one_tag_with_digests_of_its_own_repository():
    assert not _is_single_reference([])
    assert _is_single_reference(["docker.io/library/a:1"])
    assert not _is_single_reference(["docker.io/library/a:1", "docker.io/library/a:2"])
    assert _is_single_reference(["docker.io/library/a:1", "docker.io/library/a@sha256:" + "0" * 64])
    assert not _is_single_reference(["docker.io/library/a:1", "docker.io/library/b@sha256:" + "0" * 64])


def test_list_is_newest_created_first_whatever_the_store_order(images):
    new = add(images, "2024-03-01T00:00:00Z", ["x:new"])
    old = add(images, "2020-01-01T00:00:00Z", ["x:old"])  # stored last
    mid = add(images, "2022-01-01T00:00:00Z", ["x:mid"])
    assert [s["Id"] for s in images.list()] == [new, mid, old]
    assert [s["Id"] for s in images.list(filters=Filters({"since": ["x:old"]}))] == [new, mid]
    assert [s["Id"] for s in images.list(filters=Filters({"before": ["x:new"]}))] == [mid, old]


def test_force_by_name_deletes_an_image_a_stopped_container_uses_and_keeps_it_for_the_container(images):
    image = add(images, "2024-01-01T00:00:00Z", ["box:1"])
    images.users[image] = [("c" * 64, False)]
    with pytest.raises(Conflict, match=r'unable to remove repository reference "box:1" \(must force\)'):
        images.remove("box:1")
    assert images.remove("box:1", force=True) == [{"Untagged": "box:1"}, {"Deleted": image}]
    with pytest.raises(NotFound):
        images.resolve(image)
    assert images.get(image).id == image  # the container can still start from it
    images.users.pop(image)
    images.events.emit("container", "destroy", "c" * 64)
    with pytest.raises(NotFound):
        images.get(image)


def test_force_with_a_running_container_only_untags_by_name_and_refuses_by_id(images):
    image = add(images, "2024-01-01T00:00:00Z", ["box:1"])
    images.users[image] = [("r" * 64, True)]
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running container r{12}$"):
        images.remove(image, force=True)
    assert images.remove("box:1", force=True) == [{"Untagged": "box:1"}]
    assert images.get(image).id == image


def test_deleting_a_child_prunes_its_untagged_parents_but_not_a_tagged_one(images):
    base = add(images, "2024-01-01T00:00:00Z", ["base:1"])
    parent = add(images, "2024-01-02T00:00:00Z", parent=base)
    child = add(images, "2024-01-03T00:00:00Z", ["child:1"], parent=parent)
    with pytest.raises(Conflict, match="image has dependent child images"):
        images.remove(parent)
    assert images.remove("child:1") == [{"Untagged": "child:1"}, {"Deleted": child}, {"Deleted": parent}]
    assert images.get(base).id == base


def test_an_id_with_several_tags_needs_force(images):
    image = add(images, "2024-01-01T00:00:00Z", ["a:1", "b:1"])
    with pytest.raises(Conflict, match=r"\(must be forced\) - image is referenced in multiple repositories"):
        images.remove(image)
    assert images.remove(image, force=True) == [{"Untagged": "a:1"}, {"Untagged": "b:1"}, {"Deleted": image}]
