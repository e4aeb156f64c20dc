"""Turning -v / --mount / image VOLUMEs into mount points (what inspect shows) and OCI mounts (what runc gets)."""
from __future__ import annotations

import os
import posixpath
import shutil
import stat

from .. import gofmt
from ..errors import InvalidParameter, NotFound, SystemError_
from ..volume.store import VALID as VALID_VOLUME_NAME

PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
DEFAULT_PROPAGATION = "rprivate"
# moby's linuxValidMountMode: at most one word of each kind
_MODE_KINDS = ({"rw", "ro"}, {"z", "Z"}, set(PROPAGATIONS),
               {"nocopy"}, {"consistent", "cached", "delegated", "default"})


def valid_mode(mode: str) -> bool:
    if mode == "":
        return True
    counts = [0] * len(_MODE_KINDS)
    for word in mode.split(","):
        kind = next((i for i, words in enumerate(_MODE_KINDS) if word in words), None)
        if kind is None:
            return False
        counts[kind] += 1
    return max(counts) <= 1


# moby's setBindModeIfNull: a local-driver volume from Binds or Mounts with no mode shows "z" (the shared
# SELinux label it gets); volumes from Config.Volumes (`-v /path`, an image's VOLUME) keep "".
LOCAL_VOLUME_MODE = "z"


def _mount_error(kind: str, message: str) -> InvalidParameter:
    return InvalidParameter(f"invalid mount config for type {gofmt.quote(kind)}: {message}")


def _bind_or_volume(spec: str) -> dict:
    parts = spec.split(":")
    if len(parts) == 1:  # Binds ["/data"]: an anonymous volume
        return {"Type": "volume", "Name": "", "Destination": parts[0], "RW": True, "Mode": LOCAL_VOLUME_MODE}
    if len(parts) > 3:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    source, dest = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not dest.startswith("/"):
        raise InvalidParameter(f"invalid volume specification: '{spec}': invalid mount config for type "
                               f"\"{'bind' if source.startswith('/') else 'volume'}\": invalid mount path: "
                               f"'{dest}' mount path must be absolute")
    if not valid_mode(mode):
        raise InvalidParameter(f"invalid mode: {mode}")
    rw = "ro" not in mode.split(",")
    if source.startswith("/"):
        propagation = next((w for w in mode.split(",") if w in PROPAGATIONS), DEFAULT_PROPAGATION)
        return {"Type": "bind", "Source": source, "Destination": dest, "Mode": mode, "RW": rw,
                "Propagation": propagation}
    nocopy = {"NoCopy": True} if "nocopy" in mode.split(",") else {}
    return {"Type": "volume", "Name": source, "Destination": dest, "RW": rw, "Mode": mode or LOCAL_VOLUME_MODE,
            **nocopy}


def _check_options_of_type(kind: str, m: dict) -> None:
    """moby's validateMountConfig: options of another mount type, and what a volume's options cannot say."""
    if kind in ("volume", "tmpfs") and m.get("BindOptions"):
        raise _mount_error(kind, "field BindOptions must not be specified")
    if kind == "bind" and m.get("VolumeOptions"):
        raise _mount_error(kind, "field VolumeOptions must not be specified")
    if kind != "volume":
        return
    anonymous = not m.get("Source")
    subpath = (m.get("VolumeOptions") or {}).get("Subpath") or ""
    if subpath and anonymous:
        raise _mount_error(kind, "must not set Subpath when using anonymous volumes")
    if subpath and (subpath.startswith("/") or posixpath.normpath(subpath).split("/")[0] == ".."):
        raise _mount_error(kind, "subpath must be a relative path within the volume")  # Go's filepath.IsLocal
    if m.get("ReadOnly") and anonymous:
        raise _mount_error(kind, "must not set ReadOnly mode when using anonymous volumes")


def _volume_options(opts: dict) -> dict:
    """A --mount's VolumeOptions, kept on the mount point (inspect never shows these keys): the driver and its
    options and labels for a volume the mount creates, no copy of the image's files, a subdirectory."""
    driver = opts.get("DriverConfig") or {}
    kept = {"NoCopy": bool(opts.get("NoCopy")), "Subpath": opts.get("Subpath") or "",
            "VolumeDriver": driver.get("Name") or "local", "VolumeOpts": driver.get("Options") or None,
            "VolumeLabels": opts.get("Labels") or None}
    return {k: v for k, v in kept.items() if v and v != "local"}


