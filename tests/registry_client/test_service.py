"""RegistryService (daemon/registry.py) with real stores (SQLite, content store, vfs layers) against
docker-registry: the progress messages docker renders, what ends up stored, and failures."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from dockyard.daemon.config import DaemonConfig
from dockyard.daemon.container_store import ContainerStore
from dockyard.daemon.events import EventBus
from dockyard.daemon.images import ImageService
from dockyard.daemon.registry import RegistryService, split_search_term
from dockyard.errors import InvalidParameter, NotFound, SystemError_, Unauthorized
from dockyard.registry.client.dockercfg import encode_registry_auth
from dockyard.store.content import ContentStore
from dockyard.image.layers import LayerStore
from dockyard.store.metadata import Metadata
from dockyard.store.snapshots.vfs import VfsDriver

from .helpers import Image, busybox_layer, oci_layout, run, sha256, skopeo_copy, tar_layer


class Engine:
    """The stores and services a daemon would build, in-process."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.md = Metadata(root / "dockyard.db")
        self.content = ContentStore(root / "content")
        self.layers = LayerStore(self.md, self.content, VfsDriver(root / "layers" / "vfs"))
        self.images = ImageService(self.md, self.content, self.layers, EventBus(), ContainerStore(self.md))
        self.registry = RegistryService(self.images, DaemonConfig(data_root=root))

    def call(self, fn, *args, **kw) -> tuple[list[dict], object]:
        """Run a service coroutine, collecting its progress messages."""
        messages: list[dict] = []

        async def progress(m):
            messages.append(m)

        async def go():
            try:
                return await fn(*args, progress=progress, **kw)
            finally:
                await self.registry.close()
        return messages, run(go())

    def blobs(self) -> set[str]:
        return {p.name for p in self.content.blobs_dir.iterdir()}

    def layer_count(self) -> int:
        return self.md.one("SELECT COUNT(*) AS n FROM layers")["n"]


def statuses(messages: list[dict], id_: str | None = None) -> list[str]:
    return [m["status"] for m in messages if "status" in m and (id_ is None or m.get("id") == id_)]


@pytest.fixture
def engine(tmp_path) -> Engine:
    return Engine(tmp_path / "engine")


def test_pull_messages_store_and_up_to_date(engine, registry, pushed):
    ref = f"{registry.host}/library/busybox:latest"
    messages, _ = engine.call(engine.registry.pull, ref)
    short = [sha256(l).split(":")[1][:12] for l in pushed.layers]
    assert messages[0] == {"status": "Pulling from library/busybox", "id": "latest"}
    for s in short:
        seen = statuses(messages, s)
        assert seen[0] == "Pulling fs layer" and seen[-1] == "Pull complete"
        assert {"Downloading", "Verifying Checksum", "Download complete", "Extracting"} <= set(seen)
        dl = [m for m in messages if m.get("id") == s and m["status"] == "Downloading"][-1]
        assert dl["progressDetail"]["current"] == dl["progressDetail"]["total"]
        assert dl["progress"].startswith("[==================================================>]")
    assert messages[-2:] == [{"status": f"Digest: {pushed.digest}"},
                             {"status": f"Status: Downloaded newer image for {ref}"}]
    inspect = engine.images.inspect(ref)
    assert inspect["Id"] == pushed.id
    assert inspect["RepoTags"] == [ref]
    assert inspect["RepoDigests"] == [f"{registry.host}/library/busybox@{pushed.digest}"]
    assert inspect["RootFS"]["Layers"] == pushed.diff_ids

    again, _ = engine.call(engine.registry.pull, ref)
    assert statuses(again) == ["Pulling from library/busybox", "Already exists", "Already exists",
                               f"Digest: {pushed.digest}", f"Status: Image is up to date for {ref}"]
    by_digest = f"{registry.host}/library/busybox@{pushed.digest}"
    msgs, _ = engine.call(engine.registry.pull, by_digest)
    assert msgs[0]["id"] == pushed.digest
    assert msgs[-1] == {"status": f"Status: Image is up to date for {by_digest}"}


@pytest.fixture
def own_server(tmp_path):
    """dockyard's registry server (auth none), as a real process."""
    from tests.registry_server.regsrv_helpers import Server

    server = Server(str(tmp_path / "own-storage")).start()
    yield server
    server.stop()


def test_layers_download_in_parallel(engine, own_server, tmp_path):
    """With a consumer that dawdles on every Downloading update, each download lasts a while; all three layers
    have started before the first is verified (in the order the updates came), which one-at-a-time downloads
    cannot do."""
    img = Image([tar_layer({f"parallel/{i}": os.urandom(300_000)}) for i in range(3)])
    ref = f"{own_server.host}/par/img:1"
    skopeo_copy(oci_layout(tmp_path / "l", "1", [img]), "1", ref)
    updates = []  # (status, layer) in the order the pull reported them

    async def progress(m):
        if m.get("status") in ("Downloading", "Verifying Checksum"):
            updates.append((m["status"], m["id"]))
        if m.get("status") == "Downloading":
            await asyncio.sleep(0.5)

    async def pull():
        try:
            await engine.registry.pull(ref, progress=progress)
        finally:
            await engine.registry.close()

    run(pull())
    started = list(dict.fromkeys(layer for status, layer in updates if status == "Downloading"))
    verified = [layer for status, layer in updates if status == "Verifying Checksum"]
    assert set(started) == set(verified) == {sha256(l).split(":")[1][:12] for l in img.layers}
    first_verified = updates.index(("Verifying Checksum", verified[0]))
    assert {layer for status, layer in updates[:first_verified] if status == "Downloading"} == set(started)
    assert engine.images.inspect(ref)["Id"] == img.id


