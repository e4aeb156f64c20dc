"""Fixtures: docker-registry processes (plain, htpasswd, token auth) and a busybox image pushed with skopeo."""
from __future__ import annotations

import pytest

from .helpers import DockerRegistry, Image, TokenServer, busybox_layer, oci_layout, skopeo_copy, tar_layer, write_htpasswd

USERS = {"alice": "wonderland"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """An open docker-registry shared by a module's tests (use distinct repository names)."""
    reg = DockerRegistry(tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def busybox_image() -> Image:
    return Image([busybox_layer(), tar_layer({"etc/motd": b"hello from dockyard\n"})])


@pytest.fixture(scope="module")
def pushed(registry, busybox_image, tmp_path_factory):
    """busybox_image in `registry` as library/busybox:latest (via skopeo, OCI manifest kept as is)."""
    layout = oci_layout(tmp_path_factory.mktemp("layout"), "latest", [busybox_image])
    skopeo_copy(layout, "latest", f"{registry.host}/library/busybox:latest")
    return busybox_image


@pytest.fixture
def make_registry(tmp_path):
    """Start registries with a given `auth:` section; all stopped at the end of the test."""
    started = []

    def make(auth: dict | None = None, name: str = "reg") -> DockerRegistry:
        reg = DockerRegistry(tmp_path / f"{name}{len(started)}", auth=auth).start()
        started.append(reg)
        return reg

    yield make
    for reg in started:
        reg.stop()


@pytest.fixture
def htpasswd_registry(make_registry, tmp_path):
    path = write_htpasswd(tmp_path / "htpasswd", USERS)
    return make_registry({"htpasswd": {"realm": "dockyard-test", "path": str(path)}}, name="basic")


@pytest.fixture
def token_server(tmp_path):
    server = TokenServer(tmp_path, USERS).start()
    yield server
    server.stop()


@pytest.fixture
def token_registry(make_registry, token_server):
    return make_registry(token_server.registry_auth(), name="token")
