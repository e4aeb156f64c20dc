"""A trash directory: removing a tree is a rename into it, and a background thread deletes it from there.

Deleting a container's RW layer, init layer and files takes milliseconds that `docker run --rm` would wait
for (`wait?condition=removed` answers after the removal). A rename is one syscall and is as final for
everyone else: the path is gone at once. What the thread has not deleted yet when the daemon dies stays in
the trash, which the daemon empties at its next start (`empty`), before it serves anything.
"""
from __future__ import annotations

import logging
import os
import queue
import secrets
import shutil
import threading
from pathlib import Path

log = logging.getLogger("dockyard.trash")


class Trash:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[Path] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def discard(self, path: Path | str) -> None:
        """Make `path` (a file or a tree) disappear now; its contents are deleted in the background. Where
        it cannot be moved (another filesystem), it is deleted here and now."""
        target = self.root / secrets.token_hex(8)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return
        except OSError:  # EXDEV, or a mountpoint: delete in place as before
            _delete(Path(path))
            return
        self._queue.put(target)
        self._start_worker()

    def empty(self) -> None:
        """Delete what a previous daemon left in the trash (at start, before anything is discarded)."""
        for entry in list(self.root.iterdir()):
            _delete(entry)

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
            path = self._queue.get()
            try:
                _delete(path)
            except Exception:  # never let one tree stop the thread; the next start retries it
                log.exception("could not delete %s", path)
            finally:
                self._queue.task_done()


def remove_tree(path: Path | str, trash: Trash | None) -> None:
    """Remove a tree through the trash when there is one, else in place."""
    if trash is not None:
        trash.discard(path)
    else:
        _delete(Path(path))


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
