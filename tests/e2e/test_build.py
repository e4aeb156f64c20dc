"""Issue 4 end to end: the notes' Dockerfiles (FROM busybox) built by the real docker CLI (DOCKER_BUILDKIT=0)
and by `dockyard build`, the layer cache and dangling images asserted by image IDs."""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile

import pytest


def write(d, files: dict):
    for name, text in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return d


def image_id(d, name):
    return d.docker("image", "inspect", "-f", "{{.Id}}", name).stdout.strip()


HELLO = {"helloworld": '#!/bin/sh\necho "Hello, World!"\n',
         "Dockerfile": "FROM busybox\nCOPY helloworld /usr/local/bin\nRUN chmod +x /usr/local/bin/helloworld\n"
                       'CMD ["helloworld"]\n'}


def test_helloworld_build_output_cache_and_dangling(own_objects, daemon, tmp_path):
    ctx = write(tmp_path / "hello", HELLO)
    out = daemon.docker("image", "build", "-t", "helloworld:latest", str(ctx)).stdout
    assert "Step 1/4 : FROM busybox" in out and "Step 2/4 : COPY helloworld /usr/local/bin" in out
    assert re.search(r" ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n", out)
    # a metadata step commits a container too, as the classic builder prints it
    assert re.search(r'Step 4/4 : CMD \["helloworld"\]\n ---> Running in ([0-9a-f]{12})\n'
                     r'Removing intermediate container \1\n ---> [0-9a-f]{12}\n', out)
    first = image_id(daemon, "helloworld:latest")
    assert f"Successfully built {first[7:19]}" in out and "Successfully tagged helloworld:latest" in out
    assert daemon.docker("run", "--rm", "helloworld").stdout == "Hello, World!\n"
    images_before = daemon.docker("images", "-aq", "--no-trunc").stdout
    again = daemon.docker("image", "build", "-t", "helloworld:latest", str(ctx)).stdout
    assert again.count(" ---> Using cache") == 3
    assert image_id(daemon, "helloworld:latest") == first
    assert daemon.docker("images", "-aq", "--no-trunc").stdout == images_before  # nothing new was created
    # a changed file: a new image takes the tag, the old one is left <none>
    (ctx / "helloworld").write_text('#!/bin/sh\necho "Hello again"\n')
    daemon.docker("image", "build", "-t", "helloworld:latest", str(ctx))
    second = image_id(daemon, "helloworld:latest")
    assert second != first
    dangling = daemon.docker("images", "-f", "dangling=true", "-q", "--no-trunc").stdout.split()
    assert first in dangling
    assert daemon.docker("run", "--rm", "helloworld").stdout == "Hello again\n"
    hist = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "helloworld").stdout
    assert '#(nop)  CMD ["helloworld"]' in hist and "chmod +x /usr/local/bin/helloworld" in hist
    daemon.docker("rmi", "helloworld:latest")


def test_echo_server_env_expose_workdir(daemon, tmp_path):
    ctx = write(tmp_path / "echo", {
        "server.sh": "#!/bin/sh\necho serving on $PORT from $(pwd)\n",
        "Dockerfile": "FROM busybox\nENV PORT=8080 GREETING=\"hi there\"\nEXPOSE 8080\nRUN mkdir -p /srv/app\n"
                      "WORKDIR /srv/app\nCOPY server.sh .\nRUN chmod +x server.sh\n"
                      'LABEL maintainer="me" version="1"\nUSER nobody\nCMD ["./server.sh"]\n'})
    daemon.docker("build", "-t", "echo:1", str(ctx))
    cfg = json.loads(daemon.docker("image", "inspect", "echo:1").stdout)[0]["Config"]
    assert "PORT=8080" in cfg["Env"] and 'GREETING=hi there' in cfg["Env"]
    assert cfg["ExposedPorts"] == {"8080/tcp": {}} and cfg["WorkingDir"] == "/srv/app"
    assert cfg["Labels"] == {"maintainer": "me", "version": "1"} and cfg["User"] == "nobody"
    assert daemon.docker("run", "--rm", "echo:1").stdout == "serving on 8080 from /srv/app\n"
    daemon.docker("rmi", "echo:1")


