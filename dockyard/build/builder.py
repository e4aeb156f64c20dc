"""The classic builder (what `DOCKER_BUILDKIT=0 docker build` talks to): each step is a real container or
layer on our own services, committed as an image whose parent is the previous step's; a step whose parent
and resulting config (and, for COPY/ADD, source content hash) match an existing child image is a cache hit.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from ..daemon.commit import commit
from ..daemon.images import canonical_json
from ..errors import InvalidParameter, NotFound
from ..fetch import download
from ..image.layertar import write_dir_tar
from ..image.unpack import apply_layer, resolve_in_root
from ..timefmt import now_rfc3339
from ..units import parse_duration
from . import parser
from .dockerignore import Matcher, read_patterns

DEFAULT_SHELL = ["/bin/sh", "-c"]
PROXY_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy"}
Emit = Callable[[dict], Awaitable[None]]


@dataclass
class BuildOptions:
    dockerfile: str = "Dockerfile"
    tags: list = field(default_factory=list)
    build_args: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    rm: bool = True
    force_rm: bool = False
    quiet: bool = False
    network_mode: str = ""
    cache_from: list = field(default_factory=list)


class BuildError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@dataclass
class Stage:
    name: str
    image_id: str            # "" while building FROM scratch with no step yet
    config: dict             # the image's container config (Cmd, Env, ...)
    args: dict = field(default_factory=dict)
    shell: list = field(default_factory=lambda: list(DEFAULT_SHELL))


class Builder:
    def __init__(self, services):
        self.svc = services

    # ------------------------------------------------------------------ entry point
    async def build(self, context_dir: Path, opts: BuildOptions, emit: Emit) -> str:
        df_path = resolve_in_root(str(context_dir), opts.dockerfile)
        try:
            text = Path(df_path).read_text()
        except FileNotFoundError:
            raise InvalidParameter(f"Cannot locate specified Dockerfile: {opts.dockerfile}") from None
        dockerfile = parser.parse(text, opts.dockerfile)
        for w in dockerfile.warnings:
            await emit({"stream": f"[WARNING]: {w}\n"})
        ignore = Matcher(read_patterns(_read(context_dir / ".dockerignore")))
        run = _Run(self, context_dir, opts, emit, dockerfile, ignore)
        return await run.execute()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class _Run:
    """One build: the steps, their stages, the step counter and the output."""

    def __init__(self, builder: Builder, context: Path, opts: BuildOptions, emit: Emit, df, ignore: Matcher):
        self.b, self.svc = builder, builder.svc
        self.context, self.opts, self.emit, self.df, self.ignore = context, opts, emit, df, ignore
        self.stages: list[Stage] = []
        self.global_args: dict = {}
        self.used_args: set = set()
        self.step = 0
        self.total = len(self._steps())
        self.escape = df.escape
        self._sources: list[str] | None = None  # --cache-from images, resolved on first use

    def _steps(self) -> list[parser.Instruction]:
        """Instructions up to the end of the target stage (all of them without --target)."""
        insts = self.df.instructions
        if not self.opts.target:
            return insts
        for i, inst in enumerate(insts):
            if inst.cmd == "FROM":
                words = inst.args.split()
                if len(words) == 3 and words[2].lower() == self.opts.target.lower():
                    end = next((j for j in range(i + 1, len(insts)) if insts[j].cmd == "FROM"), len(insts))
                    return insts[:end]
        raise InvalidParameter(f"failed to reach build target {self.opts.target} in Dockerfile")

    async def say(self, text: str) -> None:
        if not self.opts.quiet:
            await self.emit({"stream": text})

    # ------------------------------------------------------------------ main loop
    async def execute(self) -> str:
        for inst in self._steps():
            self.step += 1
            await self.say(f"Step {self.step}/{self.total} : {inst.original}\n")
            if inst.cmd == "ARG" and not self.stages:
                self._global_arg(inst)
                continue
            if inst.cmd == "FROM":
                await self._from(inst)
                continue
            if not self.stages:
                raise BuildError("Please provide a source image with `from` prior to commit")
            await self.dispatch(self.stages[-1], inst)
        final = self.stages[-1]
        if not final.image_id:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        unused = sorted(set(self.opts.build_args) - self.used_args - PROXY_ARGS)
        if unused:
            await self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        if self.opts.labels:
            cfg = copy.deepcopy(final.config)
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **self.opts.labels}
            final.image_id = await self._nop(final, cfg, "LABEL " + " ".join(f"{k}={v}" for k, v in
                                                                             self.opts.labels.items()))
        await self.emit({"aux": {"ID": final.image_id}})
        short = final.image_id[7:19]
        if self.opts.quiet:
            await self.emit({"stream": final.image_id + "\n"})
        else:
            await self.say(f"Successfully built {short}\n")
        for t in self.opts.tags:
            self.svc.images.tag(final.image_id, t)
            await self.say(f"Successfully tagged {_familiar(t)}\n")
        return final.image_id

    def _global_arg(self, inst) -> None:
        for k, v in parser.parse_key_values(inst):
            self.global_args[k] = self.opts.build_args.get(k, v)
            if k in self.opts.build_args:
                self.used_args.add(k)

    # ------------------------------------------------------------------ FROM
    async def _from(self, inst) -> None:
        words = inst.args.split()
        name = parser.expand(words[0], self.global_args, self.escape)
        stage_name = words[2] if len(words) == 3 else str(len(self.stages))
        by_name = {s.name.lower(): s for s in self.stages}
        if name.lower() in by_name:
            base = by_name[name.lower()]
            stage = Stage(stage_name, base.image_id, copy.deepcopy(base.config))
        elif name == "scratch":
            stage = Stage(stage_name, "", {"Env": [f"PATH={_DEFAULT_PATH}"]})
        else:
            image_id = await self._base_image(name)
            cfg = copy.deepcopy(self.svc.images.get(image_id).config.get("config") or {})
            stage = Stage(stage_name, image_id, cfg)
        self.stages.append(stage)
        if stage.image_id:
            await self.say(f" ---> {stage.image_id[7:19]}\n")
        for trigger in stage.config.pop("OnBuild", None) or []:
            await self.say("# Executing 1 build trigger\n")
            trig = parser.parse("FROM scratch\n" + trigger).instructions[1]
            await self.dispatch(stage, trig)

    async def _base_image(self, name: str) -> str:
        images = self.svc.images
        if not self.opts.pull:
            try:
                return images.resolve(name)[0]
            except NotFound:
                pass
        if self.svc.registry is None:
            raise NotFound(f"No such image: {name}")

        async def progress(msg):
            if msg.get("status") and not msg.get("id"):
                await self.say(msg["status"] + "\n")

        await self.svc.registry.pull(name, auth=None, progress=progress)
        return images.resolve(name)[0]

    # ------------------------------------------------------------------ instructions
    def env_of(self, stage: Stage) -> dict:
        env = dict(e.split("=", 1) for e in stage.config.get("Env") or [] if "=" in e)
        return {**stage.args, **env}

    def x(self, stage: Stage, word: str) -> str:
        return parser.expand(word, self.env_of(stage), self.escape)

    async def dispatch(self, stage: Stage, inst) -> None:
        handler = getattr(self, "_" + inst.cmd.lower(), None)
        if handler is None:
            raise InvalidParameter(f"dockerfile parse error on line {inst.line}: unknown instruction: {inst.cmd}")
        await handler(stage, inst)

    async def _meta(self, stage: Stage, cfg: dict, text: str) -> None:
        stage.image_id = await self._nop(stage, cfg, text)
        stage.config = cfg

    async def _env(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        env = cfg.get("Env") or []
        for k, v in parser.parse_key_values(inst):
            v = self.x(stage, v)
            env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
        cfg["Env"] = env
        await self._meta(stage, cfg, "ENV " + " ".join(e for e in env if e not in (stage.config.get("Env") or [])))

    async def _arg(self, stage, inst):
        for k, v in parser.parse_key_values(inst):
            if k in self.opts.build_args:
                self.used_args.add(k)
                stage.args[k] = self.opts.build_args[k]
            elif k in self.global_args and v is None:
                stage.args[k] = self.global_args[k]
            else:
                stage.args[k] = self.x(stage, v) if v is not None else ""
        await self._meta(stage, copy.deepcopy(stage.config), "ARG " + inst.args)

    async def _label(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        labels = dict(cfg.get("Labels") or {})
        for k, v in parser.parse_key_values(inst):
            labels[self.x(stage, k)] = self.x(stage, v)
        cfg["Labels"] = labels
        await self._meta(stage, cfg, "LABEL " + inst.args)

    async def _maintainer(self, stage, inst):
        await self._meta(stage, copy.deepcopy(stage.config), "MAINTAINER " + inst.args)

    async def _expose(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        ports = dict(cfg.get("ExposedPorts") or {})
        for p in self.x(stage, inst.args).split():
            ports[p if "/" in p else f"{p}/tcp"] = {}
        cfg["ExposedPorts"] = ports
        await self._meta(stage, cfg, "EXPOSE " + " ".join(sorted(ports)))

    async def _workdir(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        path = self.x(stage, inst.args)
        cfg["WorkingDir"] = path if path.startswith("/") else os.path.join(cfg.get("WorkingDir") or "/", path)
        await self._meta(stage, cfg, "WORKDIR " + cfg["WorkingDir"])

    async def _user(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["User"] = self.x(stage, inst.args)
        await self._meta(stage, cfg, "USER " + cfg["User"])

    async def _stopsignal(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["StopSignal"] = self.x(stage, inst.args)
        await self._meta(stage, cfg, "STOPSIGNAL " + cfg["StopSignal"])

    async def _volume(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        vols = dict(cfg.get("Volumes") or {})
        for v in inst.json if inst.json is not None else inst.words:
            vols[self.x(stage, v)] = {}
        cfg["Volumes"] = vols
        await self._meta(stage, cfg, "VOLUME " + json.dumps(sorted(vols)))

    async def _shell(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Shell"] = inst.json
        stage.shell = list(inst.json)
        await self._meta(stage, cfg, "SHELL " + json.dumps(inst.json))

    def _command(self, stage, inst) -> list[str]:
        if inst.json is not None:
            return list(inst.json)
        return [*stage.shell, inst.args]

    async def _cmd(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Cmd"] = self._command(stage, inst)
        await self._meta(stage, cfg, "CMD " + json.dumps(cfg["Cmd"]))

    async def _entrypoint(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Entrypoint"] = self._command(stage, inst)
        cfg["Cmd"] = None  # an ENTRYPOINT resets the CMD inherited from the base image
        await self._meta(stage, cfg, "ENTRYPOINT " + json.dumps(cfg["Entrypoint"]))

    async def _healthcheck(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        words = inst.args.split(None, 1)
        if words and words[0].upper() == "NONE":
            cfg["Healthcheck"] = {"Test": ["NONE"]}
        else:
            rest = inst.args[len(words[0]):].strip() if words and words[0].upper() == "CMD" else inst.args
            try:
                exec_form = json.loads(rest)
            except ValueError:
                exec_form = None
            is_list = isinstance(exec_form, list) and all(isinstance(x, str) for x in exec_form)
            test = ["CMD", *exec_form] if is_list else ["CMD-SHELL", rest]
            hc = {"Test": test}
            for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                              ("start-interval", "StartInterval")):
                if flag in inst.flags:
                    try:
                        hc[key] = int(parse_duration(inst.flags[flag]) * 1e9)
                    except ValueError as err:
                        raise BuildError(f"Dockerfile line {inst.line}: {err}") from None
            if "retries" in inst.flags:
                hc["Retries"] = int(inst.flags["retries"])
            cfg["Healthcheck"] = hc
        await self._meta(stage, cfg, "HEALTHCHECK " + inst.args)

    async def _onbuild(self, stage, inst):
        trigger = inst.args.strip()
        if trigger.split(None, 1)[0].upper() in ("ONBUILD", "FROM", "MAINTAINER"):
            raise InvalidParameter(f"{trigger.split(None, 1)[0].upper()} isn't allowed as an ONBUILD trigger")
        cfg = copy.deepcopy(stage.config)
        cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [trigger]
        await self._meta(stage, cfg, "ONBUILD " + trigger)

    # ------------------------------------------------------------------ RUN
    async def _run(self, stage, inst):
        if not stage.image_id:
            raise BuildError("Please provide a source image with `from` prior to run")
        cmd = self._command(stage, inst)
        if inst.heredocs and inst.json is None:
            name, body = inst.heredocs[0]
            if inst.args.strip().startswith("<<"):  # RUN <<EOF: the body is the script
                cmd = [*stage.shell, body]
            else:  # RUN cat <<EOF > f: the shell reads the heredoc itself
                cmd = [*stage.shell, f"{inst.args}\n{body}{name}"]
        build_args = {k: v for k, v in stage.args.items()}
        created_by = ((f"|{len(build_args)} " + " ".join(f"{k}={v}" for k, v in build_args.items()) + " ")
                      if build_args else "") + " ".join(cmd)
        hit = self._cached(stage, stage.config, created_by)
        if hit:
            stage.image_id = await self._use_cache(hit)
            return
        run_config = copy.deepcopy(stage.config)
        run_config.update({"Image": stage.image_id, "Cmd": cmd, "Entrypoint": [],
                           "Env": (stage.config.get("Env") or []) + [f"{k}={v}" for k, v in build_args.items()],
                           "AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False,
                           "HostConfig": {"NetworkMode": self.opts.network_mode or "default"}})
        containers = self.svc.containers
        cid = (await containers.create(run_config))["Id"]
        await self.say(f" ---> Running in {cid[:12]}\n")
        try:
            code = await self._run_container(cid)
            if code != 0:
                raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
            image_id = await commit(self.svc, cid, pause=False, config_override=stage.config,
                                    created_by=created_by, source_date_epoch=self._sde())
        except BaseException:
            if self.opts.force_rm:  # like Docker, a failed step's container stays unless --force-rm
                await containers.remove(cid, force=True)
            raise
        if self.opts.rm:
            await containers.remove(cid, force=True)
            await self.say(f"Removing intermediate container {cid[:12]}\n")
        stage.image_id = image_id
        await self.say(f" ---> {image_id[7:19]}\n")

    async def _run_container(self, cid: str) -> int:
        """Start the step's container, streaming its output into the build output; returns the exit code."""
        containers = self.svc.containers
        done = asyncio.get_running_loop().create_future()

        async def connect(monitor):
            done.set_result(await monitor.attach(stdin=False, stdout=True, stderr=True))

        containers.add_pending_attach(cid, connect)
        waiter = asyncio.create_task(containers.wait(cid, "next-exit"))
        await containers.start(cid)
        attachment = await done
        while (item := await attachment.read()) is not None:
            await self.say(item[1].decode("utf-8", "replace"))
        await attachment.close()
        return (await waiter)["StatusCode"]

    def _sde(self) -> int | None:
        value = self.opts.build_args.get("SOURCE_DATE_EPOCH") or os.environ.get("SOURCE_DATE_EPOCH")
        return int(value) if value and str(value).isdigit() else None

    # ------------------------------------------------------------------ COPY / ADD
    async def _copy(self, stage, inst):
        await self._copy_or_add(stage, inst, add=False)

    async def _add(self, stage, inst):
        await self._copy_or_add(stage, inst, add=True)

    async def _copy_or_add(self, stage, inst, add: bool):
        words = [self.x(stage, w) for w in (inst.json if inst.json is not None else inst.words)]
        sources, dest = words[:-1], words[-1]
        if not dest.startswith("/"):
            dest = os.path.join(stage.config.get("WorkingDir") or "/", dest)
            if words[-1].endswith("/"):
                dest += "/"
        if not dest.endswith("/") and await self._is_dir_in_image(stage, dest):
            dest += "/"  # an existing directory in the image: copy into it, as Docker does
        ids = await self._chown_ids(stage, inst.flags.get("chown"))
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=self.svc.config.data_root / "tmp"))
        src_root, cleanup = await self._source_root(inst)
        try:
            digest = await asyncio.to_thread(self._stage_files, stage, inst, src_root, sources, dest, staging, add,
                                             ids)
            kind = "file" if len(sources) == 1 and not os.path.isdir(os.path.join(src_root, sources[0])) else "dir"
            created_by = f"/bin/sh -c #(nop) {inst.cmd} {kind}:{digest} in {dest} "
            hit = self._cached(stage, stage.config, created_by)
            if hit:
                stage.image_id = await self._use_cache(hit)
                return
            stage.image_id = await asyncio.to_thread(self._commit_layer, stage, staging, created_by)
            await self.say(f" ---> {stage.image_id[7:19]}\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if cleanup:
                await cleanup()

    async def _mounted_image(self, image_id: str):
        """A mounted view of an image's filesystem (a container that is never started) and its cleanup."""
        containers = self.svc.containers
        cid = (await containers.create({"Image": image_id, "Cmd": ["true"], "Entrypoint": []}))["Id"]
        root = await containers._root(containers.get(cid))

        async def cleanup():
            await containers.remove(cid, force=True)

        return root, cleanup

    async def _is_dir_in_image(self, stage, path: str) -> bool:
        if not stage.image_id:
            return False
        root, cleanup = await self._mounted_image(stage.image_id)
        try:
            return os.path.isdir(resolve_in_root(root, path))
        finally:
            await cleanup()

    async def _source_root(self, inst):
        """Where COPY reads from: the context, or the rootfs of a stage or image named by --from."""
        src = inst.flags.get("from")
        if not src:
            return str(self.context), None
        by_name = {s.name.lower(): s for s in self.stages}
        image_id = by_name[src.lower()].image_id if src.lower() in by_name else await self._base_image(src)
        return await self._mounted_image(image_id)

    def _stage_files(self, stage, inst, src_root, sources, dest, staging: Path, add: bool, ids) -> str:
        """Put the sources where they go under `staging`; returns the content hash that keys the cache."""
        h = hashlib.sha256()
        uid, gid = ids
        chmod = int(inst.flags["chmod"], 8) if inst.flags.get("chmod") else None
        matches = []
        for pattern in sources:
            if add and pattern.startswith(("http://", "https://")):
                matches.append(self._fetch(pattern, staging, inst, h))
                continue
            found = self._glob(src_root, pattern)
            if not found:
                raise BuildError(f"COPY failed: file not found in build context or excluded by .dockerignore: "
                                 f"stat {pattern}: file does not exist")
            matches.extend(found)
        if len(matches) > 1 and not dest.endswith("/"):
            raise BuildError("When using COPY with more than one source file, the destination must be a directory "
                             "and end with a /")
        target_root = staging / "root"
        target_root.mkdir()
        for m in matches:
            if isinstance(m, tuple):  # a downloaded file
                name, path = m
                out = target_root / (dest.lstrip("/") + name if dest.endswith("/") else dest.lstrip("/"))
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, out)
                continue
            rel = os.path.relpath(m, src_root)
            if os.path.isdir(m) and not os.path.islink(m):
                out = target_root / dest.lstrip("/")
                self._copy_tree(m, out, src_root, h)
            elif add and tarfile.is_tarfile(m):
                out = target_root / dest.lstrip("/")
                out.mkdir(parents=True, exist_ok=True)
                h.update(open(m, "rb").read())
                with open(m, "rb") as f:
                    apply_layer(f, str(out), mode="vfs")
            else:
                out = target_root / (dest.lstrip("/") + os.path.basename(m) if dest.endswith("/") or
                                     (len(matches) > 1) else dest.lstrip("/"))
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(m, out, follow_symlinks=False)
                h.update(rel.encode() + b"\0" + _file_digest(m))
        for dirpath, dirnames, filenames in os.walk(target_root):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                os.lchown(p, uid, gid)
                if chmod is not None and not os.path.islink(p):
                    os.chmod(p, chmod)
        if (uid, gid) != (0, 0) or chmod is not None:
            h.update(f"{uid}:{gid}:{chmod}".encode())
        return h.hexdigest()

    async def _chown_ids(self, stage, chown: str | None) -> tuple[int, int]:
        """--chown=user[:group], names looked up in the stage's /etc/passwd and /etc/group like Docker's
        builder; without a group the user part is used for both."""
        if not chown:
            return 0, 0
        parts = chown.split(":")
        if len(parts) > 2:
            raise BuildError(f"invalid chown string format: {chown}")
        user, group = parts[0], parts[-1]
        if user.isdigit() and group.isdigit():
            return int(user), int(group)
        root, cleanup = await self._mounted_image(stage.image_id) if stage.image_id else ("/nonexistent", None)
        try:
            return _lookup_id(root, "passwd", user), _lookup_id(root, "group", group)
        finally:
            if cleanup:
                await cleanup()

    def _glob(self, root: str, pattern: str) -> list[str]:
        import glob

        if os.path.normpath(pattern).startswith("..") and root == str(self.context):
            raise BuildError(f"COPY failed: forbidden path outside the build context: {pattern} ()")

        full = resolve_in_root(root, pattern) if not any(c in pattern for c in "*?[") else os.path.join(root, pattern)
        hits = sorted(glob.glob(full)) if any(c in pattern for c in "*?[") else ([full] if os.path.lexists(full) else [])
        inside = [h for h in hits if os.path.realpath(h).startswith(os.path.realpath(root)) or os.path.islink(h)]
        if root == str(self.context):
            inside = [h for h in inside if not self.ignore.excluded(os.path.relpath(h, root))]
        if hits and not inside and root == str(self.context):
            raise BuildError(f"COPY failed: forbidden path outside the build context: {pattern}")
        return inside

    def _copy_tree(self, src: str, out: Path, src_root: str, h) -> None:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, src)
            target_dir = out / rel_dir if rel_dir != "." else out
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copystat(dirpath, target_dir)
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, name)
                rel = os.path.relpath(p, src_root)
                if src_root == str(self.context) and self.ignore.excluded(rel):
                    continue
                shutil.copy2(p, target_dir / name, follow_symlinks=False)
                h.update(rel.encode() + b"\0" + (_file_digest(p) if not os.path.islink(p) else os.readlink(p).encode()))

    def _fetch(self, url: str, staging: Path, inst, h) -> tuple[str, str]:
        path = staging / ("download-" + hashlib.sha256(url.encode()).hexdigest()[:12])
        with open(path, "wb") as f:
            try:
                download(url, f, timeout=60)
            except InvalidParameter as err:
                raise BuildError(str(err)) from None
        data = path.read_bytes()
        want = inst.flags.get("checksum")
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if want and want != got:
            raise BuildError(f"checksum mismatch for {url}: expected {want}, got {got}")
        h.update(url.encode() + data)
        name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
        return name, str(path)

    def _commit_layer(self, stage, staging: Path, created_by: str) -> str:
        """A layer made of the staged files on top of the stage's image; returns the new image ID."""
        images = self.svc.images
        tar_path = staging / "layer.tar"
        with open(tar_path, "wb") as f:
            write_dir_tar(str(staging / "root"), f, mode="plain", source_date_epoch=self._sde() or 0)
        base = images.get(stage.image_id).config if stage.image_id else _scratch_config()
        parent_chain = images.get(stage.image_id).top_chain if stage.image_id else None
        with open(tar_path, "rb") as f:
            layer = self.svc.layers.register(f, parent_chain)
        return self._new_image(stage, base, stage.config, created_by, layer.diff_id)

    # ------------------------------------------------------------------ images and cache
    def _new_image(self, stage, base: dict, config: dict, created_by: str, diff_id: str | None) -> str:
        now = now_rfc3339()
        history = list(base.get("history") or [])
        entry = {"created": now, "created_by": created_by}
        if diff_id is None:
            entry["empty_layer"] = True
        history.append(entry)
        diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or []) + ([diff_id] if diff_id else [])
        cfg = {"architecture": base.get("architecture") or _arch(), "os": "linux", "config": config, "created": now,
               "docker_version": "dockyard", "history": history, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        return self.svc.images.add_image(canonical_json(cfg), parent=stage.image_id)

    async def _nop(self, stage, cfg: dict, text: str) -> str:
        created_by = f"/bin/sh -c #(nop)  {text}"
        hit = self._cached(stage, cfg, created_by)
        if hit:
            return await self._use_cache(hit)
        base = self.svc.images.get(stage.image_id).config if stage.image_id else _scratch_config()
        # Like the classic builder, a metadata step commits a container that never runs (none for scratch).
        containers = self.svc.containers
        cid = None
        if stage.image_id:
            cid = (await containers.create({"Image": stage.image_id, "Cmd": [*stage.shell, f"#(nop) {text}"],
                                            "Entrypoint": []}))["Id"]
            await self.say(f" ---> Running in {cid[:12]}\n")
        image_id = self._new_image(stage, base, cfg, created_by, None)
        if cid and self.opts.rm:
            await containers.remove(cid, force=True)
            await self.say(f"Removing intermediate container {cid[:12]}\n")
        await self.say(f" ---> {image_id[7:19]}\n")
        return image_id

    async def _use_cache(self, image_id: str) -> str:
        await self.say(f" ---> Using cache\n ---> {image_id[7:19]}\n")
        return image_id

    def _cached(self, stage, cfg: dict, created_by: str) -> str | None:
        """The cached result of a step, or None. Without --cache-from: a child of the current image made by the
        same step with the same resulting config. With it, like Docker's classic builder, a local hit counts
        only inside a --cache-from image's ancestry, and those images' histories are cache too."""
        if self.opts.no_cache:
            return None
        images = self.svc.images
        parent = stage.image_id
        children = images.children_of(parent) if parent else [i.id for i in images.all_images() if not i.parent]
        local = None
        for child_id in children:
            child = images.get(child_id).config
            hist = child.get("history") or []
            if hist and hist[-1].get("created_by") == created_by and (child.get("config") or {}) == cfg:
                local = child_id
                break
        sources = self._cache_sources()
        if not sources or (local and any(local in self._ancestry(s) for s in sources)):
            return local
        return self._from_cache_sources(stage, cfg, created_by, sources)

    def _cache_sources(self) -> list[str]:
        if self._sources is None:
            self._sources = []
            for name in self.opts.cache_from:
                try:
                    self._sources.append(self.svc.images.resolve(name)[0])
                except NotFound:
                    pass  # Docker skips --cache-from images it does not have
        return self._sources

    def _ancestry(self, image_id: str) -> set[str]:
        seen = set()
        while image_id and image_id not in seen:
            seen.add(image_id)
            image_id = self.svc.images.get(image_id).parent
        return seen

    def _from_cache_sources(self, stage, cfg: dict, created_by: str, sources: list[str]) -> str | None:
        """A --cache-from image whose history continues the current image's with this step: that image itself
        when the step is its last, else an image restored from its history prefix and layers."""
        images = self.svc.images
        base = images.get(stage.image_id).config if stage.image_id else _scratch_config()
        hist, diffs = base.get("history") or [], (base.get("rootfs") or {}).get("diff_ids") or []
        n = len(hist)
        for source in sources:
            target = images.get(source).config
            t_hist, t_diffs = target.get("history") or [], (target.get("rootfs") or {}).get("diff_ids") or []
            if len(t_hist) <= n or t_hist[:n] != hist or t_diffs[:len(diffs)] != diffs:
                continue
            if t_hist[n].get("created_by") != created_by:
                continue
            if len(t_hist) == n + 1:
                return source
            layers = diffs + ([] if t_hist[n].get("empty_layer") else [t_diffs[len(diffs)]])
            restored = {"architecture": target.get("architecture") or _arch(), "os": target.get("os") or "linux",
                        "config": cfg, "created": t_hist[n].get("created"), "docker_version": "dockyard",
                        "history": t_hist[:n + 1], "rootfs": {"type": "layers", "diff_ids": layers}}
            return images.add_image(canonical_json(restored), parent=stage.image_id or "")
        return None


_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _scratch_config() -> dict:
    return {"architecture": _arch(), "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


def _arch() -> str:
    import platform
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _file_digest(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


def _familiar(name: str) -> str:
    from ..image import reference
    return reference.parse(name).familiar()


def _lookup_id(root: str, db: str, name: str) -> int:
    """A user (db="passwd") or group name's numeric ID in the image's /etc file; numbers pass through."""
    if name.isdigit():
        return int(name)
    kind, what = ("uid", "user") if db == "passwd" else ("gid", "group")
    try:
        lines = Path(resolve_in_root(root, f"/etc/{db}")).read_text().splitlines()
    except (OSError, ValueError):
        lines = []
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    raise BuildError(f"unable to convert uid/gid chown string to host mapping: can't find {kind} for {what} "
                     f"{name}: no such {what}: {name}")
