"""An audit of `docker build` (DOCKER_BUILDKIT=0), `docker history` and `docker commit` against what dockerd's
classic builder shows: each test drives the real docker CLI against a real daemon and asserts what a user
reads (messages, exit codes, history lines, the image's filesystem)."""
from __future__ import annotations

import json
import re

from .test_build import write


def build(d, ctx, *args, check=False):
    return d.docker("build", *args, str(ctx), check=check)


def history(d, image) -> list[str]:
    """CREATED BY of every row, newest first, untruncated."""
    return d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout.splitlines()


# ------------------------------------------------------------------------------------ errors and -q output
def test_an_error_before_any_step_is_an_error_response_from_the_daemon(daemon, tmp_path):
    """dockerd parses the Dockerfile and finds the --target before it writes anything: the API answers 400,
    which the CLI prints as 'Error response from daemon: ...'."""
    ctx = write(tmp_path / "parse", {"Dockerfile": "FROM busybox\nFORM busybox\n"})
    p = build(daemon, ctx)
    assert p.returncode == 1
    assert "Error response from daemon: dockerfile parse error on line 2: unknown instruction: FORM" in p.stderr
    assert "Step 1/" not in p.stdout
    ctx = write(tmp_path / "target", {"Dockerfile": "FROM busybox AS base\n"})
    p = build(daemon, ctx, "--target", "nope")
    assert p.returncode == 1
    assert "Error response from daemon: failed to reach build target nope in Dockerfile" in p.stderr


def test_quiet_build_that_fails_shows_its_steps_and_the_commands_output(own_objects, daemon, tmp_path):
    """-q holds the output back; when the build fails dockerd sends it all, so the failing command's own
    output is there to explain the error (the CLI prints it to stderr)."""
    ctx = write(tmp_path / "q", {"Dockerfile": "FROM busybox\nRUN echo why-it-failed; exit 3\n"})
    p = build(daemon, ctx, "-q")
    assert p.returncode == 3
    assert p.stdout == ""
    assert "Step 2/2 : RUN echo why-it-failed; exit 3" in p.stderr
    assert "why-it-failed\n" in p.stderr
    assert "The command '/bin/sh -c echo why-it-failed; exit 3' returned a non-zero code: 3" in p.stderr


# ------------------------------------------------------------------------------------ docker history texts
def test_history_shows_metadata_steps_in_dockerds_go_formats(daemon, tmp_path):
    """dockerd writes CMD/ENTRYPOINT with Go's %q (no commas), VOLUME/SHELL with %v, HEALTHCHECK as the
    %q of its config, EXPOSE sorted, ARG as key=value, and a #(nop) prefix in the stage's SHELL."""
    ctx = write(tmp_path / "hist", {"Dockerfile": (
        'FROM busybox\nARG V="a b" W\nEXPOSE 80 53/udp\nVOLUME /data /logs\n'
        "HEALTHCHECK --interval=5s --retries=3 CMD echo hi\nHEALTHCHECK NONE\n"
        'CMD ["nginx", "-g", "daemon off;"]\nSHELL ["/bin/sh", "-ec"]\nENTRYPOINT echo hi\n')})
    p = build(daemon, ctx, "-t", "audit-history:1", check=True)
    assert "Note: overriding previous HEALTHCHECK: [CMD-SHELL echo hi]\n" in p.stdout
    rows = history(daemon, "audit-history:1")[:8]
    assert rows == [
        '/bin/sh -ec #(nop)  ENTRYPOINT ["/bin/sh" "-ec" "echo hi"]',
        "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]",
        '/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]',
        '/bin/sh -c #(nop)  HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}',
        '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "0s" "0s" "0s" \'\\x03\'}',
        "/bin/sh -c #(nop)  VOLUME [/data /logs]",
        "/bin/sh -c #(nop)  EXPOSE 53/udp 80",
        "/bin/sh -c #(nop)  ARG V=a b W",
    ]
    daemon.docker("rmi", "audit-history:1")


def test_a_base_images_shell_runs_the_childs_steps(daemon, tmp_path):
    """SHELL is part of the image config: a child's RUN and #(nop) steps use it, as with dockerd."""
    base = write(tmp_path / "base", {"Dockerfile": 'FROM busybox\nSHELL ["/bin/sh", "-ec"]\n'})
    build(daemon, base, "-t", "audit-shell:1", check=True)
    child = write(tmp_path / "child", {"Dockerfile": "FROM audit-shell:1\nRUN echo flags=$-\nUSER nobody\n"})
    p = build(daemon, child, "-t", "audit-shell:2", check=True)
    assert re.search(r"^flags=[a-z]*e", p.stdout, re.M)  # sh -e: the base image's SHELL ran it
    assert history(daemon, "audit-shell:2")[:2] == ["/bin/sh -ec #(nop)  USER nobody", "/bin/sh -ec echo flags=$-"]
    daemon.docker("rmi", "audit-shell:2", "audit-shell:1")