def test_pull_unknown_repository_and_tag(engine, registry, pushed):
    with pytest.raises(NotFound) as e:
        engine.call(engine.registry.pull, f"{registry.host}/library/busybox:nope")
    assert str(e.value) == (f"manifest for {registry.host}/library/busybox:nope not found: "
                            "manifest unknown: manifest unknown")
    with pytest.raises(NotFound):
        engine.call(engine.registry.pull, f"{registry.host}/nobody/here")
    assert engine.layer_count() == 0 and not engine.blobs()


def test_corrupted_layer_registers_nothing(engine, make_registry, tmp_path):
    reg = make_registry()
    img = Image([busybox_layer(), tar_layer({"data": os.urandom(200_000)})])
    skopeo_copy(oci_layout(tmp_path / "l", "v1", [img]), "v1", f"{reg.host}/bad/image:v1")
    path = reg.blob_path(sha256(img.layers[1]))
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    messages = []
    with pytest.raises(Exception) as e:
        async def progress(m):
            messages.append(m)
        run(engine.registry.pull(f"{reg.host}/bad/image:v1", progress=progress))
    assert str(e.value) == f"filesystem layer verification failed for digest {sha256(img.layers[1])}"
    # The good bottom layer may be registered (a retry resumes from it); the bad one is not, no image is.
    assert engine.md.one("SELECT COUNT(*) AS n FROM images")["n"] == 0
    assert engine.layers.get(img.diff_ids[0]) is not None or engine.layer_count() == 0
    assert engine.layer_count() <= 1
    assert sha256(img.layers[1]).split(":")[1] not in engine.blobs()
    assert not list(engine.content.ingest_dir.iterdir())


def test_multi_arch_index_picks_platform(engine, registry, tmp_path):
    amd = Image([tar_layer({"arch": b"amd64\n"})], arch="amd64")
    arm = Image([tar_layer({"arch": b"arm64\n"})], arch="arm64", variant="v8")
    skopeo_copy(oci_layout(tmp_path / "m", "multi", [amd, arm], as_index=True), "multi",
                f"{registry.host}/svc/multi:latest", all_images=True)
    host_arch = os.uname().machine
    native, foreign = (amd, arm) if host_arch == "x86_64" else (arm, amd)
    msgs, _ = engine.call(engine.registry.pull, f"{registry.host}/svc/multi")
    assert engine.images.inspect(f"{registry.host}/svc/multi")["Id"] == native.id
    other = "linux/arm64" if foreign is arm else "linux/amd64"
    engine.call(engine.registry.pull, f"{registry.host}/svc/multi", platform=other)
    assert engine.images.inspect(f"{registry.host}/svc/multi")["Id"] == foreign.id
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest list entries"):
        engine.call(engine.registry.pull, f"{registry.host}/svc/multi", platform="linux/s390x")


def test_push_twice_same_digest_then_shared_layers_mount(engine, registry, pushed, tmp_path):
    engine.call(engine.registry.pull, f"{registry.host}/library/busybox:latest")
    # An image whose layers the store only has as plain tars: push must gzip them, the same way twice.
    other = Engine(tmp_path / "other")
    layer = tar_layer({"app/hello.txt": b"hello\n"})
    top = other.layers.register(__import__("io").BytesIO(layer), None)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [top.diff_id]}}).encode()
    image_id = other.images.add_image(cfg, tags=[f"{registry.host}/me/base:1"])
    first, _ = other.call(other.registry.push, f"{registry.host}/me/base", "1")
    assert first[0] == {"status": f"The push refers to repository [{registry.host}/me/base]"}
    short = top.diff_id.split(":")[1][:12]
    assert statuses(first, short) == ["Preparing", "Pushing", "Pushed"] or \
        statuses(first, short)[:1] == ["Preparing"] and statuses(first, short)[-1] == "Pushed"
    final = first[-2]["status"]
    digest = first[-1]["aux"]["Digest"]
    assert final == f"1: digest: {digest} size: {first[-1]['aux']['Size']}"
    assert first[-1] == {"progressDetail": {}, "aux": {"Tag": "1", "Digest": digest, "Size": first[-1]["aux"]["Size"]}}
    again, _ = other.call(other.registry.push, f"{registry.host}/me/base", "1")
    assert statuses(again, short) == ["Preparing", "Layer already exists"]
    assert again[-1]["aux"]["Digest"] == digest
    assert f"{registry.host}/me/base@{digest}" in other.images.inspect(image_id)["RepoDigests"]

    # The pulled busybox, re-tagged into another repository of the same registry: its blobs are mounted.
    engine.images.tag(f"{registry.host}/library/busybox:latest", f"{registry.host}/me/app:2")
    msgs, _ = engine.call(engine.registry.push, f"{registry.host}/me/app:2")
    for d in pushed.diff_ids:
        assert statuses(msgs, d.split(":")[1][:12])[-1] == "Mounted from library/busybox"
    assert msgs[-2]["status"].startswith("2: digest: sha256:")


