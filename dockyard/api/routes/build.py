"""POST /build (the classic builder) and POST /build/prune."""
from __future__ import annotations

import json
import logging

from aiohttp import web

from ...blocking import bulk
from ...build.auth import decode_registry_config
from ...build.builder import BuildError, BuildOptions
from ...build.context import fetch_remote, unpack_context
from ...filters import Filters
from ...errors import DockyardError, InvalidParameter
from ... import gojson
from ..body_schemas import BUILD_QUERY_JSON
from ..context import json_response, qbool, qint
from ..router import RouteTable
from ..spool import spooled, temp_dir
from ..streams import JSONStream
from .build_backend import BUILD_CACHE, BUILDER

routes = RouteTable()
log = logging.getLogger("dockyard.build")


def _json_param(request: web.Request, name: str, default):
    """A JSON-valued query parameter, typed as moby decodes it (body_schemas.BUILD_QUERY_JSON)."""
    raw = request.query.get(name)
    if not raw:
        return default
    go_type, words = BUILD_QUERY_JSON[name]
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidParameter(f"{words}: invalid JSON: {raw[:100]}") from None
    gojson.check(value, go_type, prefix=f"{words}: ")
    return default if value is None else value


def build_options(request: web.Request) -> BuildOptions:
    q = request.query
    args = {k: v for k, v in _json_param(request, "buildargs", {}).items() if v is not None}
    return BuildOptions(dockerfile=q.get("dockerfile") or "Dockerfile", tags=q.getall("t", []), build_args=args,
                        labels=_json_param(request, "labels", {}), target=q.get("target", ""),
                        no_cache=qbool(request, "nocache"), pull=qbool(request, "pull"), rm=qbool(request, "rm", True),
                        force_rm=qbool(request, "forcerm"), quiet=qbool(request, "q"),
                        network_mode=q.get("networkmode", ""), cache_from=_json_param(request, "cachefrom", []),
                        registry_auth=decode_registry_config(request.headers.get("X-Registry-Config")),
                        run_host_config=run_host_config(request))


# query parameter -> HostConfig field of the containers RUN steps run in (moby's hostConfigFromOptions)
RUN_RESOURCES = {"memory": "Memory", "memswap": "MemorySwap", "cpushares": "CpuShares", "cpuperiod": "CpuPeriod",
                 "cpuquota": "CpuQuota", "shmsize": "ShmSize"}


def run_host_config(request: web.Request) -> dict:
    q = request.query
    hc = {"ExtraHosts": q.getall("extrahosts", [])}
    for param, key in RUN_RESOURCES.items():
        try:  # moby's Int64ValueOrZero: a value that is not a 64-bit integer counts as 0
            hc[key] = qint(request, param, 0)
        except InvalidParameter:
            hc[key] = 0
    for param, key in (("cpusetcpus", "CpusetCpus"), ("cpusetmems", "CpusetMems"), ("cgroupparent", "CgroupParent")):
        hc[key] = q.get(param, "")
    hc["Ulimits"] = _json_param(request, "ulimits", [])
    return {k: v for k, v in hc.items() if v}


def reject_squash(request: web.Request) -> None:
    """--squash needs an experimental daemon in moby; dockyard never runs in experimental mode."""
    if qbool(request, "squash"):
        raise InvalidParameter("squash is only supported with experimental mode")


class BuildOutput:
    """Where a build's messages go. With -q, dockerd holds them back: a build that succeeds shows only its
    image ID, one that fails shows them all before its error (a failing RUN's output explains it)."""

    def __init__(self, stream: JSONStream, quiet: bool):
        self.stream, self.quiet = stream, quiet
        self.held: list[dict] = []

    @property
    def sent_anything(self) -> bool:
        return self.stream.started or bool(self.held)

    async def send(self, msg: dict) -> None:
        if self.quiet and "aux" not in msg:
            self.held.append(msg)
        else:
            await self.stream.send(msg)

    async def fail(self, error: dict) -> None:
        for msg in self.held:
            await self.stream.send(msg)
        self.held.clear()
        await self.stream.send(error)


@routes.post("/build")
async def build(request: web.Request) -> web.StreamResponse:
    reject_squash(request)
    opts = build_options(request)
    for t in opts.tags:
        from ...image import reference
        reference.parse(t)  # a bad -t fails before any work
    stream = JSONStream(request)
    out = BuildOutput(stream, opts.quiet)
    try:
        # The context is gone before the last message: a client stops reading at an error.
        async with temp_dir(request, "context-") as work:
            if request.query.get("remote"):
                await bulk(fetch_remote, request.query["remote"], work)
            else:
                async with spooled(request) as body:
                    await bulk(unpack_context, body.name, work)
            image_id = await request.app[BUILDER].build(work, opts, out.send)
        if opts.quiet:  # dockerd's -q: the image ID is all a successful build shows
            await stream.send({"stream": image_id + "\n"})
    except (BuildError, DockyardError) as err:
        if not out.sent_anything:  # a bad Dockerfile, target or context: a plain API error, as with dockerd
            raise (err if isinstance(err, DockyardError) else InvalidParameter(str(err))) from None
        code = {"code": err.code} if isinstance(err, BuildError) else {}
        await out.fail({"errorDetail": {**code, "message": str(err)}, "error": str(err)})
    except Exception as err:  # a bug: once streaming, it can only travel inside the stream
        log.exception("build failed")
        await stream.error(f"{type(err).__name__}: {err}")
    return await stream.finish()


@routes.post("/build/prune")
async def build_prune(request: web.Request) -> web.Response:
    # The classic builder's cache is the images its steps commit (see build/prune.py).
    filters = Filters.parse(request.query.get("filters"))
    return json_response(request.app[BUILD_CACHE](qbool(request, "all"), filters))
