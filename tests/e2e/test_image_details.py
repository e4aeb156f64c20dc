"""Image details a docker user checks: list order and filters by Created, history, rmi (-f, conflicts, parent
chains), --digests / --no-trunc, image prune -a, /_ping headers, system df (volumes, shared layers), and
dockyard's own CLI for import, image prune and events next to the docker CLI."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import time

import httpx
import pytest

from .daemon_harness import tar_bytes


def image_id(d, name: str) -> str:
    return d.docker("image", "inspect", "-f", "{{.Id}}", name).stdout.strip()


def inspect(d, name: str) -> dict:
    return json.loads(d.docker("image", "inspect", name).stdout)[0]


def rootfs_tar(extra: str = "") -> bytes:
    """A flat rootfs (busybox and a few applets, plus an optional marker file) for `docker import`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
        for applet in ("sh", "echo", "cat", "touch", "sleep"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        if extra:
            data = extra.encode()
            info = tarfile.TarInfo("marker")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def docker_import(d, *args: str, extra: str = "") -> str:
    return d.docker("import", *args, input=rootfs_tar(extra)).stdout.decode().strip()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The layer store's keys, as the image spec defines them."""
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else "sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


# ------------------------------------------------------------------------------------------------ list
def test_images_are_ordered_and_filtered_by_created_time(daemon, tmp_path):
    """before=/since= and the list order use the config's Created, not when the image reached the store:
    the oldest image, saved and loaded again, is still the oldest."""
    names = [f"bycreated/n{i}:1" for i in range(3)]
    for i, name in enumerate(names):
        docker_import(daemon, "-c", f"LABEL suite=bycreated stage={i}", "-", name, extra=name)
        time.sleep(1.1)  # distinct Created seconds: what `docker images` shows and compares
    try:
        archive = tmp_path / "oldest.tar"
        daemon.docker("save", "-o", str(archive), names[0])
        daemon.docker("rmi", names[0])
        daemon.docker("load", "-i", str(archive))  # stored last, created first

        def listed(*filters: str) -> list[str]:
            return daemon.docker("images", "--filter", "label=suite=bycreated", *filters,
                                 "--format", "{{.Repository}}:{{.Tag}}").stdout.split()

        assert listed() == list(reversed(names))
        assert listed("--filter", f"since={names[1]}") == [names[2]]
        assert listed("--filter", f"before={names[1]}") == [names[0]]
        assert listed("--filter", "label=stage=0") == [names[0]]
        assert listed("--filter", f"since={names[0]}", "--filter", "label=stage=1") == [names[1]]
    finally:
        daemon.docker("rmi", *names, check=False)


# ------------------------------------------------------------------------------------------------ history
def test_history_shows_a_missing_row_for_every_layer_of_a_loaded_image(daemon, tmp_path):
    base = docker_import(daemon, "-", extra="history base")
    cid = daemon.docker("create", base, "touch", "/one").stdout.strip()
    daemon.docker("start", "-a", cid)
    mid = daemon.docker("commit", "-m", "first", cid).stdout.strip()
    cid2 = daemon.docker("create", mid, "touch", "/two").stdout.strip()
    daemon.docker("start", "-a", cid2)
    daemon.docker("commit", "-m", "second", cid2, "history/top:1")
    daemon.docker("rm", cid, cid2)
    archive = tmp_path / "top.tar"
    daemon.docker("save", "-o", str(archive), "history/top:1")
    daemon.docker("rmi", "history/top:1")  # the whole untagged chain goes with it
    try:
        daemon.docker("load", "-i", str(archive))
        top = inspect(daemon, "history/top:1")
        assert len(top["RootFS"]["Layers"]) == 3
        rows = daemon.docker("history", "--format", "{{.ID}}|{{.Comment}}", "history/top:1").stdout.splitlines()
        ids = [r.split("|")[0] for r in rows]
        # the loaded image has no parent images here: only its own row has an ID
        assert ids == [top["Id"][7:19]] + ["<missing>"] * (len(rows) - 1)
        assert len(rows) == 3
        assert [r.split("|")[1] for r in rows[:2]] == ["second", "first"]
        table = daemon.docker("history", "history/top:1").stdout.splitlines()
        assert sum(line.startswith("<missing>") for line in table) == 2
    finally:
        daemon.docker("rmi", "history/top:1", check=False)


# ------------------------------------------------------------------------------------------------ rmi
def test_rmi_conflict_messages_name_the_stopped_container(fresh_daemon):
    d = fresh_daemon
    bid = image_id(d, "busybox")
    cid = d.docker("create", "busybox", "true").stdout.strip()
    by_name = d.docker("rmi", "busybox", check=False)
    assert by_name.returncode == 1
    assert by_name.stderr.strip() == (
        f'Error response from daemon: conflict: unable to remove repository reference "busybox" (must force) - '
        f"container {cid[:12]} is using its referenced image {bid[7:19]}")
    by_id = d.docker("rmi", bid[7:19], check=False)
    assert by_id.returncode == 1
    assert by_id.stderr.strip() == (
        f"Error response from daemon: conflict: unable to delete {bid[7:19]} (must be forced) - "
        f"image is being used by stopped container {cid[:12]}")
    assert image_id(d, "busybox") == bid


def test_rmi_force_deletes_an_image_only_a_stopped_container_uses(fresh_daemon):
    """moby: with force the soft conflict (a stopped container) is ignored and the image is deleted; its
    layers stay for the container, which still starts, and go when the container is removed."""
    d = fresh_daemon
    bid = image_id(d, "busybox")
    cid = d.docker("create", "busybox", "echo", "still here").stdout.strip()
    out = d.docker("rmi", "-f", "busybox").stdout
    assert out.splitlines() == ["Untagged: busybox:latest", f"Deleted: {bid}"]
    assert d.docker("images", "-a", "-q").stdout == ""
    assert d.docker("image", "inspect", bid, check=False).returncode == 1
    _, df = d.api("GET", "/system/df")
    assert df["LayersSize"] > 0  # the container's layers are kept
    assert d.docker("start", "-a", cid).stdout == "still here\n"
    d.docker("rm", cid)
    _, df = d.api("GET", "/system/df")
    assert df["LayersSize"] == 0


def test_rmi_force_with_a_running_container(fresh_daemon):
    d = fresh_daemon
    bid = image_id(d, "busybox")
    cid = d.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        by_id = d.docker("rmi", "-f", bid, check=False)
        assert by_id.returncode == 1
        assert by_id.stderr.strip() == (
            f"Error response from daemon: conflict: unable to delete {bid[7:19]} (cannot be forced) - "
            f"image is being used by running container {cid[:12]}")
        # by name, force only untags: the running container's image stays, dangling
        assert d.docker("rmi", "-f", "busybox").stdout.splitlines() == ["Untagged: busybox:latest"]
        assert d.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split() == [bid]
    finally:
        d.docker("rm", "-f", cid)


def test_rmi_of_a_committed_child_deletes_its_untagged_parent_chain(daemon):
    busybox_layers = chain_ids(inspect(daemon, "busybox")["RootFS"]["Layers"])
    cid = daemon.docker("create", "busybox", "touch", "/first").stdout.strip()
    daemon.docker("start", "-a", cid)
    parent = daemon.docker("commit", cid).stdout.strip()  # untagged: only the child keeps it
    cid2 = daemon.docker("create", parent, "touch", "/second").stdout.strip()
    daemon.docker("start", "-a", cid2)
    child = daemon.docker("commit", cid2, "chain/child:1").stdout.strip()
    daemon.docker("rm", cid, cid2)
    assert inspect(daemon, child)["Parent"] == parent
    layers = chain_ids(inspect(daemon, child)["RootFS"]["Layers"])
    assert layers[:-2] == busybox_layers
    out = daemon.docker("rmi", "chain/child:1").stdout.splitlines()
    assert out == ["Untagged: chain/child:1", f"Deleted: {child}", f"Deleted: {layers[-1]}",
                   f"Deleted: {parent}", f"Deleted: {layers[-2]}"]
    assert daemon.docker("image", "inspect", parent, check=False).returncode == 1


# ------------------------------------------------------------------------------------------------ digests
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_registry(tmp_path):
    """dockyard's own registry server, open to anonymous pushes: a push records the image's digest."""
    port = free_port()
    log = open(tmp_path / "registry.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "registry", "serve", "--listen", f"127.0.0.1:{port}",
                             "--storage", str(tmp_path / "storage")], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    log.close()


def test_images_digests_and_no_trunc(daemon, local_registry):
    repo = f"{local_registry}/details/box"
    daemon.docker("tag", "busybox", f"{repo}:1")
    try:
        pushed = daemon.docker("push", f"{repo}:1").stdout
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed).group(1)
        assert inspect(daemon, f"{repo}:1")["RepoDigests"] == [f"{repo}@{digest}"]
        table = daemon.docker("images", "--digests", repo).stdout.splitlines()
        assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
        assert table[1].split()[:4] == [repo, "1", digest, image_id(daemon, "busybox")[7:19]]
        full = daemon.docker("images", "--no-trunc", repo).stdout.splitlines()
        assert full[1].split()[2] == image_id(daemon, "busybox")
        assert daemon.docker("images", "--digests", "--format", "{{.Digest}}", "busybox").stdout.strip() == "<none>"
    finally:
        daemon.docker("rmi", f"{repo}:1")


