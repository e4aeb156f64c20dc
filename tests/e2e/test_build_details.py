"""The classic builder's finer points, through the real docker CLI (DOCKER_BUILDKIT=0): what COPY does to the
directories it lands in, cache keys, CMD/ENTRYPOINT, MAINTAINER, proxy args, heredocs, flags Docker refuses,
registry auth for pulls, build prune, the docker build flags, and docker commit --change."""
from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import re
import tarfile

import pytest

from .test_build import image_id, write
from .test_own_registry import start_registry, write_users


def inspect(d, name) -> dict:
    return json.loads(d.docker("image", "inspect", name).stdout)[0]


def all_image_ids(d) -> set[str]:
    return set(d.docker("images", "-aq", "--no-trunc").stdout.split())


# ---------------------------------------------------------------------------------------------- COPY / ADD
def test_copy_keeps_existing_dirs_and_owns_only_what_it_copies(daemon, tmp_path):
    ctx = write(tmp_path / "parents", {
        "x": "data\n",
        "Dockerfile": "FROM busybox\n"
                      "COPY x /tmp/\n"
                      "COPY --chown=7:8 --chmod=600 x /tmp/owned\n"
                      "COPY --chown=7:8 x /created/deep/\n"
                      "USER nobody\n"
                      "RUN touch /tmp/by-nobody\n"
                      "CMD stat -c '%a %u:%g %n' /tmp /tmp/owned /created /created/deep /created/deep/x && "
                      "stat -c %Y /tmp/x\n"})
    os.chmod(ctx / "x", 0o644)
    os.utime(ctx / "x", (1_000_000_000, 1_000_000_000))
    daemon.docker("build", "-t", "parents:1", str(ctx))  # RUN touch as nobody needs /tmp to stay 1777
    out = daemon.docker("run", "--rm", "parents:1").stdout.splitlines()
    assert out == ["1777 0:0 /tmp", "600 7:8 /tmp/owned", "755 7:8 /created", "755 7:8 /created/deep",
                   "644 7:8 /created/deep/x",
                   "1000000000"]  # the source mtime, as Docker's classic builder keeps it
    daemon.docker("rmi", "parents:1")


def test_copy_cache_key_covers_mode_and_empty_directories(own_objects, daemon, tmp_path):
    ctx = write(tmp_path / "modes", {"app/run.sh": "echo run\n", "Dockerfile": "FROM busybox\nCOPY app /app/\n"})
    os.chmod(ctx / "app" / "run.sh", 0o644)
    first = daemon.docker("build", "-q", str(ctx)).stdout.strip()
    assert "Using cache" in daemon.docker("build", str(ctx)).stdout
    os.chmod(ctx / "app" / "run.sh", 0o755)
    out = daemon.docker("build", str(ctx)).stdout
    assert "Using cache" not in out
    second = daemon.docker("build", "-q", str(ctx)).stdout.strip()
    assert second != first
    (ctx / "app" / "empty").mkdir()
    out = daemon.docker("build", str(ctx)).stdout
    assert "Using cache" not in out


