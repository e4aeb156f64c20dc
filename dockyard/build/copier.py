"""COPY/ADD staging: the sources are laid out under `<staging>/root` exactly as the new layer holds them, then
hashed for the cache key. Follows Docker's classic builder (builder/dockerfile/copy.go):

- a directory that already exists in the image keeps its mode, owner and mtime (`COPY f /tmp/` leaves /tmp
  1777); a directory the copy creates is 0755, owned by the --chown user;
- --chown/--chmod apply to what is copied, never to the existing directories it lands in;
- files keep their source mtimes (clamped only when SOURCE_DATE_EPOCH is set, at tar time);
- archives ADD extracts keep the ownership and modes written in the archive.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InvalidParameter
from ..fetch import download
from ..image.layertar import walk_tree
from ..image.unpack import apply_layer, resolve_in_root
from .parser import heredoc_name, is_heredoc

CREATED_DIR_MODE = 0o755
HEREDOC_FILE_MODE = 0o644
DOWNLOADED_FILE_MODE = 0o600  # the reference: a file ADD fetches from a URL gets 600


class CopyError(Exception):
    """A COPY/ADD failure the user caused (missing source, bad checksum, ...)."""


@dataclass
class CopySpec:
    cmd: str                                  # "COPY" or "ADD"
    src_root: str                             # the context, or the rootfs of a --from stage/image
    sources: list                             # expanded source words, heredoc markers and URLs included
    dest: str                                 # absolute path in the image; a trailing "/" means a directory
    image_root: str | None = None             # the stage's rootfs, None for FROM scratch
    owner: tuple[int, int] = (0, 0)
    chmod: int | None = None
    excluded: Callable[[str], bool] = lambda rel: False   # .dockerignore, for the context only
    in_context: bool = True
    heredocs: dict = field(default_factory=dict)          # marker name -> body, already expanded
    checksum: str | None = None                           # ADD --checksum for a URL


def stage(spec: CopySpec, staging: Path) -> str:
    """Lay the sources out under staging/root; returns the cache digest of what the layer will hold."""
    stager = _Stager(spec, staging)
    stager.run()
    return tree_digest(staging / "root")


def stage_directory(image_root: str | None, path: str, staging: Path) -> bool:
    """WORKDIR: lay out under staging/root the directories down to `path` (0755, root's, as dockerd's
    SetupWorkingDirectory; those the image has keep their metadata). False when the image has it already."""
    dest = resolve_dest(image_root, path.rstrip("/") + "/")
    if image_root and os.path.isdir(resolve_in_root(image_root, dest)):
        return False
    stager = _Stager(CopySpec(cmd="WORKDIR", src_root="", sources=[], dest=dest, image_root=image_root), staging)
    stager.root.mkdir()
    stager._ensure_dir(dest.strip("/"))
    stager._restore_existing_dirs()
    return True


def tree_digest(root: Path) -> str:
    """Every entry's path, type, mode, owner and content (or link target), mtimes left out: the cache key
    changes with a chmod, an empty directory or a renamed entry, not with a touch."""
    h = hashlib.sha256()
    for path, rel, st in walk_tree(str(root)):
        h.update(f"{rel}\0{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            h.update(_file_digest(path))
        h.update(b"\0")
    return h.hexdigest()


class _Stager:
    def __init__(self, spec: CopySpec, staging: Path):
        self.spec, self.staging = spec, staging
        self.root = staging / "root"
        self.existing: dict[str, os.stat_result] = {}   # staged dirs that stand for an image directory

    def run(self) -> None:
        spec = self.spec
        self.root.mkdir()
        matches = self._matches()
        if not matches:
            raise CopyError(f"{spec.cmd} failed: no source files were specified")
        if len(matches) > 1 and not spec.dest.endswith("/"):
            raise CopyError(f"When using {spec.cmd} with more than one source file, the destination must be a "
                            f"directory and end with a /")
        into_dir = spec.dest.endswith("/") or len(matches) > 1
        for kind, name, value in matches:
            if kind == "dir":
                self._copy_dir(value)
            elif kind == "archive":
                self._extract(value)
            else:
                out = self._file_target(name, into_dir)
                {"file": self._copy_file, "heredoc": self._write_heredoc, "url": self._move_download}[kind](
                    value, out)
        self._restore_existing_dirs()

    # ------------------------------------------------------------------ sources
    def _matches(self) -> list[tuple[str, str, object]]:
        """(kind, name, value) for every source: file, dir, archive, heredoc or url."""
        spec, out = self.spec, []
        for pattern in spec.sources:
            if is_heredoc(pattern) and heredoc_name(pattern) in spec.heredocs:
                name = heredoc_name(pattern)
                out.append(("heredoc", name, spec.heredocs[name]))
            elif spec.cmd == "ADD" and pattern.startswith(("http://", "https://")):
                out.append(("url", *self._fetch(pattern)))
            else:
                out.extend(self._classify(m) for m in self._glob(pattern))
        return out

    def _classify(self, path: str) -> tuple[str, str, str]:
        name = os.path.basename(path)
        if os.path.isdir(path) and not os.path.islink(path):
            return "dir", name, path
        if self.spec.cmd == "ADD" and os.path.isfile(path) and tarfile.is_tarfile(path):
            return "archive", name, path
        return "file", name, path

    def _glob(self, pattern: str) -> list[str]:
        spec, root = self.spec, self.spec.src_root
        if spec.in_context and os.path.normpath(pattern.lstrip("/")).startswith(".."):
            raise CopyError(f"{spec.cmd} failed: forbidden path outside the build context: {pattern} ()")
        wildcard = any(c in pattern for c in "*?[")
        if wildcard:
            hits = sorted(glob.glob(os.path.join(root, pattern.lstrip("/"))))
        else:
            full = resolve_in_root(root, pattern)
            hits = [full] if os.path.lexists(full) else []
        real_root = os.path.realpath(root)
        inside = [h for h in hits if os.path.islink(h) or os.path.realpath(h).startswith(real_root)]
        if spec.in_context:
            inside = [h for h in inside if not spec.excluded(os.path.relpath(h, root))]
        if hits and not inside and spec.in_context:
            raise CopyError(f"{spec.cmd} failed: forbidden path outside the build context: {pattern}")
        if not inside and wildcard:
            return []  # a pattern that matches nothing is no error while another source matches (moby)
        if not inside:
            raise CopyError(f"{spec.cmd} failed: file not found in build context or excluded by .dockerignore: "
                            f"stat {pattern}: file does not exist")
        return inside

    def _fetch(self, url: str) -> tuple[str, str]:
        path = self.staging / ("download-" + hashlib.sha256(url.encode()).hexdigest()[:12])
        with open(path, "wb") as f:
            try:
                download(url, f, timeout=60)
            except InvalidParameter as err:
                raise CopyError(str(err)) from None
        got = "sha256:" + _file_digest(str(path)).hex()
        if self.spec.checksum and self.spec.checksum != got:
            raise CopyError(f"checksum mismatch for {url}: expected {self.spec.checksum}, got {got}")
        return url.rstrip("/").rsplit("/", 1)[-1] or "download", str(path)

    # ------------------------------------------------------------------ placing
    def _file_target(self, name: str, into_dir: bool) -> Path:
        rel = self.spec.dest.strip("/")
        rel = f"{rel}/{name}" if into_dir and rel else (name if into_dir else rel)
        self._ensure_dir(os.path.dirname(rel))
        return self.root / rel

    def _copy_file(self, src: str, out: Path) -> None:
        shutil.copy2(src, out, follow_symlinks=False)
        self._own(out)

    def _write_heredoc(self, body: str, out: Path) -> None:
        out.write_text(body)
        os.chmod(out, HEREDOC_FILE_MODE)
        self._own(out)

    def _move_download(self, path: str, out: Path) -> None:
        shutil.move(path, out)
        os.chmod(out, DOWNLOADED_FILE_MODE)
        self._own(out)

    def _copy_dir(self, src: str) -> None:
        """The directory's contents go into dest (Docker copies what is inside, not the directory itself)."""
        rel_dest = self.spec.dest.strip("/")
        self._ensure_dir(rel_dest)
        for path, rel, st in walk_tree(src):
            if self.spec.in_context and self.spec.excluded(os.path.relpath(path, self.spec.src_root)):
                continue
            out = self.root / rel_dest / rel
            if not out.parent.is_dir():  # an exception (!) below an excluded directory
                out.parent.mkdir(parents=True)
            if stat.S_ISDIR(st.st_mode):
                out.mkdir()
            else:
                shutil.copy2(path, out, follow_symlinks=False)
            self._own(out)
        for path, rel, st in walk_tree(src):  # directory mtimes last: writing children changed them
            out = self.root / rel_dest / rel
            if stat.S_ISDIR(st.st_mode) and out.is_dir():
                os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))

    def _extract(self, archive: str) -> None:
        rel_dest = self.spec.dest.strip("/")
        self._ensure_dir(rel_dest)
        with open(archive, "rb") as f:
            apply_layer(f, str(self.root / rel_dest), mode="vfs")

    def _own(self, path: Path) -> None:
        """--chown and --chmod, for an entry the copy brings."""
        uid, gid = self.spec.owner
        os.lchown(path, uid, gid)
        if self.spec.chmod is not None and not path.is_symlink():
            os.chmod(path, self.spec.chmod)

    # ------------------------------------------------------------------ parent directories
    def _ensure_dir(self, rel: str) -> None:
        """Create the staged directories down to rel: those the image has keep its metadata (restored at
        the end), the others are new, 0755 and owned by --chown, as Docker's MkdirAllAndChownNew does."""
        cur = ""
        for part in [p for p in rel.split("/") if p]:
            cur = f"{cur}/{part}" if cur else part
            out = self.root / cur
            if out.is_dir():
                continue
            out.mkdir()
            in_image = self._image_dir_stat(cur)
            if in_image is not None:
                self.existing[cur] = in_image
            else:
                os.chmod(out, CREATED_DIR_MODE)
                os.lchown(out, *self.spec.owner)

    def _image_dir_stat(self, rel: str) -> os.stat_result | None:
        if not self.spec.image_root:
            return None
        try:
            st = os.stat(resolve_in_root(self.spec.image_root, rel))
        except (OSError, InvalidParameter):
            return None
        return st if stat.S_ISDIR(st.st_mode) else None

    def _restore_existing_dirs(self) -> None:
        for rel, st in self.existing.items():
            out = self.root / rel
            os.lchown(out, st.st_uid, st.st_gid)
            os.chmod(out, stat.S_IMODE(st.st_mode))
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))


def resolve_dest(image_root: str | None, dest: str) -> str:
    """The destination with the symlinks the image has along its directory part resolved (COPY into
    /var/run/ writes into /run/ when that is a link), keeping the trailing "/"."""
    if not image_root:
        return dest
    into_dir = dest.endswith("/")
    head, base = (dest.rstrip("/"), "") if into_dir else os.path.split(dest)
    rel = os.path.relpath(resolve_in_root(image_root, head), image_root)
    resolved = "/" if rel == "." else "/" + rel
    out = os.path.join(resolved, base) if base else resolved
    return out.rstrip("/") + "/" if into_dir else out


def _file_digest(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()
