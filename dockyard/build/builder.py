"""The classic builder (what `DOCKER_BUILDKIT=0 docker build` talks to): each step is a real container or
layer on our own services, committed as an image whose parent is the previous step's; a step whose parent
and resulting config (and, for COPY/ADD, source content hash) match an existing child image is a cache hit.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from ..blocking import blocking, bulk
from ..signals import parse_signal
from ..errors import InvalidParameter, NotFound
from ..image.configjson import canonical_json
from ..image.layertar import write_dir_tar
from ..image.unpack import resolve_in_root
from ..timefmt import now_rfc3339
from ..units import parse_duration
from .. import gofmt
from . import chain, copier, parser
from .auth import auth_for_image
from .backend import BuildBackend
from .dockerignore import Matcher, read_patterns

DEFAULT_SHELL = ["/bin/sh", "-c"]
PROXY_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy"}
# Build args Docker knows without an ARG: no "not consumed" warning when given.
BUILTIN_ARGS = PROXY_ARGS | {"SOURCE_DATE_EPOCH"}
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
    registry_auth: dict = field(default_factory=dict)   # {registry: AuthConfig}, from X-Registry-Config
    run_host_config: dict = field(default_factory=dict)  # --add-host, --shm-size, -m, --cpu-*: for RUN steps


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
    cmd_set: bool = False    # a CMD earlier in this stage: ENTRYPOINT then keeps it
    maintainer: str = ""     # MAINTAINER: the Author of every image the stage commits from then on


class Builder:
    def __init__(self, backend: BuildBackend):
        self.backend = backend

    # ------------------------------------------------------------------ entry point
    async def build(self, context_dir: Path, opts: BuildOptions, emit: Emit) -> str:
        text = _read_dockerfile(context_dir, opts.dockerfile)
        dockerfile = parser.parse(text, opts.dockerfile)
        for w in dockerfile.warnings:
            await emit({"stream": f"[WARNING]: {w}\n"})
        ignore = Matcher(read_patterns(_read(context_dir / ".dockerignore")))
        run = _Run(self, context_dir, opts, emit, dockerfile, ignore)
        return await run.execute()


def _read_dockerfile(context_dir: Path, name: str) -> str:
    """The Dockerfile's text; an absolute name is inside the context, as dockerd scopes it. The default
    name falls back to a lowercase `dockerfile`, as moby's remotecontext does."""
    candidates = [name, name.lower()] if name == "Dockerfile" else [name]
    for candidate in candidates:
        try:
            return Path(resolve_in_root(str(context_dir), candidate)).read_text()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class _Run:
    """One build: the steps, their stages, the step counter and the output."""

    def __init__(self, builder: Builder, context: Path, opts: BuildOptions, emit: Emit, df, ignore: Matcher):
        self.b, self.be = builder, builder.backend
        self.context, self.opts, self.emit, self.df, self.ignore = context, opts, emit, df, ignore
        self.stages: list[Stage] = []
        self.global_args: dict = {}
        self.used_args: set = set()
        self.step = 0
        self.total = len(self._steps())
        self.escape = df.escape
        self._sources: list[str] | None = None  # --cache-from images, resolved on first use
        # what the children of the images this build just made take from them (build/chain.py): one entry per
        # stage's last image, so no step decodes its parent's config
        self._parents: dict[str, chain.Parent] = {}

    def _steps(self) -> list[parser.Instruction]:
        """Instructions up to the end of the target stage (all of them without --target), then one LABEL
        step per --label (sorted), as Docker's classic builder appends them to the last stage."""
        return self._target_instructions() + [
            parser.Instruction(cmd="LABEL", args=f"{k}={v}", line=0, original=f"LABEL {k}={v}", pairs=[(k, v)])
            for k, v in sorted(self.opts.labels.items())]

    def _target_instructions(self) -> list[parser.Instruction]:
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
        await self.emit({"stream": text})  # with -q the API layer holds it back (shown if the build fails)

    # ------------------------------------------------------------------ main loop
    async def execute(self) -> str:
        for inst in self._steps():
            self.step += 1
            await self.say(f"Step {self.step}/{self.total} : {inst.original}\n")
            parser.refuse_buildkit_only_flags(inst)
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
        unused = sorted(set(self.opts.build_args) - self.used_args - BUILTIN_ARGS)
        if unused:
            await self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        await self.emit({"aux": {"ID": final.image_id}})
        await self.say(f"Successfully built {final.image_id[7:19]}\n")
        for t in self.opts.tags:
            self.be.tag_image(final.image_id, t)
            await self.say(f"Successfully tagged {_familiar(t)}\n")
        return final.image_id

    def _global_arg(self, inst) -> None:
        for k, v in parser.parse_key_values(inst):
            if k in self.opts.build_args:
                self.used_args.add(k)
                self.global_args[k] = self.opts.build_args[k]
            else:  # a default may use the global ARGs declared before it
                self.global_args[k] = parser.expand(v, self.global_args, self.escape) if v is not None else None

    # ------------------------------------------------------------------ FROM
    async def _from(self, inst) -> None:
        words = inst.args.split()
        name = parser.expand(words[0], self.global_args, self.escape)
        if not name:
            raise BuildError(f"base name ({words[0]}) should not be blank")
        stage_name = words[2] if len(words) == 3 else ""  # FROM finds stages by name only, as moby's
        base = self._stage_named(name)
        if base is not None:
            stage = Stage(stage_name, base.image_id, copy.deepcopy(base.config))
        elif name == "scratch":
            stage = Stage(stage_name, "", {})
        else:
            image_id = await self._base_image(name)
            cfg = copy.deepcopy(self.be.get_image(image_id).config.get("config") or {})
            stage = Stage(stage_name, image_id, cfg)
        _set_default_path(stage.config)
        stage.shell = list(stage.config.get("Shell") or DEFAULT_SHELL)  # a base image's SHELL carries over
        self.stages.append(stage)
        if stage.image_id:
            await self.say(f" ---> {stage.image_id[7:19]}\n")
        triggers = stage.config.pop("OnBuild", None) or []
        if triggers:
            await self.say(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        for trigger in triggers:
            trig = parser.parse("FROM scratch\n" + trigger).instructions[1]
            await self.dispatch(stage, trig)

    async def _base_image(self, name: str) -> str:
        if not self.opts.pull:
            try:
                return self.be.resolve_image(name)
            except NotFound:
                pass

        async def progress(msg):
            if msg.get("status") and not msg.get("id"):
                await self.say(msg["status"] + "\n")

        await self.be.pull(name, auth_for_image(name, self.opts.registry_auth), progress)
        return self.be.resolve_image(name)

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
        await self._meta(stage, copy.deepcopy(stage.config), "ARG " + " ".join(
            k if v is None else f"{k}={self.x(stage, v)}" for k, v in parser.parse_key_values(inst)))

    async def _label(self, stage, inst):
        if inst.pairs is not None:  # a --label option: taken literally
            pairs = inst.pairs
        else:
            pairs = [(self.x(stage, k), self.x(stage, v)) for k, v in parser.parse_key_values(inst)]
        cfg = copy.deepcopy(stage.config)
        cfg["Labels"] = {**(cfg.get("Labels") or {}), **dict(pairs)}
        await self._meta(stage, cfg, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs))

    async def _maintainer(self, stage, inst):
        stage.maintainer = inst.args
        await self._meta(stage, copy.deepcopy(stage.config), "MAINTAINER " + inst.args)

    async def _expose(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        words = self.x(stage, " ".join(sorted(inst.args.split()))).split()  # sorted as Docker's parser does
        ports = dict(cfg.get("ExposedPorts") or {})
        for word in words:
            try:
                ports.update({p: {} for p in expand_port_spec(word)})
            except ValueError as err:
                raise BuildError(str(err)) from None
        cfg["ExposedPorts"] = ports
        await self._meta(stage, cfg, "EXPOSE " + " ".join(words))

    async def _workdir(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        path = os.path.join("/", cfg.get("WorkingDir") or "/", self.x(stage, inst.args))
        cfg["WorkingDir"] = "/" + os.path.normpath(path).lstrip("/")  # cleaned, as Go's filepath.Join/Clean
        stage.image_id = await self._nop(stage, cfg, "WORKDIR " + cfg["WorkingDir"], workdir=cfg["WorkingDir"])
        stage.config = cfg

    async def _user(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["User"] = self.x(stage, inst.args)
        await self._meta(stage, cfg, "USER " + cfg["User"])

    async def _stopsignal(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["StopSignal"] = self.x(stage, inst.args)
        try:
            parse_signal(cfg["StopSignal"])
        except InvalidParameter:
            raise BuildError(f"invalid signal: {cfg['StopSignal']}") from None  # moby/sys/signal's words
        await self._meta(stage, cfg, "STOPSIGNAL " + cfg["StopSignal"])

    async def _volume(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        added = [self.x(stage, v) for v in (inst.json if inst.json is not None else inst.words)]
        cfg["Volumes"] = {**(cfg.get("Volumes") or {}), **{v: {} for v in added}}
        await self._meta(stage, cfg, "VOLUME " + gofmt.plain_list(added))

    async def _shell(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Shell"] = inst.json
        stage.shell = list(inst.json)
        await self._meta(stage, cfg, "SHELL " + gofmt.plain_list(inst.json))

    def _command(self, stage, inst) -> list[str]:
        if inst.json is not None:
            return list(inst.json)
        return [*stage.shell, inst.args]

    async def _cmd(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Cmd"] = self._command(stage, inst)
        await self._meta(stage, cfg, "CMD " + gofmt.quoted_list(cfg["Cmd"]))
        if cfg["Cmd"]:
            stage.cmd_set = True

    async def _entrypoint(self, stage, inst):
        cfg = copy.deepcopy(stage.config)
        cfg["Entrypoint"] = self._command(stage, inst)
        if not stage.cmd_set:  # the CMD inherited from the base image goes; one set in this stage stays
            cfg["Cmd"] = None
        await self._meta(stage, cfg, "ENTRYPOINT " + gofmt.quoted_list(cfg["Entrypoint"]))

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
        old = (stage.config.get("Healthcheck") or {}).get("Test") or []
        if old and old[0] != "NONE":
            await self.say(f"Note: overriding previous HEALTHCHECK: {gofmt.plain_list(old)}\n")
        await self._meta(stage, cfg, "HEALTHCHECK " + gofmt.healthcheck(cfg["Healthcheck"]))

    async def _onbuild(self, stage, inst):
        trigger = inst.args.strip()  # the parser refused ONBUILD ONBUILD, FROM and MAINTAINER triggers
        cfg = copy.deepcopy(stage.config)
        cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [trigger]
        await self._meta(stage, cfg, "ONBUILD " + trigger)

    # ------------------------------------------------------------------ RUN
    async def _run(self, stage, inst):
        if not stage.image_id:
            raise BuildError("Please provide a source image with `from` prior to run")
        cmd = self._run_command(stage, inst)
        declared, proxies = self._run_args(stage)
        created_by = ((f"|{len(declared)} " + " ".join(f"{k}={v}" for k, v in declared) + " ")
                      if declared else "") + " ".join(cmd)
        hit = await blocking(self._cached, stage, stage.config, created_by)
        if hit:
            stage.image_id = await self._use_cache(hit)
            return
        run_config = copy.deepcopy(stage.config)
        run_config.update({"Image": stage.image_id, "Cmd": cmd, "Entrypoint": [],
                           "Env": (stage.config.get("Env") or []) + [f"{k}={v}" for k, v in declared + proxies],
                           "AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False,
                           "HostConfig": {**self.opts.run_host_config,
                                          "NetworkMode": self.opts.network_mode or "default"}})
        cid = await self.be.create_container(run_config)
        await self.say(f" ---> Running in {cid[:12]}\n")
        try:
            code = await self._run_container(cid)
            if code != 0:
                raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
            image_id = await self.be.commit(cid, stage.config, stage.maintainer, created_by, self._sde())
        except BaseException:
            if self.opts.force_rm:  # like Docker, a failed step's container stays unless --force-rm
                await self.be.remove_container(cid)
            raise
        if self.opts.rm:
            await self.be.remove_container(cid)
            await self.say(f"Removing intermediate container {cid[:12]}\n")
        stage.image_id = image_id
        await self.say(f" ---> {image_id[7:19]}\n")

    def _run_command(self, stage, inst) -> list[str]:
        """The RUN step's argv. Heredocs: a lone `<<EOF` is the script itself; otherwise their bodies follow
        the command line, in order, for the shell to read as here-documents."""
        cmd = self._command(stage, inst)
        if not inst.heredocs or inst.json is not None:
            return cmd
        if parser.is_heredoc(inst.args):
            return [*stage.shell, inst.heredocs[0].body]
        bodies = "".join(f"{h.body}{h.name}\n" for h in inst.heredocs)
        return [*stage.shell, f"{inst.args}\n{bodies}"]

    def _run_args(self, stage) -> tuple[list, list]:
        """The build args a RUN step sees: the declared ones (sorted; part of the cache key and the history,
        as Docker's `|N k=v` prefix), and the predefined proxy args given with --build-arg but never declared
        (in the environment only). Names the config's ENV already sets are left to ENV."""
        env_keys = {e.split("=", 1)[0] for e in stage.config.get("Env") or []}
        declared = sorted((k, v if v is not None else "") for k, v in stage.args.items() if k not in env_keys)
        proxies = sorted((k, v) for k, v in self.opts.build_args.items()
                         if k in PROXY_ARGS and k not in stage.args and k not in env_keys and v is not None)
        return declared, proxies

    async def _run_container(self, cid: str) -> int:
        """Start the step's container, streaming its output into the build output; returns the exit code."""
        async def output(stream: int, data: bytes) -> None:
            text = data.decode("utf-8", "replace")
            # dockerd's stderr writer wraps each chunk in bright red (ESC[91m ... ESC[0m); stdout goes as is
            await self.say(f"\x1b[91m{text}\x1b[0m" if stream == 2 else text)

        return await self.be.run_container(cid, output)

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
        sources = words[:-1]
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=self.be.tmp_dir))
        cleanups = []  # undone whatever fails: a --from image that cannot be pulled, a missing source, ...
        try:
            image_root, cleanup_image = await self._mounted_image(stage.image_id) if stage.image_id else (None, None)
            cleanups.append(cleanup_image)
            src_root, cleanup_source = await self._source_root(inst)
            cleanups.append(cleanup_source)
            spec = copier.CopySpec(
                cmd=inst.cmd, src_root=src_root, sources=sources, dest=self._copy_dest(stage, words[-1], image_root),
                image_root=image_root, owner=_chown_ids(image_root, inst.flags.get("chown")),
                chmod=int(inst.flags["chmod"], 8) if inst.flags.get("chmod") else None,
                excluded=self.ignore.excluded, in_context=src_root == str(self.context),
                heredocs={h.name: self.x(stage, h.body) if h.expand else h.body for h in inst.heredocs},
                checksum=inst.flags.get("checksum"))
            try:
                digest = await bulk(copier.stage, spec, staging)
            except copier.CopyError as err:
                raise BuildError(str(err)) from None
            kind = "file" if len(sources) == 1 and not os.path.isdir(os.path.join(src_root, sources[0])) else "dir"
            created_by = f"{' '.join(stage.shell)} #(nop) {inst.cmd} {kind}:{digest} in {spec.dest} "
            hit = await blocking(self._cached, stage, stage.config, created_by)
            if hit:
                stage.image_id = await self._use_cache(hit)
                return
            stage.image_id = await bulk(self._commit_layer, stage, staging, created_by)
            await self.say(f" ---> {stage.image_id[7:19]}\n")
        finally:
            await bulk(shutil.rmtree, staging, ignore_errors=True)
            for cleanup in reversed(cleanups):
                if cleanup:
                    await cleanup()

    def _copy_dest(self, stage, dest: str, image_root: str | None) -> str:
        """The absolute destination, relative ones under WORKDIR; a directory the image has is copied into
        (as if written with a trailing /); symlinked directories on the way resolved in the image."""
        into_dir = dest.endswith("/")
        if not dest.startswith("/"):
            dest = os.path.join(stage.config.get("WorkingDir") or "/", dest)
        if image_root and os.path.isdir(resolve_in_root(image_root, dest)):
            into_dir = True
        dest = dest.rstrip("/") + "/" if into_dir else dest
        return copier.resolve_dest(image_root, dest)

    async def _mounted_image(self, image_id: str):
        """A mounted view of an image's filesystem (a container that is never started) and its cleanup."""
        cid = await self.be.create_container({"Image": image_id, "Cmd": ["true"], "Entrypoint": []})
        root = await self.be.container_root(cid)

        async def cleanup():
            await self.be.remove_container(cid)

        return root, cleanup

    async def _source_root(self, inst):
        """Where COPY reads from: the context, or the rootfs of a stage or image named by --from."""
        src = inst.flags.get("from")
        if not src:
            return str(self.context), None
        stage = self._stage_for_copy(src)
        return await self._mounted_image(stage.image_id if stage else await self._base_image(src))

    def _stage_named(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name and s.name.lower() == name.lower()), None)

    def _stage_for_copy(self, ref: str) -> Stage | None:
        """COPY --from's stage: a number is always a stage index (named stages have one too), never an image
        ID prefix; otherwise a stage name, or None for an image (moby's stagesBuildResults.get)."""
        if not ref.isdigit():
            return self._stage_named(ref)
        index, done = int(ref), len(self.stages) - 1  # the last stage is the one being built
        if index >= done:
            reason = "refers to current build stage" if index == done else "index out of bounds"
            raise BuildError(f"invalid from flag value {ref}: {reason}")
        return self.stages[index]

    def _commit_layer(self, stage, staging: Path, created_by: str, config: dict | None = None) -> str:
        """A layer made of the staged files on top of the stage's image; returns the new image ID."""
        tar_path = staging / "layer.tar"
        with open(tar_path, "wb") as f:
            # Source mtimes are kept, as Docker's classic builder does; SOURCE_DATE_EPOCH clamps them.
            write_dir_tar(str(staging / "root"), f, mode="plain", source_date_epoch=self._sde())
        with open(tar_path, "rb") as f:
            diff_id = self.be.register_layer(f, self._parent(stage).top_chain)
        return self._new_image(stage, stage.config if config is None else config, created_by, diff_id)

    # ------------------------------------------------------------------ images and cache
    def _new_image(self, stage, config: dict, created_by: str, diff_id: str | None) -> str:
        """Commit the step's image on the stage's; called off the loop (a first step reads its parent)."""
        child = chain.child_config(self._parent(stage), config, now_rfc3339(), created_by, diff_id, stage.maintainer)
        image_id = self.be.add_image(child.data, parent=stage.image_id, parsed=child.summary)
        self._parents.pop(stage.image_id, None)
        self._parents[image_id] = child.parent
        # only the stages' current images: one a RUN or a cache hit moved on from is a megabyte for nothing
        current = {s.image_id for s in self.stages} | {image_id}
        for stale in self._parents.keys() - current:
            del self._parents[stale]
        return image_id

    def _parent(self, stage) -> chain.Parent:
        """What the stage's next image takes from its current one: kept from the step that made it, else read
        from its config (a base image, a cache hit)."""
        if not stage.image_id:
            return chain.SCRATCH
        parent = self._parents.get(stage.image_id)
        return parent or chain.Parent.of_config(self.be.get_image(stage.image_id).config)

    async def _nop(self, stage, cfg: dict, text: str, workdir: str | None = None) -> str:
        """A metadata step's image. WORKDIR also creates its directory, in a layer of its own, as dockerd does
        (its history text has one space after #(nop), dockerd's other steps two)."""
        created_by = f"{' '.join(stage.shell)} #(nop){' ' if workdir else '  '}{text}"  # in the stage's SHELL
        hit = await blocking(self._cached, stage, cfg, created_by)
        if hit:
            return await self._use_cache(hit)
        # Like the classic builder, a metadata step commits a container that never runs (none for scratch).
        cid = None
        if stage.image_id:
            cid = await self.be.create_container({"Image": stage.image_id, "Cmd": [*stage.shell, f"#(nop) {text}"],
                                                  "Entrypoint": []})
            await self.say(f" ---> Running in {cid[:12]}\n")
        if workdir:
            image_id = await self._workdir_image(stage, cid, cfg, created_by, workdir)
        else:
            image_id = await blocking(self._new_image, stage, cfg, created_by, None)
        if cid and self.opts.rm:
            await self.be.remove_container(cid)
            await self.say(f"Removing intermediate container {cid[:12]}\n")
        await self.say(f" ---> {image_id[7:19]}\n")
        return image_id

    async def _workdir_image(self, stage, cid: str | None, cfg: dict, created_by: str, workdir: str) -> str:
        """The WORKDIR step's image: a layer with the directory when the image lacks it, else an empty layer."""
        root = await self.be.container_root(cid) if cid else None
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=self.be.tmp_dir))
        try:
            if not await bulk(copier.stage_directory, root, workdir, staging):
                return await blocking(self._new_image, stage, cfg, created_by, None)
            return await bulk(self._commit_layer, stage, staging, created_by, cfg)
        finally:
            await bulk(shutil.rmtree, staging, ignore_errors=True)

    async def _use_cache(self, image_id: str) -> str:
        await self.say(f" ---> Using cache\n ---> {image_id[7:19]}\n")
        return image_id

    def _cached(self, stage, cfg: dict, created_by: str) -> str | None:
        """The cached result of a step, or None. Without --cache-from: a child of the current image made by the
        same step with the same resulting config. With it, like Docker's classic builder, a local hit counts
        only inside a --cache-from image's ancestry, and those images' histories are cache too."""
        if self.opts.no_cache:
            return None
        local = None
        for child_id in self.be.image_children(stage.image_id):
            child = self.be.get_image(child_id).config
            hist = child.get("history") or []
            if hist and hist[-1].get("created_by") == created_by and (child.get("config") or {}) == cfg:
                local = child_id
                break
        if not self.opts.cache_from:
            return local
        # Given --cache-from, only those images are cache: none of them found means no hits at all.
        sources = self._cache_sources()
        if local and any(local in self._ancestry(s) for s in sources):
            return local
        return self._from_cache_sources(stage, cfg, created_by, sources)

    def _cache_sources(self) -> list[str]:
        if self._sources is None:
            self._sources = []
            for name in self.opts.cache_from:
                try:
                    self._sources.append(self.be.resolve_image(name))
                except NotFound:
                    pass  # Docker skips --cache-from images it does not have
        return self._sources

    def _ancestry(self, image_id: str) -> set[str]:
        seen = set()
        while image_id and image_id not in seen:
            seen.add(image_id)
            image_id = self.be.get_image(image_id).parent
        return seen

    def _from_cache_sources(self, stage, cfg: dict, created_by: str, sources: list[str]) -> str | None:
        """A --cache-from image whose history continues the current image's with this step: that image itself
        when the step is its last, else an image restored from its history prefix and layers."""
        base = self.be.get_image(stage.image_id).config if stage.image_id else _scratch_config()
        hist, diffs = base.get("history") or [], (base.get("rootfs") or {}).get("diff_ids") or []
        n = len(hist)
        for source in sources:
            target = self.be.get_image(source).config
            t_hist, t_diffs = target.get("history") or [], (target.get("rootfs") or {}).get("diff_ids") or []
            if len(t_hist) <= n or t_hist[:n] != hist or t_diffs[:len(diffs)] != diffs:
                continue
            if t_hist[n].get("created_by") != created_by:
                continue
            if len(t_hist) == n + 1:
                return source
            layers = diffs + ([] if t_hist[n].get("empty_layer") else [t_diffs[len(diffs)]])
            restored = {"architecture": target.get("architecture") or chain.arch(), "os": target.get("os") or "linux",
                        "config": cfg, "created": t_hist[n].get("created"), "docker_version": "dockyard",
                        "history": t_hist[:n + 1], "rootfs": {"type": "layers", "diff_ids": layers}}
            return self.be.add_image(canonical_json(restored), parent=stage.image_id or "")
        return None


_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _set_default_path(config: dict) -> None:
    """moby's setDefaultPath: a stage whose base sets no PATH gets Linux's default one, kept in its images."""
    env = config.get("Env") or []
    if not any(e.split("=", 1)[0] == "PATH" for e in env):
        config["Env"] = [*env, f"PATH={_DEFAULT_PATH}"]


def _scratch_config() -> dict:
    return {"architecture": chain.arch(), "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


def _familiar(name: str) -> str:
    from ..image import reference
    return reference.parse(name).familiar()


def _chown_ids(image_root: str | None, chown: str | None) -> tuple[int, int]:
    """--chown=user[:group], names looked up in the stage's /etc/passwd and /etc/group like Docker's
    builder; without a group the user part is used for both."""
    if not chown:
        return 0, 0
    parts = chown.split(":")
    if len(parts) > 2:
        raise BuildError(f"invalid chown string format: {chown}")
    user, group = parts[0], parts[-1]
    root = image_root or "/nonexistent"
    return _lookup_id(root, "passwd", user), _lookup_id(root, "group", group)


def expand_port_spec(spec: str) -> list[str]:
    """EXPOSE words as Docker's nat.ParsePortSpecs reads them: `80`, `53/udp`, a range `8000-8002/tcp`."""
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    first, _, last = port.partition("-")
    if not first.isdigit() or (last and not last.isdigit()) or proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"Invalid containerPort: {spec}" if proto in ("tcp", "udp", "sctp") else
                         f"Invalid proto: {proto}")
    start, end = int(first), int(last or first)
    if end < start:
        raise ValueError(f"Invalid range specified for the Port: {spec}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


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
