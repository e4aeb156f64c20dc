"""overlay2-like driver: <root>/<id>/diff holds a layer; a container adds upper/work/merged."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from .mount import is_mountpoint, mount, unmount

MAX_MOUNT_DATA = 3800  # the kernel takes one page of mount options


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

    def __init__(self, root: Path):
        self.root = root
        (root / "l").mkdir(parents=True, exist_ok=True)

    def layer_dir(self, cache_id: str) -> Path:
        return self.root / cache_id / "diff"

    def create_layer(self, cache_id: str, parent_cache_id: str | None) -> Path:
        d = self.layer_dir(cache_id)
        d.mkdir(parents=True)
        short = secrets.token_hex(13).upper()
        os.symlink(f"../{cache_id}/diff", self.root / "l" / short)
        (self.root / cache_id / "link").write_text(short)
        return d

    def remove_layer(self, cache_id: str) -> None:
        link = self.root / cache_id / "link"
        short = link.read_text().strip() if link.exists() else ""
        if short and "/" not in short:  # a crash may have left the file empty
            (self.root / "l" / short).unlink(missing_ok=True)
        shutil.rmtree(self.root / cache_id, ignore_errors=True)

    # --- container read-write layers ---
    def create_rw(self, rw_id: str, chain_cache_ids: list[str]) -> None:
        base = self.root / rw_id
        for d in ("diff", "work", "merged"):
            (base / d).mkdir(parents=True, exist_ok=True)

    def mount_rw(self, rw_id: str, chain_cache_ids: list[str]) -> Path:
        """chain_cache_ids: bottom layer first. Returns the merged root."""
        base = self.root / rw_id
        merged = base / "merged"
        if is_mountpoint(str(merged)):
            return merged
        lowers = [str(self.layer_dir(c)) for c in reversed(chain_cache_ids)]
        if not lowers:  # an image with no layers: overlay still needs one lower dir
            empty = self.root / "empty"
            empty.mkdir(exist_ok=True)
            lowers = [str(empty)]
        opts = f"lowerdir={':'.join(lowers)},upperdir={base/'diff'},workdir={base/'work'}"
        if len(opts) <= MAX_MOUNT_DATA:
            mount("overlay", str(merged), "overlay", opts)
        else:  # many layers: use the short l/ links relative to root, as overlay2 does
            links = ["l/" + (self.root / c / "link").read_text() for c in reversed(chain_cache_ids)]
            rel = f"lowerdir={':'.join(links)},upperdir={rw_id}/diff,workdir={rw_id}/work"
            mount("overlay", str(merged), "overlay", rel, cwd=str(self.root))
        return merged

    def unmount_rw(self, rw_id: str) -> None:
        unmount(str(self.root / rw_id / "merged"))

    def remove_rw(self, rw_id: str) -> None:
        self.unmount_rw(rw_id)
        shutil.rmtree(self.root / rw_id, ignore_errors=True)

    def rw_upper(self, rw_id: str) -> Path:
        return self.root / rw_id / "diff"

    def rw_root(self, rw_id: str) -> Path:
        return self.root / rw_id / "merged"

    def known_ids(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if p.name not in ("l", "empty")}

    def remove_orphan(self, dir_id: str) -> None:
        """Remove a layer or container dir nothing refers to (left by a crash). Its merged dir may still
        be mounted: detach it first, and leave the dir alone if that fails, so removal never reaches into
        the lower layers."""
        self.unmount_rw(dir_id)
        if is_mountpoint(str(self.root / dir_id / "merged")):
            raise OSError(f"{self.root / dir_id / 'merged'} is still mounted")
        self.remove_layer(dir_id)

    def remove_dangling_links(self) -> list[str]:
        """l/ links whose layer dir is gone (a crash between the link and the layer's `link` file)."""
        gone = [p for p in (self.root / "l").iterdir() if p.is_symlink() and not p.exists()]
        for p in gone:
            p.unlink(missing_ok=True)
        return [p.name for p in gone]
