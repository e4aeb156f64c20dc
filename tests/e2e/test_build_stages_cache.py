"""Issue 14, builds: stage indexes, --cache-from as the only cache, RUN stderr in the stream, the default PATH
and .Parent of built images, a Dockerfile by absolute path. Driven by the docker CLI and docker-py."""
from __future__ import annotations

import io
import os

import docker
import pytest

from .test_build import image_id, write


@pytest.fixture
def api(daemon):
    client = docker.APIClient(base_url=daemon.host, version="auto")
    yield client
    client.close()


def test_copy_from_index_of_a_named_stage_never_means_an_image(daemon, tmp_path):
    # Images named `0`, `1` and `7` exist: before the fix `COPY --from=N` copied from them, not from stage N
    # (without them it would have tried to pull `N` from Docker Hub: the test must never reach out).
    for n in ("0", "1", "7"):
        daemon.docker("tag", "busybox", f"{n}:latest")
    try:
        ctx = write(tmp_path / "idx", {"Dockerfile": "FROM busybox AS s0\nRUN echo from-stage-0 > /hi\n"
                                                     "FROM busybox\nCOPY --from=0 /hi /hi\nCMD cat /hi\n"})
        daemon.docker("build", "-t", "stageidx:1", str(ctx))
        assert daemon.docker("run", "--rm", "stageidx:1").stdout == "from-stage-0\n"
        # the index of the stage being built, or past it, is an error in moby's words, never an image
        for index, reason in (("1", "refers to current build stage"), ("7", "index out of bounds")):
            bad = write(tmp_path / f"bad{index}", {
                "Dockerfile": f"FROM busybox AS s0\nRUN true\nFROM busybox\nCOPY --from={index} /hi /hi\n"})
            failed = daemon.docker("build", str(bad), check=False)
            assert failed.returncode == 1
            assert f"invalid from flag value {index}: {reason}" in failed.stderr
    finally:
        daemon.docker("rmi", "0:latest", "1:latest", "7:latest", "stageidx:1", check=False)


def test_cache_from_is_the_only_cache_when_given(daemon, api):
    """docker-py's test_build_with_cache_from: with cache_from, only those images (and their ancestry) are
    cache; a cache_from naming nothing that exists means no cache at all, though the local cache has it all."""
    script = io.BytesIO(b"FROM busybox\nENV FOO=bar\nRUN touch baz\nRUN touch bax\n")
    for _ in api.build(fileobj=script, tag="cachefrom-py:1", decode=True):
        pass

    def hits(**kw) -> int:
        return sum("Using cache" in c.get("stream", "") for c in api.build(fileobj=script, decode=True, **kw))

    try:
        assert hits(tag="cachefrom-py:2", cache_from=["cachefrom-py:1"]) == 3
        api.remove_image("cachefrom-py:2")
        assert hits(tag="cachefrom-py:2", cache_from=["nosuchtag"]) == 0
        assert hits(tag="cachefrom-py:3") == 3  # without cache_from the local cache serves every step
    finally:
        for tag in ("cachefrom-py:1", "cachefrom-py:2", "cachefrom-py:3"):
            daemon.docker("rmi", tag, check=False)


def test_run_stderr_streams_in_red_as_dockerd_writes_it(api):
    """docker-py's test_build_stderr_data: stderr chunks wrapped in ESC[91m ... ESC[0m, stdout as is."""
    script = io.BytesIO(b"FROM busybox\nRUN sh -c \">&2 echo 'Ancient Temple'; echo plain\"\n")
    lines = [c.get("stream") for c in api.build(fileobj=script, decode=True, nocache=True, rm=True)]
    assert "\x1b[91mAncient Temple\n\x1b[0m" in lines
    assert "plain\n" in lines


def test_base_without_path_gets_the_default_path_and_built_images_have_parents(daemon, tmp_path):
    exported = daemon.docker("create", "busybox").stdout.strip()
    tar = tmp_path / "rootfs.tar"
    daemon.docker("export", "-o", str(tar), exported)
    daemon.docker("rm", exported)
    daemon.docker("import", str(tar), "nopath:base")
    assert daemon.docker("image", "inspect", "-f", "{{json .Config.Env}}", "nopath:base").stdout.strip() == "null"
    ctx = write(tmp_path / "np", {"Dockerfile": "FROM nopath:base\nENV A=b\nRUN echo run > /run.txt\n"})
    try:
        daemon.docker("build", "-t", "nopath:built", str(ctx))
        env = daemon.docker("image", "inspect", "-f", "{{json .Config.Env}}", "nopath:built").stdout.strip()
        assert env == '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=b"]'
        # .Parent is the previous step's image, back to the base; `images -a` lists those intermediates
        built = image_id(daemon, "nopath:built")
        env_step = daemon.docker("image", "inspect", "-f", "{{.Parent}}", built).stdout.strip()
        assert env_step.startswith("sha256:")
        base = daemon.docker("image", "inspect", "-f", "{{.Parent}}", env_step).stdout.strip()
        assert base == image_id(daemon, "nopath:base")
        listed_all = daemon.docker("images", "-a", "--no-trunc", "-q").stdout.split()
        listed = daemon.docker("images", "--no-trunc", "-q").stdout.split()
        assert env_step in listed_all and env_step not in listed
    finally:
        daemon.docker("rmi", "nopath:built", "nopath:base", check=False)


def test_dockerfile_by_absolute_path_inside_the_context_and_lowercase_default(daemon, api, tmp_path):
    """docker-py's test_build_in_context_abs_dockerfile; and the default name found as `dockerfile`."""
    base = write(tmp_path / "abs", {"file.txt": "hello world",
                                    "custom.dockerfile": "FROM busybox\nCOPY . /src\nWORKDIR /src\n"})
    lines = list(api.build(path=str(base), dockerfile=os.path.join(base, "custom.dockerfile"), tag="absdf:1",
                           decode=True))
    assert "Successfully tagged" in lines[-1]["stream"]
    listing = daemon.docker("run", "--rm", "absdf:1", "ls", "-a").stdout.split()
    assert sorted(listing) == [".", "..", "custom.dockerfile", "file.txt"]
    lower = write(tmp_path / "lower", {"dockerfile": "FROM busybox\nLABEL found=lowercase\n"})
    # docker-py sends no `dockerfile` parameter here: the daemon's default name finds the lowercase file
    assert "Successfully tagged" in list(api.build(path=str(lower), tag="absdf:2", decode=True))[-1]["stream"]
    assert daemon.docker("image", "inspect", "-f", "{{.Config.Labels.found}}", "absdf:2").stdout.strip() == "lowercase"
    daemon.docker("rmi", "absdf:1", "absdf:2")
