"""Registry client throughput: pull and push of a ~500 MB, 5-layer image over loopback against Debian's
docker-registry (distribution 2.8), beside sha256 of the same bytes (the floor).

Usage: python bench/registry_pull.py [--layer-mb 100] [--layers 5] [--runs 2]
Prints a Markdown table (MB = 10^6 bytes of compressed layer data; best of --runs).

Rows:
- sha256 of the blobs (read from page cache): what verifying alone costs; nothing can beat it.
- fetch + verify: RegistryClient.fetch_blob of all layers, 3 in parallel, bytes discarded.
- pull: RegistryService.pull into real stores (content store + layer store, overlay or vfs): download,
  verify, write the blob, unpack each layer.
- push (stored gzip): the pulled image pushed to an empty registry: HEAD + upload of every blob.
- push (gzip on the fly): an image whose layers are stored as plain tars (like `docker commit`/`load`),
  pushed to an empty registry: deterministic gzip + upload.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dockyard.daemon.config import DaemonConfig  # noqa: E402
from dockyard.daemon.container_store import ContainerStore  # noqa: E402
from dockyard.daemon.events import EventBus  # noqa: E402
from dockyard.daemon.images import ImageService  # noqa: E402
from dockyard.daemon.registry import RegistryService  # noqa: E402
from dockyard.registry.client.distribution import RegistryClient  # noqa: E402
from dockyard.store.content import ContentStore  # noqa: E402
from dockyard.image.layers import LayerStore  # noqa: E402
from dockyard.store.metadata import Metadata  # noqa: E402
from dockyard.store.snapshots import choose_driver  # noqa: E402
from tests.registry_client.helpers import DockerRegistry, Image, oci_layout, skopeo_copy, tar_layer  # noqa: E402


class Engine:
    def __init__(self, root: Path):
        root.mkdir(parents=True)
        self.md = Metadata(root / "dockyard.db")
        self.content = ContentStore(root / "content")
        self.layers = LayerStore(self.md, self.content, choose_driver(root / "layers"))
        self.images = ImageService(self.md, self.content, self.layers, EventBus(), ContainerStore(self.md))
        self.registry = RegistryService(self.images, DaemonConfig(data_root=root))

    async def run(self, fn, *args, **kw):
        async def quiet(_msg):
            pass
        try:
            return await fn(*args, progress=quiet, **kw)
        finally:
            await self.registry.close()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer-mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-registry-", dir="/var/tmp"))
    registries = []
    try:
        # Random file contents: incompressible, so the bytes on the wire are the image size.
        tars = [tar_layer({f"layer{i}/data.bin": os.urandom(args.layer_mb * 1_000_000)}) for i in range(args.layers)]
        img = Image(tars)
        total = sum(len(b) for b in img.layers)
        src = DockerRegistry(work / "src").start()
        registries.append(src)
        layout = oci_layout(work / "layout", "v1", [img])
        skopeo_copy(layout, "v1", f"{src.host}/bench/big:v1")
        ref = f"{src.host}/bench/big:v1"
        rows = []

        def floor():
            for b in img.layers:
                hashlib.sha256(b).digest()
        rows.append(("sha256 of the blobs (floor)", min(timed(floor) for _ in range(args.runs))))

        async def fetch_all():
            async with RegistryClient(src.host) as c:
                sem = asyncio.Semaphore(3)

                async def one(blob):
                    async with sem:
                        async for _ in c.fetch_blob("bench/big", "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob)):
                            pass
                await asyncio.gather(*(one(b) for b in img.layers))
        rows.append(("fetch + verify (RegistryClient, 3 parallel)",
                     min(timed(lambda: asyncio.run(fetch_all())) for _ in range(args.runs))))

        pull_times, engine = [], None
        for r in range(args.runs):
            engine = Engine(work / f"pull{r}")
            pull_times.append(timed(lambda: asyncio.run(engine.run(engine.registry.pull, ref))))
        driver = engine.layers.driver.name
        rows.append((f"pull (RegistryService → content + {driver} layer store)", min(pull_times)))

        push_times = []
        for r in range(args.runs):
            dst = DockerRegistry(work / f"dst{r}").start()
            registries.append(dst)
            engine.images.tag(ref, f"{dst.host}/bench/big:v1")
            push_times.append(timed(lambda: asyncio.run(engine.run(engine.registry.push, f"{dst.host}/bench/big", "v1"))))
        rows.append(("push (stored gzip blobs → empty registry)", min(push_times)))

        gz_times = []
        for r in range(args.runs):
            plain = Engine(work / f"plain{r}")
            parent = None
            for t in tars:
                parent = plain.layers.register(io.BytesIO(t), parent).chain_id
            plain.images.add_image(img.config, tags=["127.0.0.1:1/bench/plain:v1"])
            dst = DockerRegistry(work / f"gz{r}").start()
            registries.append(dst)
            plain.images.tag("127.0.0.1:1/bench/plain:v1", f"{dst.host}/bench/plain:v1")
            gz_times.append(timed(lambda: asyncio.run(plain.run(plain.registry.push, f"{dst.host}/bench/plain", "v1"))))
        rows.append(("push (gzip on the fly → empty registry)", min(gz_times)))

        print(f"{args.layers} layers, {total / 1e6:.0f} MB compressed, best of {args.runs}\n")
        print("| operation | seconds | MB/s |")
        print("|---|---|---|")
        for name, secs in rows:
            print(f"| {name} | {secs:.2f} | {total / 1e6 / secs:.0f} |")
    finally:
        for reg in registries:
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