def test_multistage_copy_from_build_args_target_and_our_cli(daemon, tmp_path):
    ctx = write(tmp_path / "multi", {
        "other.Dockerfile": "ARG BASE=busybox\nFROM $BASE AS builder\nARG V=1\nRUN echo built-$V > /artifact\n"
                            "FROM busybox AS prod\nCOPY --from=builder /artifact /artifact\nCMD [\"cat\", \"/artifact\"]\n"
                            "FROM prod AS extra\nRUN echo never-built\n"})
    out = daemon.dockyard("build", "-f", str(ctx / "other.Dockerfile"), "--build-arg", "V=2", "--target", "prod",
                          "-t", "me/app:2", str(ctx)).stdout
    assert "Step 5/7" in out and "never-built" not in out
    assert daemon.docker("run", "--rm", "me/app:2").stdout == "built-2\n"
    daemon.docker("rmi", "me/app:2")


def test_add_extracts_a_local_tar_gz(daemon, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"from the archive\n"
        info = tarfile.TarInfo("pkg/readme.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx = write(tmp_path / "add", {"pkg.tar.gz": gzip.compress(buf.getvalue()),
                                    "Dockerfile": "FROM busybox\nADD pkg.tar.gz /opt/\nCMD cat /opt/pkg/readme.txt\n"})
    daemon.docker("build", "-t", "added:1", str(ctx))
    assert daemon.docker("run", "--rm", "added:1").stdout == "from the archive\n"
    daemon.docker("rmi", "added:1")


def test_failed_run_stops_with_its_code_and_keeps_earlier_steps_cached(own_objects, daemon, tmp_path):
    ctx = write(tmp_path / "fail", {"Dockerfile": "FROM busybox\nRUN echo step-two > /two\nRUN exit 3\n"})
    before = set(daemon.docker("images", "-aq", "--no-trunc").stdout.split())
    p = daemon.docker("build", "-t", "broken:1", str(ctx), check=False)
    assert p.returncode == 3
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in p.stderr
    after = set(daemon.docker("images", "-aq", "--no-trunc").stdout.split())
    assert len(after - before) == 1  # the RUN echo step is kept (cache); nothing for the failed step
    p = daemon.docker("build", "-t", "broken:1", str(ctx), check=False)
    assert " ---> Using cache" in p.stdout and p.returncode == 3
    daemon.docker("image", "inspect", "broken:1", check=False).returncode == 1


@pytest.mark.parametrize("dockerfile,message", [
    ("FROM busybox\nFORM busybox\n", "dockerfile parse error on line 2: unknown instruction: FORM"),
    ("FROM busybox\nSHELL /bin/bash -c\n", "SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nCOPY ../outside /x\n", "forbidden path outside the build context"),
    ("FROM busybox\nCOPY missing.txt /x\n", "missing.txt: file does not exist"),
    # an unknown stage name is an image to pull: here from a loopback registry that is not there
    ("FROM busybox AS a\nFROM busybox\nCOPY --from=127.0.0.1:9/nostage /x /x\n", "127.0.0.1:9"),
])
def test_dockerfile_errors_are_clear(daemon, tmp_path, dockerfile, message):
    ctx = write(tmp_path / "err", {"Dockerfile": dockerfile})
    p = daemon.docker("build", str(ctx), check=False)
    assert p.returncode != 0
    assert message in p.stderr


