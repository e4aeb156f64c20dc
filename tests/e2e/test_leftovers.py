"""Nothing is left behind: temp files and half-extracted layers of requests that failed, were cut short
or died with the daemon; and the error wording of those failures, as Docker 28 prints it."""
from __future__ import annotations

import io
import socket
import sqlite3
import subprocess
import tarfile
import time
import urllib.parse
from pathlib import Path

import pytest

from .daemon_harness import DOCKER, wait_for

UNKNOWN_USER = "unable to find user nosuchuser: no matching entries in passwd file"


def tmp_entries(d) -> list[str]:
    return sorted(p.name for p in (d.data_root / "tmp").iterdir())


def wait_for_empty_tmp(d, timeout: float = 10) -> list[str]:
    deadline = time.time() + timeout
    while (left := tmp_entries(d)) and time.time() < deadline:
        time.sleep(0.05)
    return left


def small_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return buf.getvalue()


def raw_request(d, method: str, path: str, body: bytes) -> bytes:
    """Send a request with a raw tar body; the whole raw answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(d.socket))
        head = (f"{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n"
                f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n")
        s.sendall(head.encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


# ---------------------------------------------------------------- docker exec -u
@pytest.fixture
def sleeper(daemon):
    name = "leftovers-exec"
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300")
    yield name
    daemon.docker("rm", "-f", name, check=False)


def test_exec_as_unknown_user_says_so_and_exits_126(daemon, sleeper):
    p = daemon.docker("exec", "-u", "nosuchuser", sleeper, "echo", "hi", check=False)
    assert p.returncode == 126, (p.stdout, p.stderr)
    assert p.stdout.strip() == UNKNOWN_USER  # the command never ran
    ok = daemon.docker("exec", "-u", "root", sleeper, "echo", "hi")  # the container is unharmed
    assert ok.stdout.strip() == "hi"


def test_detached_exec_as_unknown_user_is_an_error(daemon, sleeper):
    p = daemon.docker("exec", "-d", "-u", "nosuchuser", sleeper, "echo", "hi", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == f"Error response from daemon: {UNKNOWN_USER}"


# ---------------------------------------------------------------- docker import / inspect
def test_import_from_an_unreachable_url_says_it_in_go_words_and_leaves_nothing(daemon):
    p = daemon.docker("import", "http://127.0.0.1:1/x.tar", check=False)
    assert p.returncode == 1
    assert "dial tcp 127.0.0.1:1: connect: connection refused" in p.stderr
    assert "Errno" not in p.stderr
    assert not [n for n in wait_for_empty_tmp(daemon) if n.startswith("upload-")]


def test_import_with_a_bad_name_is_refused_before_the_upload(daemon):
    before = daemon.docker("images", "-aq", "--no-trunc").stdout.split()
    query = urllib.parse.urlencode({"fromSrc": "-", "repo": "BAD:ref"})
    answer = raw_request(daemon, "POST", f"/v1.50/images/create?{query}", small_tar())
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"invalid reference format" in answer
    assert daemon.docker("images", "-aq", "--no-trunc").stdout.split() == before
    assert not [n for n in wait_for_empty_tmp(daemon) if n.startswith("upload-")]


def test_inspect_of_an_unknown_full_id_is_no_such_object(daemon):
    missing = "0123456789abcdef" * 4
    p = daemon.docker("inspect", missing, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == f"Error: No such object: {missing}"
    p = daemon.docker("image", "inspect", missing, check=False)
    assert p.returncode == 1 and "No such image" in p.stderr and "hexadecimal" not in p.stderr


# ---------------------------------------------------------------- uploads cut short
@pytest.mark.parametrize("path", ["/v1.50/images/load", "/v1.50/images/create?fromSrc=-", "/v1.50/build"])
def test_client_hanging_up_mid_upload_leaves_no_temp_file(daemon, path):
    before = set(tmp_entries(daemon))
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n"
                   f"Content-Length: {100 << 20}\r\n\r\n").encode() + b"\0" * (1 << 20))
        # The daemon is spooling the upload: its temp file exists (else there would be nothing to leave).
        spooled = wait_for(lambda: set(tmp_entries(daemon)) - before, what=f"{path} to spool into a temp file")
    # hung up after 1 MiB of the announced 100
    wait_for(lambda: not spooled & set(tmp_entries(daemon)), what=f"{sorted(spooled)} to be removed")
    assert daemon.docker("version").returncode == 0  # still serving


# ---------------------------------------------------------------- a daemon killed mid-commit
def driver_dir(d) -> Path:
    found = [p for p in (d.data_root / "layers" / "overlay", d.data_root / "layers" / "vfs") if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def layer_dirs(d) -> set[str]:
    return {p.name for p in driver_dir(d).iterdir() if p.name not in ("l", "empty")}


def known_cache_ids(d) -> set[str]:
    with sqlite3.connect(d.data_root / "dockyard.db") as db:
        return {row[0] for row in db.execute("SELECT cache_id FROM layers")}


def kill_when_a_new_layer_dir_appears(d, before: set[str], timeout: float = 120) -> set[str]:
    commit = subprocess.Popen([DOCKER, "commit", "big", "big:committed"], env=d.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and commit.poll() is None:
            new = layer_dirs(d) - before
            if new:
                time.sleep(0.05)  # some of the layer is extracted by now
                d.kill()
                return new
            time.sleep(0.005)
        raise AssertionError("the commit ended before a layer dir could be caught half-extracted")
    finally:
        commit.wait(30)


def test_sigkill_mid_commit_leaves_nothing_after_a_restart(fresh_daemon):
    d = fresh_daemon
    d.docker("run", "--name", "big", "busybox", "dd", "if=/dev/urandom", "of=/big", "bs=1M", "count=100")
    before = layer_dirs(d)
    orphans = kill_when_a_new_layer_dir_appears(d, before)
    assert not orphans & known_cache_ids(d)  # killed mid-extraction: no layers row knows the dir

    d.start()

    assert not orphans & layer_dirs(d)
    assert layer_dirs(d) == before  # the container's RW and init dirs and the image layers all stay
    assert tmp_entries(d) == []  # the commit's temp tar went with the restart
    d.docker("commit", "big", "big:committed")
    size = d.docker("run", "--rm", "big:committed", "stat", "-c", "%s", "/big").stdout.strip()
    assert size == str(100 << 20)


def test_daemon_start_empties_its_tmp_dir(fresh_daemon):
    d = fresh_daemon
    d.kill()
    (d.data_root / "tmp" / "upload-stale").write_bytes(b"partial upload")
    (d.data_root / "tmp" / "context-stale" / "sub").mkdir(parents=True)
    d.start()
    assert tmp_entries(d) == []
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0


# ---------------------------------------------------------------- removal through the trash
def trash_entries(d) -> list[str]:
    return sorted(p.name for p in (d.data_root / "trash").iterdir())


def test_daemon_start_empties_its_trash(fresh_daemon):
    # removed dirs are renamed into the trash and deleted in the background: a daemon killed before that
    # finished leaves them there, and the next start deletes them
    d = fresh_daemon
    d.kill()
    (d.data_root / "trash" / "stale-rw-layer" / "diff" / "etc").mkdir(parents=True)
    (d.data_root / "trash" / "stale-rw-layer" / "diff" / "etc" / "passwd").write_text("x")
    (d.data_root / "trash" / "stale-file").write_bytes(b"x")
    d.start()
    assert trash_entries(d) == []
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0


def test_run_rm_leaves_nothing_behind_once_it_returns(daemon, tmp_path):
    cidfile = tmp_path / "cid"
    out = daemon.docker("run", "--rm", "--cidfile", str(cidfile), "busybox", "sh", "-c", "echo hi > /f; echo out")
    assert out.stdout == "out\n"
    cid = cidfile.read_text().strip()
    # when the CLI returns (its wait for "removed" answered), every trace of the container is gone already
    assert daemon.docker("ps", "-aq", "--no-trunc", "--filter", f"id={cid}").stdout == ""
    assert not (daemon.data_root / "containers" / cid).exists()
    assert not {cid, f"{cid}-init"} & layer_dirs(daemon)
    assert not (daemon.exec_root / "c" / cid).exists()  # the monitor's state dir
    assert not (daemon.exec_root / "runc" / cid).exists()  # the runtime deleted its container too
    # and what went to the trash is deleted soon after
    wait_for(lambda: trash_entries(daemon) == [], what="the trash to be emptied")


def test_a_force_removed_image_keeps_its_layers_for_its_container_until_that_goes(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo kept > /kept\n")
    daemon.docker("build", "-q", "-t", "retained-image", str(tmp_path))
    top = Path(daemon.docker("image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "retained-image")
               .stdout.strip()).parent  # the RUN step's layer dir
    cid = daemon.docker("create", "retained-image", "cat", "/kept").stdout.strip()
    daemon.docker("rmi", "-f", "retained-image")
    assert "retained-image" not in daemon.docker("images").stdout
    assert daemon.docker("start", "-a", cid).stdout == "kept\n" and top.exists()  # kept for the container
    daemon.docker("rm", cid)
    wait_for(lambda: not top.exists(), what="the image's layer to go with its last container")
