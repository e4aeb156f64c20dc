"""Container routes: life cycle, inspect/list, logs, stats, attach, archive (cp), export, changes, commit."""
from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote_plus

from aiohttp import web

from ...daemon.attach import LogFollower, parse_detach_keys, relay
from ...daemon.containers import check_wait_condition, merge_image_config
from ...filters import Filters
from ...daemon.logs import log_size, opened_log, read_logs
from ...daemon.stats import CgroupReader, stats_response
from ...runtime.oci import cgroup_path
from ...timefmt import parse_time_filter
from ...errors import Conflict, InvalidParameter, NotFound, NotImplemented_
from .. import image_versions
from ..context import atoi, json_body, json_rendered, json_response, json_response_of, no_content, qbool, qint
from ..middleware import SERVER_HEADERS
from ..router import RouteTable
from ..spool import spooled
from ...stdcopy import frame
from ..streams import hijack, start_stream
from ..versions import as_tuple
from .containers_backend import COMMIT, CONTAINERS, LINKS, ContainerBackend

routes = RouteTable()
CID = "/containers/{id}"


def _containers(request: web.Request) -> ContainerBackend:
    return request.app[CONTAINERS]


@routes.post("/containers/create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    # `platform` came with API 1.41; older clients' is ignored, as by moby
    platform = request.query.get("platform") if as_tuple(request["api_version"]) >= (1, 41) else None
    result = await _containers(request).create(body, request.query.get("name") or None, platform or None)
    return json_response(result, status=201)


@routes.get("/containers/json")
async def list_containers(request: web.Request) -> web.Response:
    filters = Filters.parse(request.query.get("filters"))
    limit = qint(request, "limit")
    if qbool(request, "latest"):
        limit = 1
    size = qbool(request, "size")  # sizes walk the filesystem: the big pool's job
    return await (json_response_of if size else json_rendered)(_containers(request).list, qbool(request, "all"), limit,
                                                                size, filters)


@routes.get(CID + "/json")
async def inspect(request: web.Request) -> web.Response:
    svc, api_version = _containers(request), request["api_version"]
    size = qbool(request, "size")
    return await (json_response_of if size else json_rendered)(lambda: image_versions.container_inspect(
        svc.inspect(request.match_info["id"], size), api_version))


@routes.post(CID + "/start")
async def start(request: web.Request) -> web.Response:
    await _containers(request).start(request.match_info["id"])
    return no_content()


@routes.post(CID + "/stop")
async def stop(request: web.Request) -> web.Response:
    await _containers(request).stop(request.match_info["id"], qint(request, "t"), request.query.get("signal"))
    return no_content()


@routes.post(CID + "/restart")
async def restart(request: web.Request) -> web.Response:
    await _containers(request).restart(request.match_info["id"], qint(request, "t"), request.query.get("signal"))
    return no_content()


@routes.post(CID + "/kill")
async def kill(request: web.Request) -> web.Response:
    await _containers(request).kill(request.match_info["id"], request.query.get("signal"))
    return no_content()


@routes.post(CID + "/pause")
async def pause(request: web.Request) -> web.Response:
    await _containers(request).pause(request.match_info["id"])
    return no_content()


@routes.post(CID + "/unpause")
async def unpause(request: web.Request) -> web.Response:
    await _containers(request).unpause(request.match_info["id"])
    return no_content()


@routes.post(CID + "/wait")
async def wait(request: web.Request) -> web.StreamResponse:
    svc = _containers(request)
    svc.store.get(request.match_info["id"])  # 404 or 400 before the headers go out
    condition = request.query.get("condition") or "not-running"
    check_wait_condition(condition)
    resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/json"})
    await start_stream(request, resp)  # headers now, body when the container stops: clients know the wait began
    result = await svc.wait(request.match_info["id"], condition)
    await resp.write(json.dumps(result).encode() + b"\n")
    await resp.write_eof()
    return resp


@routes.delete(CID)
async def remove(request: web.Request) -> web.Response:
    if qbool(request, "link"):  # `docker rm --link`: forget a legacy link, remove nothing
        await request.app[LINKS].remove_link(request.match_info["id"])
        return no_content()
    await _containers(request).remove(request.match_info["id"], qbool(request, "force"), qbool(request, "v"))
    return no_content()


@routes.delete("/containers/{id:/?[^{}/]+}/{alias}")
async def remove_link(request: web.Request) -> web.Response:
    """`DELETE /containers/{parent}/{alias}?link=1`: a link's name has slashes the clients do not escape (the
    docker CLI's path is cleaned to `/containers/web/db`, docker-py's keeps `/containers//web/db`)."""
    name = f"{request.match_info['id'].lstrip('/')}/{request.match_info['alias']}"
    if not qbool(request, "link"):
        raise NotFound(f"No such container: {name}")
    await request.app[LINKS].remove_link(f"/{name}")
    return no_content()


@routes.post(CID + "/rename")
async def rename(request: web.Request) -> web.Response:
    await _containers(request).rename(request.match_info["id"], request.query.get("name", ""))
    return no_content()


@routes.get(CID + "/top")
async def top(request: web.Request) -> web.Response:
    return json_response(await _containers(request).top(request.match_info["id"], request.query.get("ps_args") or "-ef"))


@routes.get(CID + "/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    """Samples every second while streaming; `stream=false` waits for a second sample so CPU % has a base,
    `one-shot=true` answers at once without one (Docker's semantics)."""
    svc = _containers(request)
    cid = svc.store.get(request.match_info["id"]).id
    reader = CgroupReader(cgroup_path(cid))
    stream, one_shot = qbool(request, "stream", True), qbool(request, "one-shot")
    if not stream:
        previous = None
        if svc.store.get(cid).state.Running and not one_shot:
            previous = await asyncio.to_thread(reader.sample)
            await asyncio.sleep(1)
        current = await asyncio.to_thread(reader.sample) if svc.store.get(cid).state.Running else None
        return json_response(image_versions.stats(stats_response(svc.store.get(cid), current, previous),
                                                  request["api_version"]))
    resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/json"})
    await start_stream(request, resp)
    previous = None
    while True:
        c = svc.store.get(cid)
        current = await asyncio.to_thread(reader.sample) if c.state.Running else None
        sample = image_versions.stats(stats_response(c, current, previous), request["api_version"])
        await resp.write(json.dumps(sample).encode() + b"\n")
        if current is None:
            break
        previous = current
        await asyncio.sleep(1)
    await resp.write_eof()
    return resp


@routes.post(CID + "/resize")
async def resize(request: web.Request) -> web.Response:
    svc = _containers(request)
    height, width = qint(request, "h", 0), qint(request, "w", 0)  # moby parses them first: a bad one is a 400
    c = svc.store.get(request.match_info["id"])
    monitor = svc.monitors.get(c.id)
    if monitor is None:
        raise Conflict(f"Container {c.id} is not running")
    try:
        await monitor.resize(height, width)
    except (OSError, ValueError):
        # The container exited between the check and the call: its monitor and socket are gone.
        raise Conflict(f"Container {c.id} is not running") from None
    return web.Response(status=200)


@routes.post("/containers/prune")
async def prune(request: web.Request) -> web.Response:
    return json_response(await _containers(request).prune(Filters.parse(request.query.get("filters"))))


@routes.post(CID + "/update")
async def update(request: web.Request) -> web.Response:
    body = await json_body(request)
    return json_response(await _containers(request).update(request.match_info["id"], body))


def _stream_content_type(request: web.Request, tty: bool) -> str:
    if not tty and as_tuple(request["api_version"]) >= (1, 42):
        return "application/vnd.docker.multiplexed-stream"
    return "application/vnd.docker.raw-stream"


def _log_bytes(entry: dict, tty: bool, timestamps: bool, details: bool = False) -> bytes:
    data = entry.get("log", "").encode()
    if details:  # moby: the entry's attributes (none unless --log-opt labels/env), then a space, always
        data = _log_attrs(entry.get("attrs") or {}) + b" " + data
    if timestamps:
        data = entry.get("time", "").encode() + b" " + data
    if tty:
        return data
    return frame(2 if entry.get("stream") == "stderr" else 1, data)


def _log_attrs(attrs: dict) -> bytes:
    """moby's attrsByteSlice: `k=v` pairs sorted by key, query-escaped, joined by commas."""
    return ",".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in sorted(attrs.items())).encode()


@routes.get(CID + "/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    svc = _containers(request)
    c = svc.store.get(request.match_info["id"])
    if not c.keeps_logs:
        raise NotImplemented_("configured logging driver does not support reading")
    q = request.query
    stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    # moby: a tail that is not a number (or is negative, or out of range) means all the lines
    try:
        tail = atoi(q.get("tail", "all"))
    except InvalidParameter:
        tail = None
    tail = tail if tail is not None and tail >= 0 else None
    since = parse_time_filter(q["since"]) if q.get("since") not in (None, "", "0") else 0
    until = parse_time_filter(q["until"]) if q.get("until") not in (None, "", "0") else None
    timestamps = qbool(request, "timestamps")

    def running() -> bool:
        try:
            return svc.store.get(c.id).state.Running
        except NotFound:
            return False

    with opened_log(c.log_path) as log:  # opened before a reply lets the client go on
        resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": _stream_content_type(request, c.tty)})
        await start_stream(request, resp)
        async for entry in read_logs(log, stdout=stdout, stderr=stderr, since=since, until=until,
                                     tail=tail, follow=qbool(request, "follow"), is_running=running):
            await resp.write(_log_bytes(entry, c.tty, timestamps, qbool(request, "details")))
    await resp.write_eof()
    return resp


LOGS_AFTER_UPGRADE = 0.05  # seconds between the 101 answer and the first log bytes of an attach


@routes.post(CID + "/attach")
async def attach(request: web.Request) -> web.StreamResponse:
    svc = _containers(request)
    c = svc.store.get(request.match_info["id"])
    use_stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    logs, stream = qbool(request, "logs"), qbool(request, "stream")
    detach_keys = parse_detach_keys(request.query.get("detachKeys"))
    follow_log = logs and stream and c.keeps_logs and svc.monitors.get(c.id) is not None
    with opened_log(c.log_path) as log:
        # Everything is decided now, as the request arrives: a start racing the answer (docker-py starts
        # the container as soon as it has the 101) finds this attach waiting, and the log replayed is what
        # the log holds now; what comes later arrives through the attachment, so nothing is lost or doubled.
        replay_end = log_size(log)
        attaching = _attach_when_running(svc, c.id, use_stdin, stdout, stderr) if stream and not follow_log else None
        relayed = False
        try:
            hijacked = await hijack(request, _stream_content_type(request, c.tty))
        except BaseException:
            await _drop(attaching, relayed)
            raise
        try:
            if logs:
                # docker-py reads the 101 headers through a buffered reader, then the raw socket: log bytes
                # sent at once can land in that buffer and be lost. dockerd is slower to its first byte.
                await asyncio.sleep(LOGS_AFTER_UPGRADE)
            if follow_log:
                await _attach_following_log(svc, c, log, hijacked, use_stdin, stdout, stderr, detach_keys)
                return hijacked.resp
            if logs:
                async for entry in read_logs(log, stdout=stdout, stderr=stderr, end=replay_end):
                    await hijacked.write(_log_bytes(entry, c.tty, False))
            svc.events.emit("container", "attach", c.id, {"image": c.image_ref, "name": c.name})
            if attaching is not None:  # moby's attach event comes after the logs, before the stream
                attachment = await attaching
                relayed = True  # relay closes it
                await relay(hijacked, attachment, tty=c.tty, use_stdin=use_stdin, multiplexed=True,
                            detach_keys=detach_keys)
        except OSError:  # the client left, or the container's monitor did (it exited as we attached)
            pass
        finally:
            await _drop(attaching, relayed)
            await hijacked.end()
    return hijacked.resp


async def _attach_following_log(svc: ContainerBackend, c, log, hijacked, use_stdin: bool, stdout: bool, stderr: bool,
                                detach_keys: bytes) -> None:
    """logs=1&stream=1 on a running container: its output from the log, followed (see LogFollower)."""
    def running() -> bool:
        try:
            return svc.store.get(c.id).state.Running
        except NotFound:
            return False

    monitor = svc.monitors.get(c.id)
    stdin = await monitor.attach(stdin=True, stdout=False, stderr=False) if use_stdin and monitor else None
    follower = LogFollower(read_logs(log, stdout=stdout, stderr=stderr, follow=True, is_running=running), stdin)
    svc.events.emit("container", "attach", c.id, {"image": c.image_ref, "name": c.name})
    await relay(hijacked, follower, tty=c.tty, use_stdin=use_stdin, multiplexed=True, detach_keys=detach_keys)


def _attach_when_running(svc: ContainerBackend, cid: str, use_stdin: bool, stdout: bool, stderr: bool) -> asyncio.Future:
    """The attachment, now if the container runs, else once it starts (before its process does)."""
    monitor = svc.monitors.get(cid)
    if monitor is not None:
        return asyncio.ensure_future(monitor.attach(stdin=use_stdin, stdout=stdout, stderr=stderr))
    fut = asyncio.get_running_loop().create_future()

    async def connect(m):
        try:
            attachment = await m.attach(stdin=use_stdin, stdout=stdout, stderr=stderr)
        except Exception as err:
            if not fut.done():
                fut.set_exception(err)
            return
        if fut.done():  # the client left meanwhile
            await attachment.close()
        else:
            fut.set_result(attachment)

    svc.monitors.add_pending_attach(cid, connect)
    fut.add_done_callback(lambda _: svc.monitors.drop_pending_attach(cid, connect))
    return fut


async def _drop(attaching: asyncio.Future | None, relayed: bool) -> None:
    """An attachment the relay never took: stop waiting for it, or close it."""
    if attaching is None or relayed:
        return
    if not attaching.done():
        attaching.cancel()
    elif not attaching.cancelled() and attaching.exception() is None:
        await attaching.result().close()


@routes.get(CID + "/changes")
async def changes(request: web.Request) -> web.Response:
    return json_response(await _containers(request).files.changes(request.match_info["id"]))


@routes.get(CID + "/export")
async def export(request: web.Request) -> web.StreamResponse:
    svc = _containers(request)
    resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/x-tar"})
    async for chunk in svc.files.export(request.match_info["id"]):
        if not resp.prepared:
            await start_stream(request, resp)
        await resp.write(chunk)
    if not resp.prepared:
        await start_stream(request, resp)
    await resp.write_eof()
    return resp


def _stat_header(stat: dict) -> str:
    return base64.b64encode(json.dumps(stat).encode()).decode()


@routes.head(CID + "/archive")
async def archive_head(request: web.Request) -> web.Response:
    stat = await _containers(request).files.path_stat(request.match_info["id"], request.query.get("path", ""))
    return web.Response(headers={**SERVER_HEADERS, "X-Docker-Container-Path-Stat": _stat_header(stat)})


@routes.get(CID + "/archive")
async def archive_get(request: web.Request) -> web.StreamResponse:
    svc = _containers(request)
    stat, chunks = await svc.files.get_archive(request.match_info["id"], request.query.get("path", ""))
    resp = web.StreamResponse(headers={**SERVER_HEADERS, "Content-Type": "application/x-tar",
                                       "X-Docker-Container-Path-Stat": _stat_header(stat)})
    await start_stream(request, resp)
    async for chunk in chunks:
        await resp.write(chunk)
    await resp.write_eof()
    return resp


@routes.put(CID + "/archive")
async def archive_put(request: web.Request) -> web.Response:
    svc = _containers(request)
    async with spooled(request) as tar:  # the body is a tar: spool it and extract in a thread
        await svc.files.put_archive(request.match_info["id"], request.query.get("path", ""), tar.name,
                                    qbool(request, "noOverwriteDirNonDir"), qbool(request, "copyUIDGID"))
    return web.Response(status=200)


@routes.post("/commit")
async def commit_container(request: web.Request) -> web.Response:
    q = request.query
    ref = q.get("container", "")
    if not ref:
        raise InvalidParameter("container name or ID is required")
    c = _containers(request).store.get(ref)
    body = await json_body(request)
    config = merge_image_config(body, c.config) if body else dict(c.config)
    image_id = await request.app[COMMIT].commit(c.id, repo=q.get("repo", ""), tag=q.get("tag", ""), comment=q.get("comment", ""),
                            author=q.get("author", ""), pause=qbool(request, "pause", True),
                            changes=q.getall("changes", []), config_override=config)
    return json_response({"Id": image_id}, status=201)