def test_wildcards_copy_from_an_image_and_compressed_archives(daemon, tmp_path):
    def archive(compress) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = b"packed\n"
            info = tarfile.TarInfo("pkg/file.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return compress(buf.getvalue())

    ctx = write(tmp_path / "wild", {
        "a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n",
        "p.tar.bz2": archive(bz2.compress), "p.tar.xz": archive(lzma.compress),
        "Dockerfile": "FROM busybox\nCOPY *.txt /w/\nCOPY --from=busybox /bin/busybox /from-image/\n"
                      "ADD p.tar.bz2 /bz/\nADD p.tar.xz /xz/\n"
                      "CMD ls /w && cat /bz/pkg/file.txt /xz/pkg/file.txt && /from-image/busybox true && echo ok\n"})
    daemon.docker("build", "-t", "wild:1", str(ctx))
    assert daemon.docker("run", "--rm", "wild:1").stdout.split() == ["a.txt", "b.txt", "packed", "packed", "ok"]
    daemon.docker("rmi", "wild:1")


def test_heredocs_in_run_and_copy(daemon, tmp_path):
    ctx = write(tmp_path / "heredoc", {"Dockerfile": (
        "FROM busybox\nARG WHO=world\n"
        "RUN <<EOF\necho script > /script\nEOF\n"
        "RUN <<ONE cat > /one && <<TWO cat > /two\nfirst\nONE\nsecond\nTWO\n"
        "COPY <<EOF /greeting.txt\nhello ${WHO}\nEOF\n"
        "COPY <<A <<'B' /docs/\nexpanded ${WHO}\nA\nliteral ${WHO}\nB\n"
        "CMD cat /script /one /two /greeting.txt /docs/A /docs/B\n")})
    daemon.docker("build", "-t", "heredoc:1", str(ctx))
    assert daemon.docker("run", "--rm", "heredoc:1").stdout.splitlines() == [
        "script", "first", "second", "hello world", "expanded world", "literal ${WHO}"]
    daemon.docker("rmi", "heredoc:1")


# ---------------------------------------------------------------------------------------------- metadata
def test_cmd_entrypoint_maintainer_expose_labels_onbuild_and_arg_expansion(daemon, tmp_path):
    parent = write(tmp_path / "p", {"Dockerfile": "FROM busybox\nCMD [\"from-parent\"]\n"
                                                  "ONBUILD RUN echo one > /one\nONBUILD RUN echo two > /two\n"})
    daemon.docker("build", "-t", "meta-parent:1", str(parent))
    ctx = write(tmp_path / "m", {"Dockerfile": (
        "ARG REPO=meta-parent\nARG IMAGE=${REPO}:1\n"       # a global ARG default using an earlier one
        "FROM ${IMAGE} AS reset\nENTRYPOINT [\"echo\"]\n"    # the inherited CMD is reset
        "FROM ${IMAGE}\nMAINTAINER Jane Doe <jane@example.com>\nARG INNER=inner\n"
        "ENV NESTED=${UNSET:-${INNER}-x}\nCMD [\"kept\"]\nENTRYPOINT [\"echo\"]\n"  # a CMD of this stage stays
        "EXPOSE 8000-8002 53/udp\nSTOPSIGNAL SIGINT\nVOLUME /data\n"
        "SHELL [\"/bin/sh\", \"-xc\"]\nRUN echo via-shell\n")})
    out = daemon.docker("build", "--target", "reset", "-t", "meta:reset", str(ctx)).stdout
    assert inspect(daemon, "meta:reset")["Config"]["Cmd"] is None
    out = daemon.docker("build", "--label", "b=2", "--label", "a=1", "-t", "meta:1", str(ctx)).stdout
    assert out.count("# Executing 2 build triggers\n") == 2  # once per stage built on the parent
    # SHELL ["/bin/sh", "-xc"] traces the RUN on stderr, which the builder colours write by write (as moby's): sh
    # may write the trace in pieces, each coloured on its own, so the text is checked as a terminal shows it
    assert "+ echo via-shell" in re.sub(r"\x1b\[\d+m", "", out)
    assert "Step 16/17 : LABEL a=1\n" in out and "Step 17/17 : LABEL b=2\n" in out  # one step per --label
    img = inspect(daemon, "meta:1")
    cfg = img["Config"]
    assert img["Author"] == "Jane Doe <jane@example.com>"
    assert cfg["Cmd"] == ["kept"] and cfg["Entrypoint"] == ["echo"]
    assert set(cfg["ExposedPorts"]) == {"8000/tcp", "8001/tcp", "8002/tcp", "53/udp"}
    assert cfg["StopSignal"] == "SIGINT" and cfg["Volumes"] == {"/data": {}}
    assert cfg["Labels"] == {"a": "1", "b": "2"} and "NESTED=inner-x" in cfg["Env"]
    assert daemon.docker("run", "--rm", "meta:1").stdout == "kept\n"
    assert daemon.docker("run", "--rm", "--entrypoint", "cat", "meta:1", "/one", "/two").stdout == "one\ntwo\n"
    daemon.docker("rmi", "meta:1", "meta:reset", "meta-parent:1")


def test_proxy_args_reach_run_but_not_the_history(daemon, tmp_path):
    ctx = write(tmp_path / "proxy", {"Dockerfile": "FROM busybox\nRUN env > /build-env\nCMD cat /build-env\n"})
    out = daemon.docker("build", "--no-cache", "--build-arg", "HTTP_PROXY=http://proxy.example:3128",
                        "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", "proxy:1", str(ctx)).stdout
    assert "were not consumed" not in out  # predefined and SOURCE_DATE_EPOCH args need no ARG
    assert "HTTP_PROXY=http://proxy.example:3128" in daemon.docker("run", "--rm", "proxy:1").stdout
    history = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "proxy:1").stdout
    assert "proxy.example" not in history
    assert "HTTP_PROXY" not in inspect(daemon, "proxy:1")["Config"]["Env"]
    daemon.docker("rmi", "proxy:1")


