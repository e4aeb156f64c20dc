"""Web hook notifications in docker/distribution's envelope (../shared/reference/registry/notifications.md).

Requests only enqueue events (never wait on a listener). One task per endpoint sends them in batches and
retries a failing batch: at once up to `threshold` consecutive failures, then every `backoff` (distribution's
semantics), so events are delivered in order once the listener is back. A full queue drops the oldest event
and counts it.
"""
import asyncio
import datetime
import json
import logging
import socket
import uuid

import aiohttp

from dockyard.registry.server.config import Endpoint

ENVELOPE_TYPE = "application/vnd.docker.distribution.events.v2+json"
QUEUE_LIMIT = 10000
BATCH = 100
log = logging.getLogger("dockyard.registry.notify")


def make_event(action: str, repo: str, request, *, digest: str, media_type: str | None = None,
               size: int | None = None, tag: str | None = None, url_kind: str = "manifests",
               actor: str | None = None, source_addr: str = "", instance_id: str = "",
               from_repository: str | None = None) -> dict:
    target = {"repository": repo, "digest": digest}
    if from_repository:   # a cross-repository mount names where the blob came from
        target["fromRepository"] = from_repository
    if action != "delete":    # delete events carry only digest + repository (and tag)
        target.update({"mediaType": media_type or "application/octet-stream", "size": size, "length": size,
                       "url": f"{request.scheme}://{request.host}/v2/{repo}/{url_kind}/{digest}"})
    if tag:
        target["tag"] = tag
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": target,
        "request": {"id": request.get("request_id", ""), "addr": f"{peer[0]}:{peer[1]}" if peer else "",
                    "host": request.host, "method": request.method,
                    "useragent": request.headers.get("User-Agent", "")},
        "actor": {"name": actor} if actor else {},
        "source": {"addr": source_addr, "instanceID": instance_id},
    }


class _Sink:
    def __init__(self, ep: Endpoint, metrics):
        self.ep = ep
        self.metrics = metrics
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.task: asyncio.Task | None = None

    def wants(self, event: dict) -> bool:
        return (event["action"] not in self.ep.ignored_actions
                and event["target"].get("mediaType") not in self.ep.ignored_mediatypes)

    def put(self, event: dict) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.metrics.inc("dockyard_registry_notifications_total", endpoint=self.ep.name, outcome="dropped")
        self.queue.put_nowait(event)

    async def run(self, session: aiohttp.ClientSession) -> None:
        headers = {"Content-Type": ENVELOPE_TYPE}
        for key, value in self.ep.headers.items():   # distribution's http.Header: values are lists
            headers[key] = ", ".join(value) if isinstance(value, list) else str(value)
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            body = json.dumps({"events": batch}).encode()
            await self._deliver(session, body, headers)
            self.metrics.inc("dockyard_registry_notifications_total", len(batch), endpoint=self.ep.name,
                             outcome="sent")

    async def _deliver(self, session: aiohttp.ClientSession, body: bytes, headers: dict) -> None:
        """Post until the endpoint takes it, as distribution's retrying sink does: retry at once after a failure
        until `threshold` in a row, then back off `backoff` before each further try (so a dead listener is
        asked once per backoff, and a flaky one is not held up)."""
        failures = 0
        while True:
            reason = await self._post(session, body, headers)
            if reason is None:
                return
            failures += 1
            self.metrics.inc("dockyard_registry_notifications_total", endpoint=self.ep.name, outcome="retry")
            if failures >= self.ep.threshold:
                log.warning("notification to %s failed %d times in a row (%s); backing off %.1fs",
                            self.ep.name, failures, reason, self.ep.backoff)
                await asyncio.sleep(self.ep.backoff)
            else:
                log.info("notification to %s failed (%s); retrying", self.ep.name, reason)

    async def _post(self, session: aiohttp.ClientSession, body: bytes, headers: dict) -> str | None:
        """None when delivered, else why not."""
        try:
            async with session.post(self.ep.url, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=self.ep.timeout)) as resp:
                await resp.read()
                return None if 200 <= resp.status < 400 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return repr(e)


class Notifier:
    def __init__(self, endpoints: list[Endpoint], metrics, listen: str):
        self.sinks = [_Sink(ep, metrics) for ep in endpoints if not ep.disabled]
        host, _, port = listen.rpartition(":")
        self.source_addr = f"{socket.gethostname()}:{port}"
        self.instance_id = str(uuid.uuid4())
        self.session: aiohttp.ClientSession | None = None
        # In-process subscribers (`fn(event)`, called synchronously, must be quick): the Hub counts pulls and
        # calls its web hooks from the same events the endpoints get.
        self.listeners: list = []

    def emit(self, action: str, repo: str, request, **kw) -> None:
        if not self.sinks and not self.listeners:
            return
        event = make_event(action, repo, request, source_addr=self.source_addr, instance_id=self.instance_id, **kw)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("notification listener failed on %s %s", action, repo)
        for sink in self.sinks:
            if sink.wants(event):
                sink.put(event)

    async def start(self) -> None:
        if self.sinks:
            self.session = aiohttp.ClientSession()
            for sink in self.sinks:
                sink.task = asyncio.create_task(sink.run(self.session))

    async def stop(self, grace: float = 2.0) -> None:
        """Give queued events a moment to go out, then stop (shutdown must not hang on a dead listener)."""
        if not self.sinks:
            return
        deadline = asyncio.get_running_loop().time() + grace
        while any(not s.queue.empty() for s in self.sinks) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for sink in self.sinks:
            if sink.task:
                sink.task.cancel()
        await asyncio.gather(*(s.task for s in self.sinks if s.task), return_exceptions=True)
        await self.session.close()
