"""Images for clusters: what dockyard builds and pushes, containerd (Debian's package, the runtime kubelet drives
on a node) pulls with `ctr image pull --plain-http` and runs with `ctr run --rm`, from our registry
(`dockyard registry serve`) and from Debian's docker-registry; a multi-platform index and zstd layers included.

Each module runs its own containerd: its own root, state, socket and config under the test's temp dirs, with
the CRI plugin disabled (no kubelet here), so nothing touches a containerd this machine may run."""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.registry_client.helpers import DockerRegistry, Image, busybox_layer, oci_layout, skopeo_copy, tar_layer
from tests.registry_client.test_zstd import OCI_LAYER_ZSTD, manifest_of, skopeo_zstd
from tests.registry_server.regsrv_helpers import Server

from .conftest import docs_of, kube, wait_for

CONFIG = """version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
"""
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
OTHER_ARCH = "arm64" if HOST_ARCH == "amd64" else "amd64"

pytestmark = pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd is not installed")


class Containerd:
    def __init__(self, base: Path):
        self.root = base / "root"
        self.run_dir = Path(tempfile.mkdtemp(prefix="ctd", dir="/run"))  # a unix socket path is short
        self.socket = self.run_dir / "c.sock"
        self.config = base / "config.toml"
        self.config.write_text(CONFIG.format(root=self.root, state=self.run_dir / "state", socket=self.socket))
        self.log = open(base / "containerd.log", "ab")
        self.proc = subprocess.Popen(["containerd", "--config", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or self.ctr("version", check=False).returncode == 0,
                 "containerd to serve", timeout=30)
        assert self.proc.poll() is None, (base / "containerd.log").read_text()[-2000:]

    def ctr(self, *args, check=True) -> subprocess.CompletedProcess:
        p = subprocess.run(["ctr", "--address", str(self.socket), "--namespace", "dockyard-test", *args],
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def pull_and_run(self, ref: str, *cmd: str) -> str:
        self.ctr("image", "pull", "--plain-http", ref)
        name = f"t{time.monotonic_ns()}"
        return self.ctr("run", "--rm", ref, name, *cmd).stdout

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        for m in reversed(mounts):
            if m.startswith((str(self.root), str(self.run_dir))):
                subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    c = Containerd(tmp_path_factory.mktemp("containerd"))
    yield c
    c.stop()


@pytest.fixture(scope="module")
def our_registry(tmp_path_factory):
    server = Server(str(tmp_path_factory.mktemp("ourreg") / "storage")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    reg = DockerRegistry(tmp_path_factory.mktemp("distribution")).start()
    yield reg
    reg.stop()


@pytest.fixture(params=["dockyard-registry", "docker-registry"])
def registry_host(request, our_registry, distribution) -> str:
    return (our_registry if request.param == "dockyard-registry" else distribution).host


def test_built_and_pushed_by_dockyard_runs_in_containerd_by_the_digest_generate_names(daemon, containerd,
                                                                                     registry_host, tmp_path):
    ref = f"{registry_host}/myorg/app:1"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(
        'FROM busybox\nRUN echo "built by dockyard" > /motd\nCMD ["cat", "/motd"]\n')
    daemon.docker("build", "-q", "-t", ref, str(tmp_path / "ctx"))
    daemon.dockyard("push", ref)
    assert containerd.pull_and_run(ref) == "built by dockyard\n"

    # `kube generate --digests` names the image by the digest it was pushed with; containerd runs exactly that
    daemon.docker("create", "--name", "app-digest", ref)
    try:
        docs = docs_of(kube(daemon, "generate", "app-digest", "--digests").stdout)
    finally:
        daemon.docker("rm", "app-digest")
    image = docs[0]["spec"]["containers"][0]["image"]
    repo_digests = json.loads(daemon.docker("image", "inspect", ref).stdout)[0]["RepoDigests"]
    assert image in repo_digests and image.startswith(f"{registry_host}/myorg/app@sha256:")  # this registry's
    assert containerd.pull_and_run(image) == "built by dockyard\n"
    listed = containerd.ctr("image", "ls").stdout
    assert image.split("@")[1] in listed


def test_multi_platform_index_runs_the_nodes_platform(containerd, registry_host, tmp_path):
    images = [Image([busybox_layer(), tar_layer({"etc/arch": f"{arch}\n".encode()})], arch=arch, cmd=["cat", "/etc/arch"])
              for arch in (HOST_ARCH, OTHER_ARCH)]
    ref = f"{registry_host}/multi/app:1"
    skopeo_copy(oci_layout(tmp_path / "layout", "1", images, as_index=True), "1", ref, all_images=True)
    assert containerd.pull_and_run(ref) == f"{HOST_ARCH}\n"
    containerd.ctr("image", "pull", "--plain-http", "--all-platforms", ref)
    row = [line for line in containerd.ctr("image", "ls").stdout.splitlines() if line.startswith(ref + " ")][0]
    assert f"linux/{HOST_ARCH}" in row and f"linux/{OTHER_ARCH}" in row
    assert "application/vnd.oci.image.index.v1+json" in row


def test_zstd_layers_pushed_back_by_dockyard_run_in_containerd(daemon, containerd, our_registry, distribution,
                                                              tmp_path):
    # layers of their own: skopeo reuses a gzip blob the registry already holds for the same content (the
    # index test pushed busybox_layer()) instead of writing it as zstd
    base = tar_layer({"bin/busybox": Path("/bin/busybox").read_bytes(), "etc/zstd": b"1\n"}, {"bin/cat": "busybox"})
    img = Image([base, tar_layer({"etc/motd": b"zstd layers on a node\n"})], cmd=["cat", "/etc/motd"])
    source = f"{distribution.host}/zstd/app:1"
    skopeo_zstd(oci_layout(tmp_path / "zl", "1", [img]), "1", source)
    assert {layer["mediaType"] for layer in manifest_of(distribution.url, "zstd/app", "1")["layers"]} == \
        {OCI_LAYER_ZSTD}
    daemon.docker("pull", source)
    ref = f"{our_registry.host}/zstd/app:1"
    daemon.docker("tag", source, ref)
    daemon.dockyard("push", ref)
    pushed = manifest_of(our_registry.url, "zstd/app", "1")
    assert pushed["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert {layer["mediaType"] for layer in pushed["layers"]} == {OCI_LAYER_ZSTD}
    assert containerd.pull_and_run(ref) == "zstd layers on a node\n"
    assert containerd.pull_and_run(source) == "zstd layers on a node\n"