@pytest.mark.parametrize("instruction,message", [
    ("COPY --frm=x a /a", "dockerfile parse error on line 3: Unknown flag: frm"),
    ("COPY --chmod=u+x a /a", "invalid chmod parameter: 'u+x'"),
])
def test_flags_docker_refuses(daemon, tmp_path, instruction, message):
    ctx = write(tmp_path / "flags", {"a": "a\n", "Dockerfile": f"FROM busybox\nRUN echo ran\n{instruction}\n"})
    p = daemon.docker("build", str(ctx), check=False)
    assert p.returncode == 1 and message in p.stderr
    assert "Step 1/3" not in p.stdout  # a parse error: no step runs


def test_buildkit_only_flags_are_refused_at_their_step_and_link_is_ignored(daemon, tmp_path):
    ctx = write(tmp_path / "bk", {"a": "a\n", "Dockerfile": "FROM busybox\nRUN echo ran-before\n"
                                                            "RUN --mount=type=cache,target=/c true\n"})
    p = daemon.docker("build", "--no-cache", str(ctx), check=False)
    assert p.returncode == 1
    assert ("the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to "
            "build images with BuildKit enabled") in p.stderr
    assert "ran-before" in p.stdout and "Step 3/3 : RUN --mount=type=cache,target=/c true" in p.stdout
    ctx = write(tmp_path / "link", {"a": "linked\n", "Dockerfile": "FROM busybox\nCOPY --link a /a\n"})
    daemon.docker("build", "-t", "linked:1", str(ctx))
    assert daemon.docker("run", "--rm", "linked:1", "cat", "/a").stdout == "linked\n"
    daemon.docker("rmi", "linked:1")


# ---------------------------------------------------------------------------------------------- registry auth
def test_build_pulls_with_the_clis_credentials_and_pull_flag(daemon, tmp_path):
    users = write_users(tmp_path / "users.htpasswd")
    host, proc = start_registry(tmp_path, {"auth": {"htpasswd": {"realm": "dockyard", "path": users}},
                                           "access": {"default": {"public": False, "pull": ["alice"],
                                                                  "push": ["alice"]}}})
    env = {"DOCKER_CONFIG": str(tmp_path / "dockercfg")}
    repo = f"{host}/private/box:1"
    try:
        daemon.docker("login", host, "-u", "alice", "--password-stdin", input="alice-pw\n", env=env)
        daemon.docker("tag", "busybox", repo)
        daemon.docker("push", repo, env=env)
        daemon.docker("rmi", repo)
        # FROM and COPY --from an image only in the private registry: pulled with the X-Registry-Config login
        ctx = write(tmp_path / "auth", {"Dockerfile": f"FROM {repo}\nCOPY --from={repo} /bin/busybox /copied/\n"
                                                      "CMD /copied/busybox echo pulled\n"})
        daemon.docker("build", "-t", "authed:1", str(ctx), env=env)
        assert daemon.docker("run", "--rm", "authed:1").stdout == "pulled\n"
        daemon.dockyard("build", "--pull", "-t", "authed:2", str(ctx), env=env)  # our CLI sends the logins too
        anonymous = daemon.docker("build", "--pull", str(ctx), check=False)
        assert anonymous.returncode != 0
        # --pull fetches the registry's image even though a local image has that name
        daemon.docker("tag", "authed:1", repo)
        pulled = write(tmp_path / "pull", {"Dockerfile": f"FROM {repo}\nCMD ls /copied || echo no-copy\n"})
        daemon.docker("build", "-t", "local:1", str(pulled), env=env)
        assert daemon.docker("run", "--rm", "local:1").stdout == "busybox\n"
        daemon.docker("build", "--pull", "-t", "fresh:1", str(pulled), env=env)
        assert "no-copy" in daemon.docker("run", "--rm", "fresh:1").stdout
    finally:
        daemon.docker("rmi", "authed:1", "authed:2", "local:1", "fresh:1", repo, check=False)
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------------------------------------- build prune
def test_builder_prune_removes_dangling_build_images(fresh_daemon, tmp_path):
    daemon = fresh_daemon  # `builder prune -a` takes every build's cache: not on the shared daemon
    ctx = write(tmp_path / "prune", {"f": "one\n", "Dockerfile": "FROM busybox\nCOPY f /f\nRUN cat /f > /g\n"
                                                                 "LABEL stage=prune-test\n"})
    daemon.docker("build", "-t", "prune:1", str(ctx))
    old = image_id(daemon, "prune:1")
    (ctx / "f").write_text("two\n")
    daemon.docker("build", "-t", "prune:1", str(ctx))
    new = image_id(daemon, "prune:1")
    assert old in all_image_ids(daemon)
    kept = daemon.docker("builder", "prune", "-f", "--filter", "until=1h").stdout  # all of it is newer
    assert "Total reclaimed space: 0B" in kept and old in all_image_ids(daemon)
    out = daemon.docker("builder", "prune", "-f").stdout
    assert "Deleted build cache objects:" in out and old in out
    assert re.search(r"Total reclaimed space: [1-9][0-9.]*[kM]?B", out)
    ids = all_image_ids(daemon)
    assert old not in ids and new in ids
    assert "Using cache" in daemon.docker("build", "-t", "prune:1", str(ctx)).stdout
    # --all drops the step images below tagged ones too: the next build starts cold
    daemon.docker("builder", "prune", "-af")
    assert image_id(daemon, "prune:1") == new
    assert "Using cache" not in daemon.docker("build", "-t", "prune:1", str(ctx)).stdout
    daemon.docker("rmi", "prune:1")
    daemon.docker("image", "prune", "-f")