def test_push_unknown_tag(engine, registry):
    with pytest.raises(NotFound, match=f"An image does not exist locally with the tag: {registry.host}/me/none"):
        engine.call(engine.registry.push, f"{registry.host}/me/none", None)


def test_login_basic_and_token(engine, htpasswd_registry, token_registry):
    async def go(cfg):
        try:
            return await engine.registry.login(cfg)
        finally:
            await engine.registry.close()
    ok = run(go({"username": "alice", "password": "wonderland", "serveraddress": htpasswd_registry.host}))
    assert ok == {"Status": "Login Succeeded", "IdentityToken": ""}
    with pytest.raises(Unauthorized):
        run(go({"username": "alice", "password": "nope", "serveraddress": htpasswd_registry.host}))
    ok = run(go({"username": "alice", "password": "wonderland", "serveraddress": f"http://{token_registry.host}"}))
    assert ok["Status"] == "Login Succeeded"


def test_pull_with_x_registry_auth(engine, htpasswd_registry, busybox_image, tmp_path):
    reg = htpasswd_registry
    skopeo_copy(oci_layout(tmp_path / "l", "v1", [busybox_image]), "v1", f"{reg.host}/private/bb:v1",
                creds="alice:wonderland")
    header = encode_registry_auth({"username": "alice", "password": "wonderland", "serveraddress": reg.host})
    msgs, _ = engine.call(engine.registry.pull, f"{reg.host}/private/bb:v1", auth=header)
    assert msgs[-1]["status"] == f"Status: Downloaded newer image for {reg.host}/private/bb:v1"
    # anonymous against a Basic challenge: moby's basic handler has nothing to send
    with pytest.raises(SystemError_, match=f'^Head "http://{reg.host}/v2/private/bb/manifests/v1": '
                                           "no basic auth credentials$"):
        Engine(tmp_path / "anon").call(Engine(tmp_path / "anon").registry.pull, f"{reg.host}/private/bb:v1")


def test_search_term_and_limits(engine):
    assert split_search_term("busybox") == ("docker.io", "busybox")
    assert split_search_term("me/app") == ("docker.io", "me/app")
    assert split_search_term("localhost:5000/busy") == ("localhost:5000", "busy")
    assert split_search_term("reg.example/x/y") == ("reg.example", "x/y")
    with pytest.raises(InvalidParameter, match=r"limit 101 is outside the range of \[1, 100\]"):
        run(engine.registry.search("localhost:5000/x", 101))


def test_pull_all_tags(engine, registry, tmp_path):
    one, two = Image([tar_layer({"v": b"1\n"})]), Image([tar_layer({"v": b"2\n"})])
    skopeo_copy(oci_layout(tmp_path / "1", "a", [one]), "a", f"{registry.host}/every/tag:a")
    skopeo_copy(oci_layout(tmp_path / "2", "b", [two]), "b", f"{registry.host}/every/tag:b")
    msgs, _ = engine.call(engine.registry.pull, f"{registry.host}/every/tag", all_tags=True)
    pulled = [m for m in msgs if m["status"].startswith("Pulling from")]  # in the registry's tag order
    assert sorted(pulled, key=lambda m: m["id"]) == [
        {"status": "Pulling from every/tag", "id": "a"}, {"status": "Pulling from every/tag", "id": "b"}]
    assert msgs[-1] == {"status": f"Status: Downloaded newer image for {registry.host}/every/tag"}
    assert engine.images.inspect(f"{registry.host}/every/tag:a")["Id"] == one.id
    assert engine.images.inspect(f"{registry.host}/every/tag:b")["Id"] == two.id
    with pytest.raises(InvalidParameter, match="tag can't be used with --all-tags/-a"):
        engine.call(engine.registry.pull, f"{registry.host}/every/tag:a", all_tags=True)


def test_platform_mismatch_on_a_single_manifest(engine, registry, pushed):
    """dockerd pulls a single-platform image of another platform anyway, and warns after the status."""
    msgs, _ = engine.call(engine.registry.pull, f"{registry.host}/library/busybox:latest", platform="linux/s390x")
    assert msgs[-2] == {"status": f"Status: Downloaded newer image for {registry.host}/library/busybox:latest"}
    assert msgs[-1] == {"status": f"WARNING: image with reference {registry.host}/library/busybox:latest was found "
                                  "but does not match the specified platform: wanted linux/s390x, actual: linux/amd64"}
    assert engine.images.inspect(f"{registry.host}/library/busybox:latest")["Architecture"] == "amd64"