def test_dockerignore_and_reproducible_layers(daemon, tmp_path):
    files = {"keep.txt": "keep\n", "secret.key": "nope\n", "logs/a.log": "x\n", "logs/keep.log": "y\n",
             ".dockerignore": "*.key\nlogs/*.log\n!logs/keep.log\n",
             "Dockerfile": "FROM busybox\nCOPY . /ctx/\nRUN ls /ctx /ctx/logs > /listing\nCMD cat /listing\n"}
    a = write(tmp_path / "a", files)
    b = write(tmp_path / "b", files)
    sde = ["--build-arg", "SOURCE_DATE_EPOCH=1700000000"]  # fixed timestamps: the layers do not depend on when
    daemon.docker("build", "--no-cache", *sde, "-t", "ignore:a", str(a))
    listing = daemon.docker("run", "--rm", "ignore:a").stdout.split()
    assert "keep.txt" in listing and "secret.key" not in listing and "keep.log" in listing and "a.log" not in listing
    os.utime(b / "keep.txt", (1_800_000_000, 1_800_000_000))  # a different mtime, same content
    daemon.docker("build", "--no-cache", *sde, "-t", "ignore:b", str(b))
    layers_a = json.loads(daemon.docker("image", "inspect", "ignore:a").stdout)[0]["RootFS"]["Layers"]
    layers_b = json.loads(daemon.docker("image", "inspect", "ignore:b").stdout)[0]["RootFS"]["Layers"]
    assert layers_a[1] == layers_b[1]  # the COPY layer: same content, same digest
    daemon.docker("rmi", "ignore:a", "ignore:b")


def test_onbuild_healthcheck_and_labels(daemon, tmp_path):
    parent = write(tmp_path / "parent", {"Dockerfile": "FROM busybox\nONBUILD RUN echo triggered > /onbuild\n"
                                                       "HEALTHCHECK --interval=5s --retries=2 CMD true\n"})
    daemon.docker("build", "-t", "parent:1", str(parent))
    child = write(tmp_path / "child", {"Dockerfile": "FROM parent:1\nCMD cat /onbuild\n"})
    out = daemon.docker("build", "--label", "team=core", "-t", "child:1", str(child)).stdout
    assert "Executing 1 build trigger" in out
    assert daemon.docker("run", "--rm", "child:1").stdout == "triggered\n"
    cfg = json.loads(daemon.docker("image", "inspect", "child:1").stdout)[0]["Config"]
    assert cfg["Labels"] == {"team": "core"} and not cfg.get("OnBuild")
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    daemon.docker("rmi", "child:1", "parent:1")


def test_copy_chown_by_name_from_the_image_passwd(daemon, tmp_path):
    ctx = write(tmp_path / "chown", {
        "f": "data\n",
        "Dockerfile": "FROM busybox\n"
                      "RUN echo 'app:x:1234:1234::/:/bin/sh' >> /etc/passwd && echo 'staff:x:50:' >> /etc/group\n"
                      "COPY --chown=app:staff f /by-names\n"
                      "COPY --chown=nobody f /by-user-only\n"
                      "COPY --chown=7:8 f /numeric\n"
                      "CMD stat -c '%n %u:%g' /by-names /by-user-only /numeric\n"})
    daemon.docker("build", "-t", "chown:1", str(ctx))
    out = daemon.docker("run", "--rm", "chown:1").stdout.splitlines()
    assert out == ["/by-names 1234:50", "/by-user-only 65534:65534", "/numeric 7:8"]
    bad = write(tmp_path / "bad", {"f": "x", "Dockerfile": "FROM busybox\nCOPY --chown=ghost f /f\n"})
    failed = daemon.docker("build", str(bad), check=False)
    assert failed.returncode == 1
    assert "can't find uid for user ghost: no such user: ghost" in failed.stderr
    daemon.docker("rmi", "chown:1")