# ------------------------------------------------------------------------------------ WORKDIR and layers
def test_workdir_creates_its_directory_in_the_image(daemon, tmp_path):
    """dockerd's WORKDIR mkdirs the (cleaned) path in a layer of its own: another stage can COPY --from it,
    and its history line has a single space after #(nop)."""
    ctx = write(tmp_path / "wd", {"Dockerfile": (
        "FROM busybox AS first\nWORKDIR /data/x/\nWORKDIR ../y\n"
        "FROM busybox\nCOPY --from=first /data /copied\nRUN ls /copied > /listing\nCMD cat /listing\n")})
    build(daemon, ctx, "-t", "audit-workdir:1", "--target", "first", check=True)
    assert daemon.docker("image", "inspect", "-f", "{{.Config.WorkingDir}}", "audit-workdir:1").stdout == "/data/y\n"
    assert history(daemon, "audit-workdir:1")[:2] == ["/bin/sh -c #(nop) WORKDIR /data/y",
                                                      "/bin/sh -c #(nop) WORKDIR /data/x"]
    made = daemon.docker("run", "--rm", "--entrypoint", "stat", "audit-workdir:1", "-c", "%a %U %n",
                         "/data/x", "/data/y").stdout
    assert made == "755 root /data/x\n755 root /data/y\n"
    build(daemon, ctx, "-t", "audit-workdir:2", check=True)
    assert daemon.docker("run", "--rm", "audit-workdir:2").stdout == "x\ny\n"
    daemon.docker("rmi", "audit-workdir:1", "audit-workdir:2")


def test_steps_and_commits_that_change_nothing_add_no_layer(daemon, tmp_path):
    """An unchanged filesystem commits an empty_layer history entry, not the empty tar as a layer (moby's
    layer.IsEmpty): WORKDIR on a directory the image has, a RUN that writes nothing, docker commit."""
    base_layers = json.loads(daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", "busybox").stdout)
    ctx = write(tmp_path / "empty", {"Dockerfile": "FROM busybox\nWORKDIR /tmp\nRUN true\n"})
    build(daemon, ctx, "-t", "audit-empty:1", check=True)
    layers = json.loads(daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", "audit-empty:1").stdout)
    assert layers == base_layers
    daemon.docker("create", "--name", "audit-unchanged", "busybox", "true")
    try:
        daemon.docker("commit", "audit-unchanged", "audit-empty:2")
    finally:
        daemon.docker("rm", "audit-unchanged")
    layers = json.loads(daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", "audit-empty:2").stdout)
    assert layers == base_layers
    daemon.docker("rmi", "audit-empty:1", "audit-empty:2")


# ------------------------------------------------------------------------------------ Dockerfile checks
def test_instructions_docker_refuses_fail_the_build_with_its_words(daemon, tmp_path):
    cases = [  # (Dockerfile, what stderr says, whether it is caught before any step)
        ("FROM busybox\nONBUILD ONBUILD RUN true\n",
         "Error response from daemon: dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` "
         "isn't allowed", True),
        ("FROM busybox AS 2nd\n", 'invalid name for build stage: "2nd", name can\'t start with a number', True),
        ("FROM busybox\nHEALTHCHECK wget -q localhost\n", 'Unknown type "WGET" in HEALTHCHECK (try CMD)', True),
        ('FROM busybox\nVOLUME ""\n', "VOLUME specified can not be an empty string", True),
        ("FROM busybox\nENV NAME=Ninja Era\n",
         "Syntax error - can't find = in \"Era\". Must be of the form: name=value", True),
        ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "invalid signal: SIGNOPE", False),
        ("ARG BASE\nFROM ${BASE}\n", "base name (${BASE}) should not be blank", False),
    ]
    for i, (dockerfile, message, before_any_step) in enumerate(cases):
        ctx = write(tmp_path / f"case{i}", {"Dockerfile": dockerfile})
        p = build(daemon, ctx)
        assert p.returncode == 1, dockerfile
        assert message in p.stderr, (dockerfile, p.stderr)
        assert ("Step 1/" in p.stdout) != before_any_step, dockerfile


# ------------------------------------------------------------------------------------ substitution, COPY
def test_required_variable_substitution_stops_the_build(daemon, tmp_path):
    """${VAR:?message} (Docker's shell lexer): the step fails with 'VAR: message' when VAR is unset."""
    ctx = write(tmp_path / "req", {"Dockerfile": "FROM busybox\nARG VERSION\nENV V=\"${VERSION:?set --build-arg}\"\n"})
    p = build(daemon, ctx)
    assert p.returncode == 1 and "VERSION: set --build-arg" in p.stderr
    p = build(daemon, ctx, "--build-arg", "VERSION=", check=False)
    assert p.returncode == 1 and "VERSION: set --build-arg" in p.stderr
    build(daemon, ctx, "--build-arg", "VERSION=1.2", "-t", "audit-required:1", check=True)
    env = json.loads(daemon.docker("image", "inspect", "-f", "{{json .Config.Env}}", "audit-required:1").stdout)
    assert "V=1.2" in env
    daemon.docker("rmi", "audit-required:1")


def test_copy_wildcards_that_match_nothing(daemon, tmp_path):
    """A wildcard with no match is fine beside a source that matches; when nothing at all matches, moby
    says 'no source files were specified'."""
    ctx = write(tmp_path / "wild", {"a.txt": "a\n", "Dockerfile": "FROM busybox\nCOPY a.txt *.md /docs/\n"})
    build(daemon, ctx, "-t", "audit-wild:1", check=True)
    assert daemon.docker("run", "--rm", "audit-wild:1", "ls", "/docs").stdout == "a.txt\n"
    daemon.docker("rmi", "audit-wild:1")
    ctx = write(tmp_path / "none", {"Dockerfile": "FROM busybox\nCOPY *.md /docs/\n"})
    p = build(daemon, ctx)
    assert p.returncode == 1 and "COPY failed: no source files were specified" in p.stderr