def volumes_from(specs: list[str], get_container) -> list[dict]:
    """`--volumes-from NAME[:ro|rw]`: the mount points of another container (moby's registerMountPoints, step
    2), read-only when asked or when they are; a missing container is a 400 with its "No such container"."""
    points = []
    for spec in specs:
        ref, _, mode = spec.partition(":")
        if mode and not valid_mode(mode):
            raise InvalidParameter(f"invalid mode: {mode}")
        try:
            source = get_container(ref)
        except NotFound as err:
            raise InvalidParameter(str(err)) from None
        for mp in source.mount_points or []:
            points.append({**mp, "RW": mp["RW"] and "ro" not in mode.split(",")})
    return points


def requested_mounts(config: dict, host_config: dict, inherited: list[dict] = ()) -> list[dict]:
    """Mount points from the (image-merged) config's Volumes, other containers' (`inherited`), Binds and
    Mounts; later ones win per path."""
    points: dict[str, dict] = {}
    # --volume-driver: the driver of the volumes Config.Volumes and Binds create (moby's registerMountPoints)
    driver = {"VolumeDriver": host_config["VolumeDriver"]} if host_config.get("VolumeDriver") else {}
    for dest in (config.get("Volumes") or {}):
        points[dest] = {"Type": "volume", "Name": "", "Destination": dest, "RW": True, "Mode": "", **driver}
    for mp in inherited:
        points[mp["Destination"]] = mp
    for spec in host_config.get("Binds") or []:
        mp = _bind_or_volume(spec)
        points[mp["Destination"]] = {**mp, **driver} if mp["Type"] == "volume" else mp
    for m in host_config.get("Mounts") or []:
        if not isinstance(m, dict):
            raise InvalidParameter("json: cannot unmarshal into Go struct field HostConfig.HostConfig.Mounts of "
                                   "type mount.Mount")
        kind = m.get("Type") or "volume"
        target = m.get("Target") or m.get("Destination")
        source = m.get("Source") or ""
        if kind not in ("bind", "volume", "tmpfs"):
            raise _mount_error(kind, "mount type unknown")
        if not target:
            raise _mount_error(kind, "field Target must not be empty")
        if isinstance(target, str) and posixpath.normpath(target.replace("\\", "/")) == "/":
            raise _mount_error(kind, "invalid specification: destination can't be '/'")
        if not isinstance(target, str) or not target.startswith("/"):
            raise _mount_error(kind, f"invalid mount path: '{target}' mount path must be absolute")
        _check_options_of_type(kind, m)
        if kind == "bind":
            if not source:
                raise _mount_error(kind, "field Source must not be empty")
            propagation = (m.get("BindOptions") or {}).get("Propagation") or DEFAULT_PROPAGATION
            if propagation not in PROPAGATIONS:
                raise _mount_error(kind, f"invalid propagation mode: {propagation}")
            if not os.path.exists(source):
                raise _mount_error(kind, f"bind source path does not exist: {source}")
            points[target] = {"Type": "bind", "Source": source, "Destination": target, "Mode": "",
                              "RW": not m.get("ReadOnly"), "Propagation": propagation}
        elif kind == "volume":
            points[target] = {"Type": "volume", "Name": source, "Destination": target,
                              "RW": not m.get("ReadOnly"), "Mode": LOCAL_VOLUME_MODE,
                              **_volume_options(m.get("VolumeOptions") or {})}
        else:
            if source:
                raise _mount_error(kind, "field Source must not be specified")
            points[target] = {"Type": "tmpfs", "Source": "", "Destination": target, "Mode": "",
                              "RW": not m.get("ReadOnly"), "Propagation": "",
                              "TmpfsData": tmpfs_data(m.get("TmpfsOptions") or {}, bool(m.get("ReadOnly")))}
    for mp in points.values():  # a bad volume name fails before anything is created
        name = mp.get("Name") or ""
        if mp["Type"] == "volume" and name and not VALID_VOLUME_NAME.match(name):
            raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                                   f'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                                   f"directory, use absolute path")
    return list(points.values())


def resolve(points: list[dict], volumes, rootfs: str | None) -> list[dict]:
    """Create the volumes the points name (copying image content into new ones); fill in Source/Name."""
    out = []
    for mp in points:
        mp = dict(mp)
        if mp["Type"] == "volume":
            vol, created = volumes.create(mp.get("Name", ""), mp.get("VolumeLabels"), mp.get("VolumeOpts"),
                                          mp.get("VolumeDriver") or "")
            mp["Name"], mp["Source"], mp["Driver"] = vol["Name"], vol["Mountpoint"], vol["Driver"]
            mp.setdefault("Propagation", "")
            # a volume with a device of its own, or a plugin's, is not mounted now: what it holds is the device's
            # or the plugin's (moby copies at start, into a mount that goes when the copy is done)
            if created and rootfs and not mp.get("NoCopy") and not mp.get("Subpath") \
                    and not volumes.needs_mount(vol["Name"]):
                _copy_up(os.path.join(rootfs, mp["Destination"].lstrip("/")), vol["Mountpoint"])
        elif mp["Type"] == "bind" and not os.path.exists(mp["Source"]):
            os.makedirs(mp["Source"], exist_ok=True)  # -v creates a missing host dir, as Docker does
        out.append(mp)
    return out