# ---------------------------------------------------------------------------------------------- docker build flags
def test_quiet_iidfile_tags_no_cache_and_missing_target(daemon, tmp_path):
    ctx = write(tmp_path / "flags", {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    quiet = daemon.docker("build", "-q", "--iidfile", str(tmp_path / "iid"), "-t", "many:1", "-t", "many:2",
                          str(ctx))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet.stdout)
    built = quiet.stdout.strip()
    assert (tmp_path / "iid").read_text().strip() == built
    assert image_id(daemon, "many:1") == image_id(daemon, "many:2") == built
    out = daemon.docker("build", "--no-cache", "-t", "many:3", str(ctx)).stdout
    assert "Using cache" not in out and " ---> Running in " in out and image_id(daemon, "many:3") != built
    missing = daemon.docker("build", "--target", "nope", str(ctx), check=False)
    assert missing.returncode == 1 and "failed to reach build target nope in Dockerfile" in missing.stderr
    daemon.docker("rmi", "many:1", "many:2", "many:3")


def test_network_none_and_dockerfile_outside_the_context(daemon, tmp_path):
    ctx = write(tmp_path / "ctx", {"hello": "outside-df\n"})
    df = write(tmp_path / "elsewhere", {"build.Dockerfile": "FROM busybox\nCOPY hello /hello\n"
                                                            "RUN cat /proc/net/dev\nCMD cat /hello\n"})
    out = daemon.docker("build", "--network", "none", "-f", str(df / "build.Dockerfile"), "-t", "outside:1",
                        str(ctx)).stdout
    assert "lo:" in out and "eth0" not in out
    assert daemon.docker("run", "--rm", "outside:1").stdout == "outside-df\n"
    daemon.dockyard("build", "-f", str(df / "build.Dockerfile"), "-t", "outside:2", str(ctx))
    assert daemon.docker("run", "--rm", "outside:2").stdout == "outside-df\n"
    daemon.docker("rmi", "outside:1", "outside:2")


def count_containers(d) -> int:
    return len(d.docker("ps", "-aq").stdout.split())


def test_rm_false_and_force_rm_decide_which_containers_stay(own_objects, daemon, tmp_path):
    ctx = write(tmp_path / "rm", {"Dockerfile": "FROM busybox\nRUN echo kept > /k\nENV X=1\n"})
    before = count_containers(daemon)
    daemon.docker("build", "--no-cache", "--rm=false", "-t", "rm:1", str(ctx))
    assert count_containers(daemon) == before + 2  # the RUN container and the ENV step's
    failing = write(tmp_path / "fail", {"Dockerfile": "FROM busybox\nRUN exit 4\n"})
    before = count_containers(daemon)
    assert daemon.docker("build", str(failing), check=False).returncode == 4
    assert count_containers(daemon) == before + 1  # a failed step's container stays by default
    assert daemon.docker("build", "--force-rm", str(failing), check=False).returncode == 4
    assert count_containers(daemon) == before + 1  # --force-rm removes it
    daemon.docker("rmi", "rm:1")


def test_source_date_epoch_gives_identical_layers(daemon, tmp_path):
    ctx = write(tmp_path / "sde", {"f": "same\n", "Dockerfile": "FROM busybox\nCOPY f /app/f\n"
                                                                "RUN mkdir -p /made/dir && echo out > /made/dir/x\n"
                                                                "RUN touch /app/touched\n"})
    args = ["build", "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=1700000000"]
    daemon.docker(*args, "-t", "sde:1", str(ctx))
    os.utime(ctx / "f", (1_800_000_000, 1_800_000_000))
    daemon.docker(*args, "-t", "sde:2", str(ctx))
    first, second = inspect(daemon, "sde:1"), inspect(daemon, "sde:2")
    assert first["RootFS"]["Layers"] == second["RootFS"]["Layers"]
    daemon.docker("rmi", "sde:1", "sde:2")


def test_changed_base_image_leaves_the_old_child_dangling(own_objects, daemon, tmp_path):
    base = write(tmp_path / "base", {"Dockerfile": "FROM busybox\nRUN echo 1 > /base\n"})
    daemon.docker("build", "-t", "base:1", str(base))
    child = write(tmp_path / "child", {"Dockerfile": "FROM base:1\nCMD cat /base\n"})
    daemon.docker("build", "-t", "child:1", str(child))
    old = image_id(daemon, "child:1")
    (base / "Dockerfile").write_text("FROM busybox\nRUN echo 2 > /base\n")
    daemon.docker("build", "-t", "base:1", str(base))
    out = daemon.docker("build", "-t", "child:1", str(child)).stdout
    assert "Using cache" not in out and image_id(daemon, "child:1") != old
    assert old in daemon.docker("images", "-q", "--no-trunc", "-f", "dangling=true").stdout.split()
    assert daemon.docker("run", "--rm", "child:1").stdout == "2\n"
    daemon.docker("rmi", "child:1", "base:1")


# ---------------------------------------------------------------------------------------------- docker commit
def test_commit_with_changes_and_without_pausing(daemon):
    daemon.docker("run", "-d", "--name", "commit-src", "busybox", "sh", "-c", "echo made > /made; sleep 300")
    try:
        # the file is there before the commit (the container's shell may not have run yet under load)
        daemon.docker("exec", "commit-src", "sh", "-c", "until [ -s /made ]; do sleep 0.05; done", timeout=60)
        image = daemon.docker("commit", "--pause=false", "-c", 'CMD ["cat", "/made"]', "-c", "ENV MODE=committed",
                              "-c", "LABEL origin=commit", "commit-src", "committed:1").stdout.strip()
        assert image.startswith("sha256:")
        state = json.loads(daemon.docker("inspect", "commit-src").stdout)[0]["State"]
        assert state["Running"] and not state["Paused"]
        cfg = inspect(daemon, "committed:1")["Config"]
        assert cfg["Cmd"] == ["cat", "/made"] and "MODE=committed" in cfg["Env"]
        assert cfg["Labels"] == {"origin": "commit"}
        assert daemon.docker("run", "--rm", "committed:1").stdout == "made\n"
    finally:
        daemon.docker("rm", "-f", "commit-src")
        daemon.docker("rmi", "committed:1", check=False)


def test_a_copy_whose_source_image_cannot_be_found_leaves_nothing_behind(daemon, tmp_path):
    """The stage's mounted image and the staging dir go even when --from names an image that is nowhere."""
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY --from=127.0.0.1:1/nowhere:1 /x /x\n"})
    containers = daemon.docker("ps", "-aq").stdout.split()
    before = set(os.listdir(daemon.data_root / "tmp"))  # the daemon is shared: others' work may be in flight
    p = daemon.docker("build", str(ctx), check=False)
    assert p.returncode == 1 and "127.0.0.1:1" in p.stderr
    left = set(os.listdir(daemon.data_root / "tmp")) - before
    assert not left, f"left in the daemon's tmp: {sorted(left)}"
    assert daemon.docker("ps", "-aq").stdout.split() == containers  # the never-started view container went too