def test_cache_from_a_loaded_image(daemon, tmp_path):
    ctx = write(tmp_path / "cf", {"f": "cached content\n",
                                  "Dockerfile": "FROM busybox\nRUN echo step > /step\nCOPY f /f\nENV MODE=cached\n"
                                                "CMD cat /step /f\n"})
    daemon.docker("build", "-t", "cachefrom:1", str(ctx))
    built = image_id(daemon, "cachefrom:1")
    archive = tmp_path / "cf.tar"
    daemon.docker("save", "-o", str(archive), "cachefrom:1")
    daemon.docker("rmi", "cachefrom:1")  # the intermediate images go with it: the local cache is empty
    daemon.docker("load", "-i", str(archive))
    assert image_id(daemon, "cachefrom:1") == built
    # without --cache-from a loaded image is no cache: the RUN step runs again
    control = daemon.docker("build", "-t", "cachefrom:control", str(ctx)).stdout
    assert " ---> Running in " in control and "Using cache" not in control
    # with it, every step is served from the loaded image's history and layers, and the result is that image
    out = daemon.docker("build", "--cache-from", "cachefrom:1", "-t", "cachefrom:2", str(ctx)).stdout
    assert out.count(" ---> Using cache") == 4 and "Running in" not in out
    assert image_id(daemon, "cachefrom:2") == built
    assert daemon.docker("run", "--rm", "cachefrom:2").stdout == "step\ncached content\n"
    # a changed file misses from that step on
    (ctx / "f").write_text("new content\n")
    out = daemon.docker("build", "--cache-from", "cachefrom:1", "-t", "cachefrom:3", str(ctx)).stdout
    assert out.count(" ---> Using cache") == 1
    assert daemon.docker("run", "--rm", "cachefrom:3").stdout == "step\nnew content\n"
    daemon.docker("rmi", "cachefrom:1", "cachefrom:2", "cachefrom:3", "cachefrom:control")


@pytest.fixture
def http_dir(tmp_path):
    """A throwaway HTTP server on loopback serving a directory: (dir, base URL)."""
    import functools
    import http.server
    import threading
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_add_url_checksum_and_remote_context(daemon, tmp_path, http_dir):
    import hashlib
    www, base = http_dir
    (www / "note.txt").write_text("downloaded\n")
    digest = "sha256:" + hashlib.sha256(b"downloaded\n").hexdigest()
    ctx = write(tmp_path / "addurl", {"Dockerfile": f"FROM busybox\nADD --checksum={digest} {base}/note.txt /srv/\n"
                                                    "CMD cat /srv/note.txt\n"})
    daemon.docker("build", "-t", "addurl:1", str(ctx))
    assert daemon.docker("run", "--rm", "addurl:1").stdout == "downloaded\n"
    bad = write(tmp_path / "badsum", {"Dockerfile": f"FROM busybox\nADD --checksum=sha256:{'0' * 64} "
                                                    f"{base}/note.txt /srv/\n"})
    failed = daemon.docker("build", str(bad), check=False)
    assert failed.returncode == 1 and "checksum mismatch" in failed.stderr
    missing = write(tmp_path / "missing", {"Dockerfile": f"FROM busybox\nADD {base}/nope.txt /srv/\n"})
    failed = daemon.docker("build", str(missing), check=False)
    assert failed.returncode == 1 and "404" in failed.stderr
    # a remote context: the daemon downloads the tarball and builds it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY hello /hello\nCMD cat /hello\n"),
                           ("hello", b"from a remote context\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (www / "ctx.tar.gz").write_bytes(buf.getvalue())
    daemon.docker("build", "-t", "remote:1", f"{base}/ctx.tar.gz")
    assert daemon.docker("run", "--rm", "remote:1").stdout == "from a remote context\n"
    daemon.docker("rmi", "addurl:1", "remote:1")


def test_system_df_counts_images_like_docker_images(daemon, tmp_path):
    ctx = write(tmp_path / "df", {"Dockerfile": "FROM busybox\nRUN echo x > /x\nRUN echo y > /y\nCMD cat /x\n"})
    daemon.docker("build", "-t", "dfcount:1", str(ctx))
    try:
        listed = set(daemon.docker("images", "-q", "--no-trunc").stdout.split())
        everything = set(daemon.docker("images", "-a", "-q", "--no-trunc").stdout.split())
        assert len(everything) > len(listed)  # the build left intermediate images
        intermediate = everything - listed
        dangling = set(daemon.docker("images", "-a", "-q", "--no-trunc", "-f", "dangling=true").stdout.split())
        assert not dangling & intermediate  # an image other images use is not dangling
        status, df = daemon.api("GET", "/system/df")
        assert {i["Id"] for i in df["Images"]} == listed
        row = next(i for i in df["Images"] if "dfcount:1" in i["RepoTags"])
        busybox_size = json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]["Size"]
        assert row["SharedSize"] == busybox_size  # its busybox layer is busybox's too; its own two are not shared
    finally:
        daemon.docker("rmi", "dfcount:1")