def _copy_up(image_path: str, volume_dir: str) -> None:
    """A new volume starts with what the image has at its mount path."""
    if os.path.isdir(image_path) and not os.path.islink(image_path) and not os.listdir(volume_dir):
        shutil.copytree(image_path, volume_dir, symlinks=True, dirs_exist_ok=True)


def tmpfs_data(opts: dict, read_only: bool) -> list[str]:
    """moby's ConvertTmpfsOptions: `--mount type=tmpfs,tmpfs-size=..,tmpfs-mode=..` as mount options (the size
    in the largest of g/m/k that divides it, the mode in octal), plus the raw Options of API 1.46."""
    data = ["ro"] if read_only else []
    if opts.get("Mode"):
        data.append(f"mode={int(opts['Mode']):o}")
    size = int(opts.get("SizeBytes") or 0)
    if size:
        suffix = next(((s, d) for s, d in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)) if size % d == 0), None)
        data.append(f"size={size // suffix[1]}{suffix[0]}" if suffix else f"size={size}")
    for option in opts.get("Options") or []:
        data.append("=".join(str(part) for part in option))
    return data


def with_subpaths(points: list[dict]) -> list[dict]:
    """At start, once the volumes are mounted: a `volume-subpath=` mount's source is that directory of the
    volume, which must exist and be reached without symlinks or `..` (moby's safepath.Join, in its words)."""
    out = []
    for mp in points:
        subpath = mp.get("Subpath") or ""
        if mp["Type"] == "volume" and subpath:
            mp = {**mp, "Source": _beneath(mp["Source"], subpath)}
        out.append(mp)
    return out


def _beneath(base: str, subpath: str) -> str:
    path = base
    for part in subpath.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise SystemError_(f"path concatenation escapes the base directory, base: {base}, subpath: {subpath}")
        path = os.path.join(path, part)
        full = os.path.join(base, subpath)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise SystemError_(f"cannot access path {full}: no such file or directory") from None
        if stat.S_ISLNK(st.st_mode):
            raise SystemError_(f"cannot access path {full}: too many levels of symbolic links")
    return path


def check_propagation(points: list[dict]) -> None:
    """At start, moby's ensureShared / ensureSharedOrSlave: a shared bind's source must sit on a shared mount,
    a slave one's on a shared or slave mount, or the propagation asked for could not happen."""
    for mp in points:
        wanted = mp.get("Propagation") or ""
        if mp["Type"] != "bind" or wanted not in ("shared", "rshared", "slave", "rslave"):
            continue
        mountpoint, fields = _mount_of(os.path.realpath(mp["Source"]))
        if wanted.endswith("shared") and not any(f.startswith("shared:") for f in fields):
            raise SystemError_(f"path {mp['Source']} is mounted on {mountpoint} but it is not a shared mount")
        if wanted.endswith("slave") and not any(f.startswith(("shared:", "master:")) for f in fields):
            raise SystemError_(f"path {mp['Source']} is mounted on {mountpoint} but it is not a shared or slave "
                               f"mount")


def _mount_of(path: str) -> tuple[str, list[str]]:
    """The mount point holding a host path and its mountinfo optional fields (shared:N, master:N)."""
    best, fields = "/", []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            point = parts[4]
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fields = point, parts[6:parts.index("-")]
    return best, fields


def oci_mounts(points: list[dict]) -> list[dict]:
    mounts = []
    for mp in points:
        if mp["Type"] == "tmpfs":  # moby's defaults first, so that what the user asked for wins
            mounts.append({"destination": mp["Destination"], "type": "tmpfs", "source": "tmpfs",
                           "options": ["noexec", "nosuid", "nodev", "rprivate", *mp.get("TmpfsData", [])]})
            continue
        options = ["rbind", "rw" if mp["RW"] else "ro", mp.get("Propagation") or DEFAULT_PROPAGATION]
        mounts.append({"destination": mp["Destination"], "type": "bind", "source": mp["Source"], "options": options})
    return mounts
