"""An audit of `docker build` (DOCKER_BUILDKIT=0), `docker history` and `docker commit` against what dockerd's
classic builder shows: each test drives the real docker CLI against a real daemon and asserts what a user
reads (messages, exit codes, history lines, the image's filesystem)."""
from __future__ import annotations

import json

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


def test_quiet_build_that_fails_shows_its_steps_and_the_commands_output(daemon, tmp_path):
    """-q holds the output back; when the build fails dockerd sends it all, so the failing command's own
    output is there to explain the error (the CLI prints it to stderr)."""
    ctx = write(tmp_path / "q", {"Dockerfile": "FROM busybox\nRUN echo why-it-failed; exit 3\n"})
    p = build(daemon, ctx, "-q")
    assert p.returncode == 3
    assert p.stdout == ""
    assert "Step 2/2 : RUN echo why-it-failed; exit 3" in p.stderr
    assert "why-it-failed\n" in p.stderr
    assert "The command '/bin/sh -c echo why-it-failed; exit 3' returned a non-zero code: 3" in p.stderr
    daemon.docker("container", "prune", "-f")
