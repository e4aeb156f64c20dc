"""Image routes: list, inspect, history, tag, remove, prune, import/pull (create), load, save."""
from __future__ import annotations

import os

from aiohttp import web

from ...blocking import blocking, bulk
from ...daemon.archives import target_name
from ...filters import Filters
from ...errors import InvalidParameter
from ...fetch import is_url
from .. import image_versions
from ..context import json_rendered, json_response, qbool
from ..middleware import SERVER_HEADERS
from ..router import RouteTable
from ..spool import downloaded, rewound, spooled, temp_file
from ..streams import JSONStream, start_stream
from .images_backend import ARCHIVES, IMAGES, PULL, ImageBackend

routes = RouteTable()


def _images(request: web.Request) -> ImageBackend:
    return request.app[IMAGES]


@routes.get("/images/json")
async def list_images(request: web.Request) -> web.Response:
    images = _images(request)
    filters = Filters.parse(request.query.get("filters"))
    if request.query.get("filter"):  # pre-1.28 clients
        filters.values.setdefault("reference", []).append(request.query["filter"])
    version = request["api_version"]

    def listing() -> list[dict]:
        return [image_versions.image_summary(s, version)
                for s in images.list(qbool(request, "all"), filters, qbool(request, "digests"))]

    return await json_rendered(listing)


@routes.get("/images/{name:.+}/json")
async def inspect_image(request: web.Request) -> web.Response:
    images, version = _images(request), request["api_version"]
    return await json_rendered(lambda: image_versions.image_inspect(images.inspect(request.match_info["name"]), version))


@routes.get("/images/{name:.+}/history")
async def image_history(request: web.Request) -> web.Response:
    return json_response(await blocking(_images(request).history, request.match_info["name"]))


@routes.post("/images/{name:.+}/tag")
async def tag_image(request: web.Request) -> web.Response:
    repo = request.query.get("repo", "")
    if not repo:
        raise InvalidParameter("repository name must have at least one component")
    tag = request.query.get("tag") or "latest"
    await blocking(_images(request).tag, request.match_info["name"], f"{repo}:{tag}")
    return web.Response(status=201)


@routes.delete("/images/{name:.+}")
async def remove_image(request: web.Request) -> web.Response:
    records = await bulk(_images(request).remove, request.match_info["name"], qbool(request, "force"),
                         not qbool(request, "noprune"))
    return json_response(records)


@routes.post("/images/prune")
async def prune_images(request: web.Request) -> web.Response:
    filters = Filters.parse(request.query.get("filters"))
    return json_response(await bulk(_images(request).prune, False, filters))


@routes.post("/images/create")
async def create_image(request: web.Request) -> web.StreamResponse:
    q = request.query
    if q.get("fromSrc"):
        return await _import(request)
    if not q.get("fromImage"):
        raise InvalidParameter("either fromImage or fromSrc must be given")
    ref = q["fromImage"]
    tag = q.get("tag", "")
    if tag:
        ref = f"{ref}@{tag}" if tag.startswith("sha256:") else f"{ref}:{tag}"
    # No tag on a name without one means every tag (`docker pull -a`), as the API defines.
    all_tags = not tag and ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref
    puller = request.app.get(PULL)
    if puller is None:
        raise InvalidParameter("pulling is not available in this daemon")
    stream = JSONStream(request)
    return await stream.run(puller.pull(ref, platform=q.get("platform") or None, all_tags=all_tags,
                                        auth=request.headers.get("X-Registry-Auth"), progress=stream.send))


async def _import(request: web.Request) -> web.StreamResponse:
    q = request.query
    src = q["fromSrc"]
    if src != "-" and not is_url(src):
        raise InvalidParameter(f"fromSrc must be - or an http(s) URL, not {src!r}")
    if q.get("repo"):
        target_name(q["repo"], q.get("tag", ""))  # a bad name is a 400 before the upload is read
    source = spooled(request) if src == "-" else downloaded(request, src)
    async with source as f:
        stream = JSONStream(request)
        try:
            if src != "-":
                await stream.send({"status": f"Downloading from {src}"})  # dockerd says so once the URL answered
            image_id = await bulk(
                request.app[ARCHIVES].import_rootfs, f, q.get("repo", ""), q.get("tag", ""), q.get("message", ""),
                q.getall("changes", []), src, q.get("platform", ""))
            await stream.send({"status": image_id})
        except Exception as err:
            # Nothing sent yet (an import from stdin): a plain HTTP error, which docker prints as
            # "Error response from daemon: ...", as dockerd answers; after "Downloading from", in the stream.
            if not stream.started:
                raise
            await stream.error(str(err))
    return await stream.finish()


@routes.post("/images/load")
async def load_images(request: web.Request) -> web.StreamResponse:
    async with spooled(request) as f:
        stream = JSONStream(request)
        try:
            lines = await bulk(request.app[ARCHIVES].load, f.name)
            for line in lines:
                await stream.send({"stream": line + "\n"})
        except Exception as err:
            await stream.error(str(err))
    return await stream.finish()


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    # The archive is written to a file before anything is sent, so a name save() cannot find is a 404.
    async with temp_file(request, "save-") as f:
        await bulk(request.app[ARCHIVES].save, names, f)
        await blocking(rewound, f)
        resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/x-tar"})
        resp.content_length = os.fstat(f.fileno()).st_size
        await start_stream(request, resp)
        while chunk := await blocking(f.read, 1 << 20):
            await resp.write(chunk)
        await resp.write_eof()
        return resp


@routes.get("/images/get")
async def save_images(request: web.Request) -> web.StreamResponse:
    names = request.query.getall("names", [])
    if not names:
        raise InvalidParameter("no image names given")
    return await _save(request, names)


@routes.get("/images/{name:.+}/get")
async def save_image(request: web.Request) -> web.StreamResponse:
    return await _save(request, [request.match_info["name"]])