# ------------------------------------------------------------------------------------------------ prune
def test_image_prune_all_removes_every_unused_image(fresh_daemon):
    d = fresh_daemon
    cid = d.docker("create", "busybox", "true").stdout.strip()  # keeps busybox
    tagged = docker_import(d, "-", "prune/tagged:1", extra="tagged")
    dangling = docker_import(d, "-", extra="dangling")
    out = d.docker("image", "prune", "-a", "-f").stdout
    lines = out.splitlines()
    assert lines[0] == "Deleted Images:"
    assert "untagged: prune/tagged:1" in lines
    assert f"deleted: {tagged}" in lines and f"deleted: {dangling}" in lines
    assert re.search(r"^Total reclaimed space: \d", out, re.M)
    assert d.docker("images", "-a", "--format", "{{.Repository}}").stdout.split() == ["busybox"]
    d.docker("rm", cid)


# ------------------------------------------------------------------------------------------------ _ping
def test_head_ping_headers(daemon):
    import http.client

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(daemon.socket))

    for method in ("HEAD", "GET"):
        c = Conn("localhost")
        c.request(method, "/_ping")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200
        assert body == (b"" if method == "HEAD" else b"OK")
        assert r.getheader("Builder-Version") == "1"
        assert r.getheader("Server").startswith("Dockyard/")
        assert r.getheader("Api-Version") == "1.50"
        c.close()


