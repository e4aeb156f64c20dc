"""Issue 2 end to end: the real docker CLI (and docker-py, and our CLI) against a real dockyard daemon."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time

import pytest

HEX12 = r"[0-9a-f]{12}"


def image_id(d, name: str) -> str:
    return d.docker("image", "inspect", "-f", "{{.Id}}", name).stdout.strip()


def test_ping_headers_and_versions(daemon):
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(daemon.socket))

    c = Conn("localhost")
    c.request("GET", "/_ping")
    r = c.getresponse()
    assert r.read() == b"OK"
    assert r.getheader("Api-Version") == "1.50"
    assert r.getheader("Ostype") == "linux"
    assert r.getheader("Docker-Experimental") == "false"
    status, body = daemon.api("GET", "/v1.99/version")
    assert status == 400
    assert body["message"] == "client version 1.99 is too new. Maximum supported API version is 1.50"
    status, body = daemon.api("GET", "/v1.24/version")
    assert status == 200 and body["ApiVersion"] == "1.50"


def test_docker_version_and_info(daemon):
    out = daemon.docker("version").stdout
    assert "Server: Dockyard" in out
    assert re.search(r"API version:\s+1\.50", out)
    info = daemon.docker("info").stdout
    assert "Storage Driver: overlay2" in info
    assert f"Docker Root Dir: {daemon.data_root}" in info
    assert "Logging Driver: json-file" in info
    # the runtime's commit, read from `runc --version` as dockerd does
    runc_out = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout
    commit = re.search(r"^commit: (\S+)", runc_out, re.M).group(1)
    assert f"runc version: {commit}" in info
    assert re.search(rf"runc:\n\s+Version:\s+\S+\n\s+GitCommit:\s+{re.escape(commit)}", out)


def test_images_table_and_inspect(daemon):
    out = daemon.docker("images").stdout.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(l for l in out if l.startswith("busybox "))
    full = image_id(daemon, "busybox")
    assert full.startswith("sha256:") and len(full) == 71
    assert row.split()[2] == full[7:19]
    data = json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]
    assert data["Config"]["Cmd"] == ["sh"]
    assert data["Os"] == "linux"
    assert "busybox:latest" in data["RepoTags"]  # other tests may tag busybox too: the daemon is shared
    assert len(data["RootFS"]["Layers"]) == 1
    # the ID is the digest of the config; any unique prefix finds it
    assert image_id(daemon, full[7:14]) == full
    assert image_id(daemon, "docker.io/library/busybox:latest") == full
    quiet = daemon.docker("images", "-q").stdout.split()
    assert full[7:19] in quiet


def test_missing_image_is_a_404_with_dockers_message(daemon):
    p = daemon.docker("image", "inspect", "nosuchimage", check=False)
    assert p.returncode == 1
    assert "No such image: nosuchimage" in p.stderr
    p = daemon.docker("rmi", "nosuchimage:1", check=False)
    assert p.returncode == 1
    assert "No such image: nosuchimage:1" in p.stderr


def test_tag_and_untag(daemon):
    full = image_id(daemon, "busybox")
    daemon.docker("tag", "busybox", "me/box:1")
    assert image_id(daemon, "me/box:1") == full
    assert "me/box" in daemon.docker("images", "me/box").stdout
    out = daemon.docker("rmi", "me/box:1").stdout
    assert out.strip() == "Untagged: me/box:1"
    assert image_id(daemon, "busybox") == full  # the image stays while another tag points at it
    p = daemon.docker("tag", "busybox", "Bad:Name", check=False)
    assert p.returncode != 0


def test_images_filters(daemon):
    daemon.docker("tag", "busybox", "filtered/one:a")
    try:
        out = daemon.docker("images", "--filter", "reference=filtered/*", "--format", "{{.Repository}}:{{.Tag}}").stdout
        assert out.split() == ["filtered/one:a"]
        out = daemon.docker("images", "-f", "dangling=true", "-q").stdout
        assert image_id(daemon, "busybox")[7:19] not in out
        p = daemon.docker("images", "-f", "colour=red", check=False)
        assert p.returncode != 0 and "invalid filter 'colour'" in p.stderr
    finally:
        daemon.docker("rmi", "filtered/one:a")


def test_history_shows_layers(daemon):
    out = daemon.docker("history", "busybox").stdout.splitlines()
    assert out[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert re.match(HEX12, out[1])


def _busybox_rootfs_tar() -> bytes:
    """A flat rootfs tar of busybox for `docker import`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
        for applet in ("sh", "echo", "cat", "ls"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return buf.getvalue()


def test_import_from_stdin_with_changes(daemon):
    p = daemon.docker("import", "-c", 'CMD ["/bin/sh"]', "-m", "from a tarball", "-", "imported/box:v1",
                      input=_busybox_rootfs_tar())
    new_id = p.stdout.decode().strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", new_id)
    data = json.loads(daemon.docker("image", "inspect", "imported/box:v1").stdout)[0]
    assert data["Config"]["Cmd"] == ["/bin/sh"]
    assert data["Comment"] == "from a tarball"
    hist = daemon.docker("history", "--format", "{{.Comment}}", "imported/box:v1").stdout
    assert "from a tarball" in hist
    daemon.docker("rmi", "imported/box:v1")


def test_import_from_a_url(daemon, tmp_path):
    import functools
    import http.server
    import threading
    (tmp_path / "rootfs.tar").write_bytes(_busybox_rootfs_tar())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        daemon.docker("import", f"{base}/rootfs.tar", "fromurl:1")
        assert daemon.docker("run", "--rm", "fromurl:1", "/bin/echo", "imported over http").stdout == \
            "imported over http\n"
        missing = daemon.docker("import", f"{base}/nope.tar", "fromurl:2", check=False)
        assert missing.returncode == 1 and "404" in missing.stderr
        assert daemon.docker("images", "-q", "fromurl:2").stdout == ""
    finally:
        server.shutdown()
        daemon.docker("rmi", "fromurl:1", check=False)


def test_import_of_garbage_fails_cleanly(daemon):
    before = daemon.docker("images", "-q", "--no-trunc").stdout
    p = daemon.docker("import", "-", "broken:1", input=b"this is not a tar archive at all" * 100, check=False)
    assert p.returncode != 0
    assert daemon.docker("images", "-q", "--no-trunc").stdout == before


def test_save_rmi_load_gives_identical_image(daemon, tmp_path):
    daemon.docker("tag", "busybox", "roundtrip/box:1")
    before = json.loads(daemon.docker("image", "inspect", "roundtrip/box:1").stdout)[0]
    archive = tmp_path / "box.tar"
    daemon.docker("save", "-o", str(archive), "roundtrip/box:1")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "index.json" in names and "oci-layout" in names
    assert manifest[0]["RepoTags"] == ["roundtrip/box:1"]
    daemon.docker("rmi", "roundtrip/box:1")
    out = daemon.docker("load", "-i", str(archive)).stdout
    assert "Loaded image: roundtrip/box:1" in out
    after = json.loads(daemon.docker("image", "inspect", "roundtrip/box:1").stdout)[0]
    assert after["Id"] == before["Id"]
    assert after["RootFS"]["Layers"] == before["RootFS"]["Layers"]
    daemon.docker("rmi", "roundtrip/box:1")


def test_load_of_truncated_archive_is_refused(daemon, tmp_path, busybox_tar):
    data = busybox_tar.read_bytes()
    p = daemon.docker("load", input=data[: len(data) // 2], check=False)
    assert p.returncode != 0
    assert p.stderr.strip()


def test_rmi_conflict_when_a_container_uses_the_image(daemon):
    daemon.docker("tag", "busybox", "inuse/box:1")
    cid = daemon.docker("create", "inuse/box:1", "true").stdout.strip()
    try:
        p = daemon.docker("rmi", "inuse/box:1", check=False)
        # another tag (busybox) still points at the image: this only untags
        assert p.returncode == 0 and "Untagged: inuse/box:1" in p.stdout
        p = daemon.docker("rmi", image_id(daemon, "busybox")[7:19], check=False)
        assert p.returncode == 1
        assert "conflict: unable to delete" in p.stderr
    finally:
        daemon.docker("rm", cid)


def test_rmi_deletes_layers_and_prune_removes_dangling(daemon, tmp_path, busybox_tar):
    # an image of its own: import a rootfs, then delete it
    new_id = daemon.docker("import", "-", "todelete:1", input=_busybox_rootfs_tar()).stdout.decode().strip()
    out = daemon.docker("rmi", "todelete:1").stdout.splitlines()
    assert out[0] == "Untagged: todelete:1"
    assert f"Deleted: {new_id}" in out
    assert any(l.startswith("Deleted: sha256:") and l != f"Deleted: {new_id}" for l in out)  # its layer
    # dangling: an untagged image shows as <none> and prune removes it
    label = f"prune-test={os.getpid()}"  # the prune is scoped: other tests' dangling images stay
    dangling_id = daemon.docker("import", "--change", f"LABEL {label}", "-",
                                input=_busybox_rootfs_tar()).stdout.decode().strip()
    listed = daemon.docker("images", "-f", "dangling=true", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout
    assert f"{dangling_id[7:19]} <none>:<none>" in listed
    out = daemon.docker("image", "prune", "-f", "--filter", f"label={label}").stdout
    assert out.startswith(f"Deleted Images:\ndeleted: {dangling_id}\n")
    assert "Total reclaimed space" in out
    assert dangling_id[7:19] not in daemon.docker("images", "-a", "-q").stdout


def test_system_df_counts_shared_layers_once(daemon):
    _, before = daemon.api("GET", "/system/df")  # whatever else the shared daemon holds
    daemon.docker("tag", "busybox", "shared/one:1")
    try:
        out = daemon.docker("system", "df").stdout.splitlines()
        assert out[0].split()[:2] == ["TYPE", "TOTAL"]
        images_row = next(l for l in out if l.startswith("Images"))
        status, df = daemon.api("GET", "/system/df")
        assert status == 200
        assert df["LayersSize"] == before["LayersSize"] > 0  # one image, two tags: its layer is counted once
        bid = json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]["Id"]
        assert sorted(next(i for i in df["Images"] if i["Id"] == bid)["RepoTags"]) == ["busybox:latest",
                                                                                       "shared/one:1"]
        assert images_row.split()[1] == str(len(df["Images"]))
    finally:
        daemon.docker("rmi", "shared/one:1")


def test_events_stream_tag_and_untag(daemon):
    since = str(int(time.time()) - 1)
    daemon.docker("tag", "busybox", "events/box:1")
    daemon.docker("rmi", "events/box:1")
    until = str(int(time.time()) + 1)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "type=image",
                        "--format", "{{.Action}}").stdout.split()
    assert "tag" in out and "untag" in out


def test_dockyard_cli_shows_the_same_images(daemon):
    theirs = daemon.docker("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").stdout.split("\n")
    ours = daemon.dockyard("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").stdout.split("\n")
    assert sorted(ours) == sorted(theirs)
    header = daemon.dockyard("images").stdout.splitlines()[0]
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]


def test_docker_py_reads_the_shapes(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="1.50")
    img = client.images.get("busybox")
    assert img.tags == ["busybox:latest"]
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert any(i.id == img.id for i in client.images.list())
    assert client.version()["ApiVersion"] == "1.50"
    assert client.info()["Driver"] == "overlay2"
    client.close()


def test_second_daemon_on_same_data_root_refuses(daemon):
    import sys

    p = subprocess.run([sys.executable, "-m", "dockyard.cmd.dockyardd", "-H", f"unix://{daemon.exec_root}/other.sock",
                        "--data-root", str(daemon.data_root), "--exec-root", str(daemon.exec_root)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "already using data root" in p.stderr


def test_sigkill_during_load_leaves_no_half_image(fresh_daemon, tmp_path):
    d = fresh_daemon
    big = tmp_path / "big"
    big.mkdir()
    (big / "blob").write_bytes(__import__("os").urandom(300 * 1024 * 1024))
    tar_path = tmp_path / "big.tar"
    subprocess.run(["tar", "-C", str(big), "-cf", str(tmp_path / "rootfs.tar"), "."], check=True)
    imported = d.docker("import", str(tmp_path / "rootfs.tar"), "big:1").stdout.strip()
    d.docker("save", "-o", str(tar_path), "big:1")
    d.docker("rmi", "big:1")
    before = d.docker("images", "-a", "--no-trunc", "-q").stdout
    layer_dirs = d.data_root / "layers" / "overlay"
    dirs_before = set(layer_dirs.iterdir())
    loader = subprocess.Popen(["docker", "load", "-i", str(tar_path)], env=d.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not (set(layer_dirs.iterdir()) - dirs_before) and time.time() < deadline:
        time.sleep(0.01)  # wait until the daemon is unpacking the layer: the middle of the load
    assert set(layer_dirs.iterdir()) - dirs_before, "the load never reached the layer store"
    d.kill()
    loader.wait(30)
    d.start()
    assert d.docker("images", "-a", "--no-trunc", "-q").stdout == before
    out = d.docker("load", "-i", str(tar_path)).stdout
    assert "Loaded image: big:1" in out
    assert d.docker("image", "inspect", "-f", "{{.Id}}", "big:1").stdout.strip() == imported


def test_load_accepts_an_oci_archive_written_by_skopeo(daemon, tmp_path, busybox_tar):
    oci = tmp_path / "busybox-oci.tar"
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{busybox_tar}", f"oci-archive:{oci}:ocibox:1"],
                   check=True, capture_output=True)
    out = daemon.docker("load", "-i", str(oci)).stdout
    loaded = re.search(r"Loaded image(?: ID)?: (\S+)", out).group(1)
    ran = daemon.docker("run", "--rm", loaded, "echo", "from-oci").stdout
    assert ran == "from-oci\n"
    # the layers were gzip-compressed by skopeo; the image still has the same diff IDs as the original
    assert json.loads(daemon.docker("image", "inspect", loaded).stdout)[0]["RootFS"]["Layers"] == \
        json.loads(daemon.docker("image", "inspect", "busybox").stdout)[0]["RootFS"]["Layers"]
    if not loaded.startswith("sha256:"):
        daemon.docker("rmi", loaded)
