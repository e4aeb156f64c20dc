"""Per-request leftovers and wording: an upload cut short leaves no temp file, a failed download says
what Go's net/http says, and a full image ID no image has is "No such image", not a bad name."""
import asyncio
import io
import json
import socket
from types import SimpleNamespace

import pytest

from dockyard.api.context import TEMP_DIR
from dockyard.api.spool import downloaded, spooled
from dockyard.daemon.container_store import ContainerStore
from dockyard.daemon.events import EventBus
from dockyard.daemon.images import ImageService
from dockyard.errors import InvalidParameter, NotFound
from dockyard.fetch import download
from dockyard.store.metadata import Metadata


class CutShortBody:
    """A request body whose client hangs up (or the read fails) after the first chunk."""

    def __init__(self, error: BaseException):
        self.error = error

    async def iter_chunked(self, size):
        yield b"x" * size
        raise self.error


def fake_request(tmp_path, content) -> SimpleNamespace:
    return SimpleNamespace(app={TEMP_DIR: tmp_path / "tmp"}, content=content)


async def enter(temp_file_of_a_request) -> None:
    async with temp_file_of_a_request:
        pytest.fail("the file was made whole")


@pytest.mark.parametrize("error", [asyncio.CancelledError(), ConnectionResetError("reset"), ValueError("bad")])
def test_spool_cut_short_leaves_no_upload_file(tmp_path, error):
    (tmp_path / "tmp").mkdir()
    request = fake_request(tmp_path, CutShortBody(error))
    with pytest.raises(type(error)):
        asyncio.run(enter(spooled(request)))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_failed_import_download_leaves_no_upload_file(tmp_path):
    (tmp_path / "tmp").mkdir()
    request = fake_request(tmp_path, None)
    with pytest.raises(InvalidParameter):
        asyncio.run(enter(downloaded(request, f"http://127.0.0.1:{closed_port()}/x.tar")))
    assert list((tmp_path / "tmp").iterdir()) == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nothing listens there


def test_connection_refused_in_go_words():
    port = closed_port()
    url = f"http://127.0.0.1:{port}/x.tar"
    with pytest.raises(InvalidParameter) as info:
        download(url, io.BytesIO())
    assert str(info.value) == f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused'


def test_unknown_full_image_id_is_not_found(tmp_path):
    md = Metadata(tmp_path / "md.db")
    images = ImageService(md, None, None, EventBus(), ContainerStore(md))
    missing = "ab" * 32
    with pytest.raises(NotFound) as info:
        images.resolve(missing)
    assert str(info.value) == f"No such image: sha256:{missing}"
    with pytest.raises(InvalidParameter):  # a bad name is still a bad name
        images.resolve("BAD:ref")


def test_full_image_id_of_an_image_resolves(tmp_path):
    md = Metadata(tmp_path / "md.db")
    images = ImageService(md, None, SimpleNamespace(get=lambda c: None), EventBus(), ContainerStore(md))
    cfg = {"created": "2024-01-01T00:00:00Z", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    image_id = images.add_image(json.dumps(cfg).encode())
    assert images.resolve(image_id.split(":", 1)[1])[0] == image_id