def test_unknown_route_is_page_not_found(daemon):
    for method, path in (("GET", "/no/such/route"), ("GET", "/v1.50/images/x/nonsense/more"),
                         ("PUT", "/_ping")):
        status, body = daemon.api(method, path)
        assert (status, body) == (404, {"message": "page not found"}), (method, path)


# ------------------------------------------------------------------------------------------------ system df
def test_system_df_counts_a_layer_two_images_share_once(daemon):
    _, before = daemon.api("GET", "/system/df")
    busybox = inspect(daemon, "busybox")
    cid = daemon.docker("create", "busybox", "touch", "/on-top").stdout.strip()
    daemon.docker("start", "-a", cid)
    daemon.docker("commit", cid, "df/ontop:1")
    daemon.docker("rm", cid)
    try:
        ontop = inspect(daemon, "df/ontop:1")
        assert ontop["RootFS"]["Layers"][:-1] == busybox["RootFS"]["Layers"]
        _, df = daemon.api("GET", "/system/df")
        # only the commit's own layer is new: busybox's is shared, not counted twice
        assert df["LayersSize"] - before["LayersSize"] == ontop["Size"] - busybox["Size"]
        mine = next(i for i in df["Images"] if i["Id"] == ontop["Id"])
        assert mine["SharedSize"] >= busybox["Size"]
        assert mine["Size"] == ontop["Size"]
    finally:
        daemon.docker("rmi", "df/ontop:1")


def test_system_df_shows_local_volumes(daemon):
    vol = "df-volume-usage"
    cid = daemon.docker("run", "-v", f"{vol}:/data", "busybox", "sh", "-c",
                        "head -c 300000 /dev/zero > /data/blob").stdout.strip()
    cid = daemon.docker("ps", "-aq", "--filter", f"volume={vol}").stdout.strip() or cid
    try:
        _, df = daemon.api("GET", "/system/df")
        entry = next(v for v in df["Volumes"] if v["Name"] == vol)
        assert entry["UsageData"]["RefCount"] == 1
        assert entry["UsageData"]["Size"] >= 300000
        volumes = daemon.docker("volume", "ls", "-q").stdout.split()
        row = next(line for line in daemon.docker("system", "df").stdout.splitlines()
                   if line.startswith("Local Volumes"))
        assert row.split()[2] == str(len(volumes))  # TYPE is two words: Local Volumes TOTAL ...
        verbose = daemon.docker("system", "df", "-v").stdout
        section = verbose.split("Local Volumes space usage:")[1].split("Build cache usage:")[0]
        vol_row = next(line.split() for line in section.splitlines() if line.startswith(vol))
        assert vol_row[1] == "1"  # LINKS
        assert vol_row[2] in ("300kB", "303.1kB", "307.2kB")  # the file, plus the directory entries
    finally:
        daemon.docker("rm", "-f", cid, check=False)
        daemon.docker("volume", "rm", vol, check=False)


