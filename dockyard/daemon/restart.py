"""Restart policies (moby's restartmanager): whether an exited container comes back and after how long, the
pending restarts a stop, kill or removal cancels, and the back-off between tries.

It holds no container service: it gets the store (records and their locks) and the narrow callables it needs,
`start(container)` (under the container's lock), `exited(id, code)` (answers `docker wait`) and `spawn(coro)`
(a task the service tracks), so the service owns it and nothing points back up."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from ..errors import NotFound
from .container_record import Container
from .container_store import ContainerStore

log = logging.getLogger("dockyard.containers")


class RestartManager:
    def __init__(self, store: ContainerStore, start: Callable[[Container], Awaitable[None]],
                 exited: Callable[[str, int], None], spawn: Callable[[Awaitable], None]):
        self.store = store
        self._start, self._exited, self._spawn = start, exited, spawn
        self._backoff: dict[str, float] = {}  # seconds before the next restart, per container

    @staticmethod
    def should_restart(c: Container) -> bool:
        """After an exit while the daemon runs (moby's ShouldRestart): never after the user's stop."""
        if c.manual_stop:
            return False
        policy, max_retries = c.restart_policy()
        if policy in ("always", "unless-stopped"):
            return True
        if policy == "on-failure":
            return c.state.ExitCode != 0 and (max_retries == 0 or c.restart_count < max_retries)
        return False

    def next_delay(self, cid: str, ran_for: float) -> float:
        """moby's restart manager: 100 ms, doubling up to a minute; back to 100 ms after a run of 10 s or more."""
        previous = 0.0 if ran_for >= 10 else self._backoff.get(cid, 0.0)
        delay = min(previous * 2, 60.0) if previous else 0.1
        self._backoff[cid] = delay
        return delay

    def schedule(self, cid: str, delay: float) -> None:
        self._spawn(self._restart_later(cid, delay))

    async def _restart_later(self, cid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self.store.lock(cid):
            try:
                c = self.store.get(cid)
            except NotFound:  # removed while the restart waited: the lock this made for it goes too
                self.store.forget_lock(cid)
                return
            if not c.state.Restarting or c.state.Running:  # stopped, killed or started meanwhile
                return
            try:
                await self._start(c)
            except Exception as err:
                log.warning("restart of %s failed: %s", c.short_id, err)
                self.cancel(self.store.get(cid))

    async def cancel_pending(self, cid: str) -> bool:
        """stop/kill/rm of a container waiting to restart: it stays down (moby's ExitOnNext). False if the
        restart has already brought it back (then it is stopped like any running container)."""
        async with self.store.lock(cid):  # not while _restart_later is starting it
            c = self.store.get(cid)
            if c.state.Running or not c.state.Restarting:
                return False
            c.manual_stop = True
            self.cancel(c)
            return True

    def cancel(self, c: Container) -> None:
        """A pending restart that will not happen: the container is plainly exited, its waiters answered."""
        c.state.Restarting, c.state.Status = False, "exited"
        self.store.save(c)
        self._exited(c.id, c.state.ExitCode)

    def forget(self, cid: str) -> None:
        self._backoff.pop(cid, None)


def restarts_with_daemon(c: Container) -> bool:
    """Whether a stopped container starts again when the daemon does: moby's ShouldRestart as restore calls
    it. A user's stop keeps only `unless-stopped` down; `always` comes back (as Docker's documentation says),
    and so does `on-failure` whose last exit, a stop's 137 included, was non-zero with retries left."""
    policy, max_retries = c.restart_policy()
    if policy == "always":
        return True
    if policy == "unless-stopped":
        return not c.manual_stop
    if policy == "on-failure":
        return c.state.ExitCode != 0 and (max_retries == 0 or c.restart_count < max_retries)
    return False
