"""Runtime containers no record knows, ended at daemon start.

A daemon killed in the middle of `rm` (its record deleted, the runtime's container not yet) leaves a container
that runs on with nothing to list, stop or remove it. As moby's restore does with the containers it has no
record of, the restarting daemon kills and deletes each one in every runtime's root, and waits for its monitor
(which runs the runtime's delete and exits once its process is gone)."""
from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Iterable

from ..errors import DockyardError, NotFound
from ..runtime.monitor_client import Monitor
from ..runtime.oci import Runtime

log = logging.getLogger("dockyard.containers")

CONTAINER_ID = re.compile(r"[0-9a-f]{64}")  # only IDs we give: never a container someone else put there
MONITOR_EXIT_TIMEOUT = 30.0  # seconds a monitor gets to see its killed process go and finish


async def end_orphans(runtimes: Iterable[Runtime], known: set[str], state_root: Path) -> list[str]:
    """Kill and delete the runtimes' containers whose ID is not in `known`; returns the IDs ended."""
    ended = []
    for runtime in runtimes:
        try:
            ids = await runtime.list()
        except DockyardError as err:
            log.warning("cannot list the containers of runtime %s: %s", runtime.name, err)
            continue
        for cid in ids:
            if cid in known or not CONTAINER_ID.fullmatch(cid):
                continue
            log.info("ending %s: runtime %s runs it but no container record knows it", cid[:12], runtime.name)
            try:
                await runtime.delete(cid, force=True)  # `delete -f` kills what still runs
            except NotFound:
                pass
            except DockyardError as err:
                log.warning("could not end orphaned container %s: %s", cid[:12], err)
                continue
            await _monitor_gone(state_root / cid)
            ended.append(cid)
    return ended


async def _monitor_gone(state_dir: Path) -> None:
    try:
        monitor = await Monitor.connect(state_dir)
    except LookupError:
        return  # none listens there (any more)
    try:
        await asyncio.wait_for(monitor.wait(), MONITOR_EXIT_TIMEOUT)
    except (OSError, ConnectionError, ValueError, asyncio.TimeoutError) as err:
        log.warning("the monitor in %s did not finish: %s", state_dir, err)
