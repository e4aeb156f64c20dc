"""Health checks (HEALTHCHECK / --health-*): probes run as execs in running containers, as dockerd does.

The monitor follows container events: a `start` begins probing (status `starting`), a `die` ends it (status
`unhealthy`, as Docker leaves a stopped container). State.Health keeps the last five probe results; a status
change emits `health_status: <status>`.
"""
from __future__ import annotations

import asyncio
import logging
import time

from ..errors import DockyardError, NotFound
from ..gofmt import duration
from ..timefmt import now_rfc3339

log = logging.getLogger("dockyard.health")

SECOND = 1_000_000_000
DEFAULT_INTERVAL = DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_START_INTERVAL = 5 * SECOND
DEFAULT_RETRIES = 3
KEEP_RESULTS = 5
MAX_OUTPUT = 4096


def probe_command(config: dict) -> list[str] | None:
    """The argv a container's Healthcheck runs, or None without one (absent, empty or ["NONE"]).
    CMD-SHELL runs in the container's SHELL, /bin/sh -c by default."""
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:]) or None
    if test[0] == "CMD-SHELL":
        return [*(config.get("Shell") or ["/bin/sh", "-c"]), " ".join(test[1:])]
    return None


class HealthMonitor:
    def __init__(self, store, execs, events):
        self.store, self.execs, self.events = store, execs, events  # store: the ContainerStore
        self._probes: dict[str, asyncio.Task] = {}
        self._listener: asyncio.Task | None = None

    async def start(self) -> None:
        """Probe the containers already running (adopted after a daemon restart), then follow events."""
        for c in self.store.all():
            if c.state.Running and probe_command(c.config):
                self._begin(c.id, reset=c.state.Health is None)
        self._listener = asyncio.create_task(self._follow())

    async def close(self) -> None:
        for task in [self._listener, *self._probes.values()]:
            if task is not None:
                task.cancel()

    async def _follow(self) -> None:
        async for ev in self.events.stream(None, None):
            if ev["Type"] != "container":
                continue
            cid, action = ev["Actor"]["ID"], ev["Action"]
            if action == "start":
                try:
                    c = self.store.get(cid)
                except DockyardError:
                    continue
                if probe_command(c.config):
                    self._begin(cid, reset=True)
            elif action in ("die", "destroy"):
                self._end(cid, mark_unhealthy=action == "die")

    def _begin(self, cid: str, reset: bool) -> None:
        self._end(cid, mark_unhealthy=False)
        if reset:
            self._update(cid, lambda h: {"Status": "starting", "FailingStreak": 0, "Log": []})
        self._probes[cid] = asyncio.create_task(self._probe_loop(cid))

    def _end(self, cid: str, mark_unhealthy: bool) -> None:
        task = self._probes.pop(cid, None)
        if task is not None:
            task.cancel()
            if mark_unhealthy:
                self._update(cid, lambda h: {**h, "Status": "unhealthy"} if h else h)

    async def _probe_loop(self, cid: str) -> None:
        try:
            await self._probe_until_stopped(cid)
        except NotFound:  # removed between two probes (its exit cancels this loop, but may come later)
            pass

    async def _probe_until_stopped(self, cid: str) -> None:
        started = time.monotonic()
        while True:
            c = self.store.get(cid)
            check = c.config.get("Healthcheck") or {}
            start_period = (check.get("StartPeriod") or 0) / SECOND
            in_start_period = time.monotonic() - started < start_period
            starting = (c.state.Health or {}).get("Status") == "starting"
            wait = (check.get("StartInterval") or DEFAULT_START_INTERVAL) if in_start_period and starting \
                else (check.get("Interval") or DEFAULT_INTERVAL)
            await asyncio.sleep(wait / SECOND)
            c = self.store.get(cid)
            if not c.state.Running:
                return
            if c.state.Paused:
                continue
            timeout_ns = check.get("Timeout") or DEFAULT_TIMEOUT
            timeout = timeout_ns / SECOND
            begun = now_rfc3339()
            try:
                code, output = await self.execs.run_captured(cid, probe_command(c.config), timeout, MAX_OUTPUT)
            except DockyardError as err:
                code, output = -1, str(err)
            if code is None:
                code, output = -1, f"Health check exceeded timeout ({duration(timeout_ns)})"  # Go's %v
            result = {"Start": begun, "End": now_rfc3339(), "ExitCode": code, "Output": output}
            counts = not (time.monotonic() - started < start_period)
            self._record(cid, result, check.get("Retries") or DEFAULT_RETRIES, counts)

    def _record(self, cid: str, result: dict, retries: int, counts: bool) -> None:
        def apply(h: dict | None) -> dict:
            h = dict(h or {"Status": "starting", "FailingStreak": 0, "Log": []})
            h["Log"] = [*(h.get("Log") or []), result][-KEEP_RESULTS:]
            if result["ExitCode"] == 0:
                h["Status"], h["FailingStreak"] = "healthy", 0
            elif counts or h["Status"] != "starting":  # failures in the start period do not count
                h["FailingStreak"] = h.get("FailingStreak", 0) + 1
                if h["FailingStreak"] >= retries:
                    h["Status"] = "unhealthy"
            return h
        self._update(cid, apply)

    def _update(self, cid: str, change) -> None:
        """Read, change and save in one step (no await between): other writers' state is not lost."""
        try:
            c = self.store.get(cid)
        except DockyardError:
            return
        before = (c.state.Health or {}).get("Status")
        c.state.Health = change(c.state.Health)
        self.store.save(c)
        after = (c.state.Health or {}).get("Status")
        if after and after != before and after != "starting":
            self.events.emit("container", f"health_status: {after}", cid,
                             {"image": c.image_ref, "name": c.name})
