"""Registry service: pull, push, login and search for the Engine API, on top of registry/client/.

Both start with a GET /v2/ (dockerd's ping): it picks the endpoint, learns the auth challenge, and a
registry that is not running fails at once.

Pull: resolve the manifest (an index picks the requested or host platform), fetch the config, download
missing layers three at a time into the content store (verified while streaming), then register them
with the layer store in order (each checked against the config's diff ID) and record the image, tag and
repo digest. Layers whose chain is already stored are skipped ("Already exists"). A failed pull keeps
the layers it registered (a repeated pull resumes from them) and nothing else.

Push: per layer (top first, five at a time) reuse the stored gzip or zstd blob or gzip the tar
deterministically once (mtime 0) and remember it, then HEAD ("Layer already exists"), cross-repository
mount ("Mounted from"), or upload ("Pushed"); then the config and a Docker v2 schema 2 manifest (an OCI
one when a layer is zstd: see push_manifest).

Progress goes out as Docker's JSON messages through the `progress` coroutine the route passes in.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import logging
import shutil
import time
from dataclasses import replace
from typing import Awaitable, Callable

from ..blocking import bulk
from ..errors import DockyardError, InvalidParameter, NotFound, SystemError_
from ..image import reference as refmod
from ..registry.client import progress as msg
from ..registry.client.auth import Credentials
from ..registry.client.distribution import (INDEX_TYPES, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST,
                                             RegistryClient, new_session, sha256_of)
from ..registry.client.errors import NoBasicAuthCredentials
from ..registry.client.dockercfg import decode_registry_auth
from ..registry.client.endpoints import DOCKER_HUB, HUB_REGISTRY_URL, RegistryHosts, normalize_registry
from ..registry.client.platform import Platform, host_platform, matches, parse_platform, select_manifest
from ..image.layers import MEDIA_TAR_GZIP, chain_ids
from ..filters import Filters
from .images import (ImageService, blob_repositories, compressed_layer_blob, register_verified_layer,
                     remember_layer_blob)
from .push_manifest import manifest_for

log = logging.getLogger("dockyard.daemon.registry")

Progress = Callable[[dict], Awaitable[None]]
MAX_CONCURRENT_DOWNLOADS = 3   # dockerd's defaults
MAX_CONCURRENT_UPLOADS = 5
GZIP_LEVEL = 6                 # Go's gzip.DefaultCompression, what dockerd pushes with
IO_CHUNK = 1 << 20


def _auth_dict(auth) -> dict | None:
    """`auth` as the route has it: the raw X-Registry-Auth header, or an AuthConfig dict."""
    if isinstance(auth, (str, bytes)):
        return decode_registry_auth(auth.decode() if isinstance(auth, bytes) else auth)
    return auth or None


class _CountingReader:
    """Counts bytes read, so extraction (in a thread) can be reported from the event loop."""

    def __init__(self, f):
        self.f, self.count = f, 0

    def read(self, n=-1) -> bytes:
        data = self.f.read(n)
        self.count += len(data)
        return data


class RegistryService:
    def __init__(self, images: ImageService, config):
        self.images = images
        self.config = config
        hub_url = getattr(config, "docker_hub_endpoint", "") or HUB_REGISTRY_URL
        self.hosts = RegistryHosts(getattr(config, "insecure_registries", ()) or (),
                                   getattr(config, "registry_mirrors", ()) or (), hub_url=hub_url.rstrip("/"))
        self._session = None
        self._downloads: asyncio.Semaphore | None = None
        self._uploads: asyncio.Semaphore | None = None

    # ------------------------------------------------------------------ plumbing
    def _client(self, registry: str, auth, push: bool = False) -> RegistryClient:
        if self._session is None or self._session.closed:
            self._session = new_session()
            self._downloads = asyncio.Semaphore(MAX_CONCURRENT_DOWNLOADS)
            self._uploads = asyncio.Semaphore(MAX_CONCURRENT_UPLOADS)
        creds = Credentials.from_auth_config(_auth_dict(auth))
        return RegistryClient(registry, credentials=creds, hosts=self.hosts, session=self._session, push=push)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ================================================================== pull
    async def pull(self, ref: str, *, platform: str | None = None, all_tags: bool = False, auth=None,
                   progress: Progress) -> None:
        named = refmod.parse(ref, default_tag=not all_tags)
        want = parse_platform(platform) if platform else None
        client = self._client(named.domain, auth)
        await client.ping()
        mismatch = None
        if not all_tags:
            changed, mismatch = await self._pull_one(client, named, want, progress)
            shown = named.familiar()
        else:
            if named.tag or named.digest:
                raise InvalidParameter("tag can't be used with --all-tags/-a")
            try:
                tags = await client.list_tags(named.path)
            except NotFound as err:
                raise NotFound(f"repository {named.repository()} not found: {err}") from None
            changed = False
            for tag in tags:
                changed |= (await self._pull_one(client, replace(named, tag=tag), want, progress))[0]
            shown = named.repository()
        verdict = "Downloaded newer image" if changed else "Image is up to date"
        await progress({"status": f"Status: {verdict} for {shown}"})
        if mismatch is not None:
            # A single-platform image of another platform is pulled anyway, with dockerd's warning
            # (daemon/images/image_pull.go: "ignoring platform mismatch on single-arch image").
            await progress({"status": f"WARNING: image with reference {named.full()} was found but does not match "
                                      f"the specified platform: wanted {want}, actual: {mismatch}"})

    async def _resolve(self, client: RegistryClient, named, want: Platform | None):
        """(top-level digest, manifest dict, manifest media type, whether it came from an index)."""
        ref = named.digest or named.tag
        body, media_type, top_digest = await client.get_manifest(named.path, ref)
        from_index = media_type in INDEX_TYPES
        if from_index:
            desc = select_manifest(json.loads(body), want)
            body, media_type, _ = await client.get_manifest(named.path, desc["digest"])
        if media_type not in (MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST):
            if "v1+prettyjws" in media_type or media_type.endswith("manifest.v1+json"):
                raise InvalidParameter(f"Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
                                       f"are not supported: {named.familiar()} uses {media_type}")
            raise InvalidParameter(f"unsupported manifest media type {media_type} for {named.familiar()}")
        manifest = json.loads(body)
        if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("layers"), list):
            raise InvalidParameter(f"invalid manifest for {named.familiar()}: no config or layers")
        return top_digest, manifest, media_type, from_index

    async def _pull_one(self, client: RegistryClient, named, want: Platform | None,
                        progress: Progress) -> tuple[bool, Platform | None]:
        """Pull one tag or digest; True when something changed (layers downloaded or the name moved), and
        the image's platform when it is a single-platform image that is not the one asked for."""
        top_digest, manifest, _, from_index = await self._resolve(client, named, want)
        await progress({"status": f"Pulling from {named.path}", "id": named.digest or named.tag})
        config_desc = manifest["config"]
        config_bytes = b"".join([c async for c in client.fetch_blob(named.path, config_desc["digest"],
                                                                    config_desc.get("size"))])
        config = json.loads(config_bytes)
        mismatch = None
        if want is not None and not from_index and not matches(want, config):
            mismatch = Platform(config.get("os", ""), config.get("architecture", ""), config.get("variant", ""))
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        layers = manifest["layers"]
        if len(diff_ids) != len(layers):
            raise InvalidParameter(f"invalid image {named.familiar()}: the manifest has {len(layers)} layers, "
                                   f"the configuration {len(diff_ids)}")
        downloaded = await self._pull_layers(client, named, layers, diff_ids, progress)

        image_id = sha256_of(config_bytes)
        repo_digest = f"{named.domain}/{named.path}@{top_digest}"
        had_digest = self.images.md.one("SELECT 1 FROM repo_digests WHERE name=? AND image_id=?",
                                        (repo_digest, image_id)) is not None
        old = None
        if not named.digest:
            row = self.images.md.one("SELECT image_id FROM tags WHERE name=?", (named.full(),))
            old = row["image_id"] if row else None
        self.images.add_image(config_bytes, repo_digest=repo_digest)
        if not named.digest and old != image_id:
            self.images.tag(image_id, named.full())
        repo = f"{named.domain}/{named.path}"
        for desc, diff_id in zip(layers, diff_ids):
            remember_layer_blob(self.images, diff_id, desc["digest"], desc.get("mediaType", MEDIA_TAR_GZIP),
                                int(desc.get("size") or 0), repository=repo)
        await progress({"status": f"Digest: {top_digest}"})
        self.images.events.emit("image", "pull", named.familiar(), {"name": named.familiar()})
        moved = (old != image_id) if not named.digest else not had_digest
        return downloaded or moved, mismatch

    async def _pull_layers(self, client, named, layers, diff_ids, progress: Progress) -> bool:
        """Download what is missing (in parallel) and register it (in order). True if anything came."""
        chains = chain_ids(diff_ids)
        needed = [i for i, c in enumerate(chains) if self.images.layers.get(c) is None]
        for i, desc in enumerate(layers):
            text = "Pulling fs layer" if i in needed else "Already exists"
            await progress(msg.status(msg.short(desc["digest"]), text))
        if not needed:
            return False
        created: set[str] = set()          # blobs this pull put in the content store
        tasks: dict[str, asyncio.Task] = {}
        for i in needed:
            digest = layers[i]["digest"]
            if digest not in tasks:  # an image may repeat a layer; fetch it once
                tasks[digest] = asyncio.create_task(self._download(client, named.path, layers[i], progress, created))
        try:
            for i in needed:
                digest = layers[i]["digest"]
                await tasks[digest]
                await self._extract(layers[i], chains[i - 1] if i else None, diff_ids[i], progress)
        except BaseException:
            for t in tasks.values():
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            self._drop_unregistered(created)
            raise
        return True

    async def _download(self, client, repo: str, desc: dict, progress: Progress, created: set) -> None:
        digest, size = desc["digest"], desc.get("size")
        id_ = msg.short(digest)
        content = self.images.content
        if content.has(digest):  # left by an earlier pull of another image, or by a push
            await progress(msg.status(id_, "Download complete"))
            return
        if self._downloads.locked():
            await progress(msg.status(id_, "Waiting"))
        async with self._downloads:
            throttle, start, got = msg.Throttle(), time.time(), 0
            with content.writer(expected_digest=digest, expected_size=size) as writer:
                async for chunk in client.fetch_blob(repo, digest, size):
                    writer.write(chunk)
                    got += len(chunk)
                    if throttle.ready(final=size is not None and got >= size):
                        await progress(msg.progress(id_, "Downloading", got, size or 0, start))
                await progress(msg.status(id_, "Verifying Checksum"))
                await bulk(writer.commit)
            created.add(digest)
        await progress(msg.status(id_, "Download complete"))

    async def _extract(self, desc: dict, parent_chain: str | None, diff_id: str, progress: Progress) -> None:
        id_ = msg.short(desc["digest"])
        total = self.images.content.size(desc["digest"])
        with self.images.content.open(desc["digest"]) as f:
            reader = _CountingReader(f)
            task = asyncio.ensure_future(bulk(register_verified_layer, self.images, reader,
                                              parent_chain, diff_id, desc["digest"]))
            start, last = time.time(), -1
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.1)
                if reader.count != last:
                    last = reader.count
                    await progress(msg.progress(id_, "Extracting", reader.count, total, start))
                if done:
                    break
            task.result()
        await progress(msg.status(id_, "Pull complete"))

    def _drop_unregistered(self, created: set[str]) -> None:
        """After a failed pull, remove downloaded blobs no registered layer took in."""
        for digest in created:
            if self.images.md.one("SELECT 1 FROM layer_blobs WHERE blob_digest=?", (digest,)) is None:
                self.images.content.delete(digest)

    # ================================================================== push
    async def push(self, name: str, tag: str | None = None, *, auth=None, progress: Progress) -> None:
        named = refmod.parse(name, default_tag=False)
        if named.digest:
            raise InvalidParameter("cannot push a digest reference")
        tag = tag or named.tag
        client = self._client(named.domain, auth, push=True)
        # dockerd names the repository before it looks for the image, so even a push of a missing tag
        # prints this line, and its error then comes inside the stream (docker prints it without the
        # "Error response from daemon" prefix).
        await progress({"status": f"The push refers to repository [{named.name()}]"})
        todo = self._local_tags(named, tag)
        await client.ping()  # after the refusal of a missing tag, as dockerd pings per endpoint
        try:
            for t, image_id in todo:
                await self._push_one(client, named, t, image_id, progress)
        except NoBasicAuthCredentials as err:
            # dockerd's push unwraps the url.Error around it (distribution/push_v2.go retryOnError)
            raise SystemError_(err.bare) from None

    def _local_tags(self, named, tag: str | None) -> list[tuple[str, str]]:
        repo = named.name()
        rows = [(r["name"][len(repo) + 1:], r["image_id"]) for r in
                self.images.md.query("SELECT name, image_id FROM tags WHERE name LIKE ? ORDER BY name",
                                     (repo + ":%",)) if r["name"].startswith(repo + ":")]
        # moby's two refusals (distribution/push.go, push_v2.go): a repository without any local tag is
        # named without a tag; a repository that has other tags names the missing one.
        if not rows:
            raise NotFound(f"An image does not exist locally with the tag: {named.repository()}")
        if not tag:  # no tag: every tag of the repository, as dockerd does
            return rows
        wanted = [(t, image_id) for t, image_id in rows if t == tag]
        if not wanted:
            raise NotFound(f"tag does not exist: {named.repository()}:{tag}")
        return wanted

    async def _push_one(self, client, named, tag: str, image_id: str, progress: Progress) -> None:
        img = self.images.get(image_id)
        diff_ids = img.diff_ids
        order = list(dict.fromkeys(reversed(diff_ids)))  # top layer first, each once
        for d in order:
            await progress(msg.status(msg.short(d), "Preparing"))
        tasks = {d: asyncio.create_task(self._push_layer(client, named, d, progress)) for d in order}
        try:
            blobs = {d: await tasks[d] for d in order}
        except BaseException:
            for t in tasks.values():
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise
        config_digest = sha256_of(img.config_bytes)
        if await client.blob_exists(named.path, config_digest, push=True) is None:
            data = img.config_bytes

            async def source(offset: int):
                yield data[offset:]
            await client.upload_blob(named.path, config_digest, len(data), source)
        body, manifest_type = manifest_for(img.config_bytes, [blobs[d] for d in diff_ids])
        digest = await client.put_manifest(named.path, tag, body, manifest_type)
        self.images.add_image(img.config_bytes, repo_digest=f"{named.domain}/{named.path}@{digest}")
        self.images.events.emit("image", "push", f"{named.repository()}:{tag}", {"name": f"{named.repository()}:{tag}"})
        await progress({"status": f"{tag}: digest: {digest} size: {len(body)}"})
        await progress({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": len(body)}})

    async def _push_layer(self, client, named, diff_id: str, progress: Progress) -> tuple[str, str, int]:
        """Get the layer's blob into the repository; its (digest, media type, size)."""
        id_ = msg.short(diff_id)
        if self._uploads.locked():
            await progress(msg.status(id_, "Waiting"))
        async with self._uploads:
            blob = compressed_layer_blob(self.images, diff_id)
            if blob is None:
                blob = await bulk(self._compress_layer, diff_id)
            digest, media_type, size = blob
            registry, repo = named.domain, named.path
            if await client.blob_exists(repo, digest, push=True) is not None:
                await progress(msg.status(id_, "Layer already exists"))
            elif mounted := await self._try_mount(client, registry, repo, digest):
                await progress(msg.status(id_, f"Mounted from {mounted}"))
            else:
                await self._upload(client, repo, digest, size, id_, progress)
                await progress(msg.status(id_, "Pushed"))
            remember_layer_blob(self.images, diff_id, digest, media_type, size, repository=f"{registry}/{repo}")
            return blob

    async def _try_mount(self, client, registry: str, repo: str, digest: str) -> str | None:
        for source in blob_repositories(self.images, digest, registry):
            if source == repo:
                continue
            try:
                if await client.mount_blob(repo, digest, source):
                    return source
            except DockyardError as err:  # e.g. no pull access to the source: just upload
                log.debug("mount of %s from %s refused: %s", digest, source, err)
        return None

    async def _upload(self, client, repo: str, digest: str, size: int, id_: str, progress: Progress) -> None:
        path = self.images.content.path(digest)
        throttle, start = msg.Throttle(), time.time()

        async def source(offset: int):
            with open(path, "rb") as f:
                f.seek(offset)
                while chunk := await asyncio.to_thread(f.read, IO_CHUNK):
                    yield chunk

        async def report(sent: int) -> None:
            if throttle.ready(final=sent >= size):
                await progress(msg.progress(id_, "Pushing", sent, size, start))

        await client.upload_blob(repo, digest, size, source, progress=report)

    def _compress_layer(self, diff_id: str) -> tuple[str, str, int]:
        """gzip the layer tar into the content store, deterministically (no name, mtime 0), and remember it."""
        content = self.images.content
        with self.images.layers.open_tar(diff_id) as src, content.writer() as writer:
            with gzip.GzipFile(filename="", mode="wb", fileobj=writer, mtime=0, compresslevel=GZIP_LEVEL) as gz:
                shutil.copyfileobj(src, gz, IO_CHUNK)
            digest = writer.commit()
        size = content.size(digest)
        remember_layer_blob(self.images, diff_id, digest, MEDIA_TAR_GZIP, size)
        return digest, MEDIA_TAR_GZIP, size

    # ================================================================== login, search, inspect
    async def login(self, auth_config: dict) -> dict:
        cfg = {str(k).lower(): v for k, v in (auth_config or {}).items()}
        registry = normalize_registry(cfg.get("serveraddress", ""))
        client = self._client(registry, cfg)
        return await client.check_login()

    async def search(self, term: str, limit: int | None = None, filters: Filters | None = None,
                     auth=None) -> list[dict]:
        limit = 25 if limit in (None, 0) else limit
        if not 1 <= limit <= 100:
            raise InvalidParameter(f"limit {limit} is outside the range of [1, 100]")
        filters = filters or Filters({})
        filters.validate({"stars", "is-automated", "is-official"})
        min_stars = 0
        if filters.has("stars"):
            try:
                min_stars = max(int(v) for v in filters.get("stars"))
            except ValueError:
                raise InvalidParameter(f"invalid filter 'stars={filters.one('stars')}'") from None
        registry, remote = split_search_term(term)
        client = self._client(registry, auth)
        doc = await client.search(remote, limit)
        out = []
        for r in doc.get("results") or []:
            entry = {"star_count": int(r.get("star_count") or 0), "is_official": bool(r.get("is_official")),
                     "name": r.get("name", ""), "is_automated": bool(r.get("is_automated")),
                     "description": r.get("description") or ""}
            if entry["star_count"] < min_stars:
                continue
            if filters.has("is-official") and entry["is_official"] != filters.bool("is-official"):
                continue
            if filters.has("is-automated") and entry["is_automated"] != filters.bool("is-automated"):
                continue
            out.append(entry)
        return out[:limit]

    async def distribution_inspect(self, name: str, auth=None) -> dict:
        """GET /distribution/{name}/json: the descriptor a name resolves to and its platforms."""
        named = refmod.parse(name)
        client = self._client(named.domain, auth)
        body, media_type, digest = await client.get_manifest(named.path, named.digest or named.tag)
        doc = json.loads(body)
        if media_type in INDEX_TYPES:
            platforms = [_platform_shape(m["platform"]) for m in doc.get("manifests") or [] if m.get("platform")]
        else:
            cfg_desc = doc["config"]
            config = json.loads(b"".join([c async for c in client.fetch_blob(named.path, cfg_desc["digest"],
                                                                             cfg_desc.get("size"))]))
            platforms = [_platform_shape(config)]
        return {"Descriptor": {"mediaType": media_type, "digest": digest, "size": len(body)},
                "Platforms": platforms}


def split_search_term(term: str) -> tuple[str, str]:
    """moby's splitReposSearchTerm: `localhost:5000/busy` -> (`localhost:5000`, `busy`); else Docker Hub."""
    first, slash, rest = term.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return DOCKER_HUB, term
    return normalize_registry(first), rest


def _platform_shape(p: dict) -> dict:
    out = {"architecture": p.get("architecture", ""), "os": p.get("os", "")}
    for key in ("os.version", "os.features", "variant", "features"):
        if p.get(key):
            out[key] = p[key]
    return out


__all__ = ["RegistryService", "split_search_term", "host_platform"]
