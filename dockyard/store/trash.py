"""A trash directory: removing a tree is a rename into it, and a background thread deletes it from there.

Deleting a container's RW layer, init layer and files takes milliseconds that `docker run --rm` would wait
for (`wait?condition=removed` answers after the removal). A rename is one syscall and is as final for
everyone else: the path is gone at once. What the thread has not deleted yet when the daemon dies stays in
the trash, which the daemon empties at its next start (`empty`), before it serves anything.

A tree may go there with mounts in it (a container's root, whose overlay unmount syncs the upper filesystem:
milliseconds, tens on a busy disk): the thread detaches them first, and `rm` never crosses into a mount.

The thread lets a moment pass before it unmounts and deletes (the removal that discarded the tree is still
being answered: a `run --rm` waits for it, on a machine whose cores the unmount and `rm` would share) and has
`rm` do it: a Python rmtree would hold the GIL, and every thread of the daemon, its event loop included,
would queue behind it for up to the 5 ms switch interval at each hand-over.
"""
from __future__ import annotations

import errno
import logging
import os
import queue
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

from .fsutil import mount_points, mounts_under, wipe_dir

log = logging.getLogger("dockyard.trash")

PAUSE = 0.05  # seconds between the first discard of a batch and its unmounts and deletion


class Trash:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[Path] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def discard(self, path: Path | str) -> None:
        """Make `path` (a file or a tree, mounts below it too) disappear now; its contents are unmounted and
        deleted in the background. Where it cannot be moved (another filesystem), it is deleted here and now."""
        from .snapshots.mount import unmount  # (the snapshotters import this module)

        target = self.root / secrets.token_hex(8)
        try:
            try:
                os.rename(path, target)
            except OSError as err:
                if err.errno != errno.EBUSY:
                    raise
                unmount(str(path))  # `path` itself is a mountpoint (vfs binds a snapshot onto itself)
                os.rename(path, target)
        except FileNotFoundError:
            return
        except OSError:  # EXDEV: another filesystem
            _delete(Path(path))
            return
        self._queue.put(target)
        self._start_worker()

    def empty(self) -> None:
        """Delete what a previous daemon left in the trash (at start, before anything is discarded); anything
        still mounted in there is detached first, never reached into."""
        wipe_dir(self.root)

    def drain(self) -> None:
        """Wait until everything discarded so far is deleted (daemon shutdown, tests)."""
        self._queue.join()

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="trash", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(PAUSE)  # the removal that discarded it is still being answered: none of its CPU goes here
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                _delete_many(batch)  # (unmounts first)
            except Exception:  # never let one tree stop the thread; the next start empties the trash
                log.exception("could not delete %s", batch)
            finally:
                for _ in batch:
                    self._queue.task_done()


def remove_tree(path: Path | str, trash: Trash | None) -> None:
    """Remove a tree through the trash when there is one, else in place."""
    if trash is not None:
        trash.discard(path)
    else:
        _delete(Path(path))


def _delete_many(paths: list[Path]) -> None:
    """Detach the mounts below each tree, then `rm` in a process of its own, never crossing into a mount (one
    that would not go waits for the next start's empty()); rmtree where there is no rm."""
    _unmount_below(paths)
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", *map(str, paths)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        for path in paths:
            if not mounts_under(path):
                _delete(path)


def _unmount_below(paths: list[Path]) -> None:
    from .snapshots.mount import unmount  # (the snapshotters import this module)

    points = mount_points()
    for path in paths:
        for point in mounts_under(path, points):
            try:
                unmount(point)
            except OSError as err:
                log.warning("could not unmount %s: %s", point, err)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