# ------------------------------------------------------------------------------------------------ our CLI
def normalise_ids(text: str) -> str:
    return re.sub(r"sha256:[0-9a-f]{64}", "ID", text)


def test_dockyard_import_matches_docker(daemon):
    theirs = docker_import(daemon, "-c", "CMD [\"/bin/sh\"]", "-", "cli/import:docker", extra="a")
    ours = daemon.dockyard("import", "-c", "CMD [\"/bin/sh\"]", "-", "cli/import:ours",
                           input=rootfs_tar("a")).stdout.decode().strip()
    try:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", ours)
        assert image_id(daemon, "cli/import:ours") == ours
        assert inspect(daemon, ours)["Config"]["Cmd"] == inspect(daemon, theirs)["Config"]["Cmd"] == ["/bin/sh"]
        assert inspect(daemon, ours)["RootFS"] == inspect(daemon, theirs)["RootFS"]
    finally:
        daemon.docker("rmi", "cli/import:docker", "cli/import:ours")


def test_dockyard_image_prune_matches_docker(daemon):
    outputs = []
    for cli in (daemon.docker, daemon.dockyard):  # each prunes only its own image: the daemon is shared
        label = f"prune-via={cli.__name__}-{os.getpid()}"
        docker_import(daemon, "--change", f"LABEL {label}", "-", extra=f"prune via {cli.__name__}")
        outputs.append(cli("image", "prune", "-f", "--filter", f"label={label}").stdout)
    theirs, ours = outputs
    assert theirs.startswith("Deleted Images:\n") and ours.startswith("Deleted Images:\n")
    assert normalise_ids(ours) == normalise_ids(theirs)


def test_dockyard_events_match_docker(daemon):
    since = str(time.time() - 0.5)
    daemon.docker("tag", "busybox", "cli/events:1")
    daemon.docker("rmi", "cli/events:1")
    until = str(time.time() + 0.5)
    time.sleep(0.6)
    args = ("events", "--since", since, "--until", until, "--filter", "type=image",
            "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}")
    theirs = daemon.docker(*args).stdout
    ours = daemon.dockyard(*args).stdout
    assert ours == theirs
    assert f"image tag {image_id(daemon, 'busybox')} cli/events:1" in theirs
    plain_theirs = daemon.docker("events", "--since", since, "--until", until, "--filter", "event=tag").stdout
    plain_ours = daemon.dockyard("events", "--since", since, "--until", until, "--filter", "event=tag").stdout
    assert plain_ours == plain_theirs and "image tag" in plain_theirs


def test_a_load_that_fails_on_a_layer_leaves_no_layer_of_that_image(daemon):
    """The second layer's content is not what the config says: the load fails and the first layer, stored
    for this image only, goes again (it used to stay in the layer store, counted by system df)."""
    first = tar_bytes({"first": f"kept only with its image {time.time_ns()}".encode()})
    second = tar_bytes({"second": b"not the content the config names"})
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(first).hexdigest(),
                                                                    wrong]}}).encode()
    archive = tar_bytes({"config.json": config, "l1/layer.tar": first, "l2/layer.tar": second,
                         "manifest.json": json.dumps([{"Config": "config.json", "RepoTags": ["halfload:1"],
                                                       "Layers": ["l1/layer.tar", "l2/layer.tar"]}]).encode()})
    before = daemon.api("GET", "/system/df")[1]["LayersSize"]
    p = daemon.docker("load", input=archive, check=False)
    assert p.returncode == 1 and "layer digest mismatch" in p.stderr.decode()
    assert daemon.api("GET", "/system/df")[1]["LayersSize"] == before
    assert "halfload" not in daemon.docker("images").stdout
