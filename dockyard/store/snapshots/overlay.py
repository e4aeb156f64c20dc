"""overlay2-like snapshotter: <root>/<id>/diff holds a snapshot's own changes; a writable one adds work/
and merged/ (its mountpoint). Its mount spec is one overlay: the parents' diff dirs as lowerdir, its own
diff as upperdir. Each committed snapshot also gets a short l/<ID> link to its diff, as overlay2's, so a deep
chain's lowerdir still fits in the one page of mount options."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from ..fsutil import dir_size
from ..trash import Trash, remove_tree
from .mount import MAX_MOUNT_DATA, Mount, mount, unmount


def overlay_supported(root: Path) -> bool:
    root.mkdir(parents=True, exist_ok=True)
    probe = Path(tempfile.mkdtemp(prefix="overlay-probe-", dir=root))
    try:
        for d in ("lower", "upper", "work", "merged"):
            (probe / d).mkdir()
        mount("overlay", str(probe / "merged"), "overlay",
              f"lowerdir={probe/'lower'},upperdir={probe/'upper'},workdir={probe/'work'}")
        unmount(str(probe / "merged"))
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


class OverlayDriver:
    name = "overlay2"
    apply_mode = "overlay"  # layers keep whiteouts as 0/0 char devices, as overlayfs reads them

    def __init__(self, root: Path, trash: Trash | None = None):
        self.root = root
        self.trash = trash
        (root / "l").mkdir(parents=True, exist_ok=True)

    def upper(self, key: str) -> Path:
        return self.root / key / "diff"

    layer_dir = upper  # inspect's GraphDriver data names the layer dirs

    def prepare(self, key: str, parent: str | None) -> Path:
        # Only the diff dir: a container's work dir and mount point come with its first mount, and a layer's
        # short link with its commit (a container's RW layer is never a lower dir). Each dir made costs, on a
        # slow disk up to half a millisecond of a `docker create`.
        diff = self.root / key / "diff"
        diff.mkdir(parents=True, exist_ok=True)
        return diff

    def commit(self, key: str) -> None:
        base = self.root / key
        for d in ("work", "merged"):  # a read-only layer is only ever a lower dir
            shutil.rmtree(base / d, ignore_errors=True)
        if not (base / "link").exists():
            short = secrets.token_hex(13).upper()
            os.symlink(f"../{key}/diff", self.root / "l" / short)
            (base / "link").write_text(short)

    def mounts(self, key: str, parents: list[str]) -> list[Mount]:
        lowers = [str(self.upper(p)) for p in reversed(parents)]
        if not lowers:  # a snapshot on nothing: overlay still needs one lower dir
            empty = self.root / "empty"
            empty.mkdir(exist_ok=True)
            lowers = [str(empty)]
        for d in ("work", "merged"):  # (made on the first mount: see prepare)
            (self.root / key / d).mkdir(exist_ok=True)
        upper = [f"upperdir={self.upper(key)}", f"workdir={self.root / key / 'work'}"]
        if len(",".join([f"lowerdir={':'.join(lowers)}", *upper])) > MAX_MOUNT_DATA:
            lowers = [str(self.root / "l" / (self.root / p / "link").read_text()) for p in reversed(parents)]
        return [Mount("overlay", "overlay", (f"lowerdir={':'.join(lowers)}", *upper))]

    def mountpoint(self, key: str) -> Path:
        return self.root / key / "merged"

    def usage(self, key: str) -> int:
        return dir_size(self.upper(key))

    def remove(self, key: str) -> None:
        link = self.root / key / "link"
        short = link.read_text().strip() if link.exists() else ""
        if short and "/" not in short:  # a crash may have left the file empty
            (self.root / "l" / short).unlink(missing_ok=True)
        remove_tree(self.root / key, self.trash)

    def keys(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if p.name not in ("l", "empty")}

    def cleanup(self) -> list[str]:
        """l/ links whose layer dir is gone (a crash between the link and the layer's `link` file)."""
        gone = [p for p in (self.root / "l").iterdir() if p.is_symlink() and not p.exists()]
        for p in gone:
            p.unlink(missing_ok=True)
        return [p.name for p in gone]
