"""RegistryClient against Debian's docker-registry (distribution 2.8), a real process on 127.0.0.1."""
from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from dockyard.errors import NotFound, Unauthorized, Unavailable
from dockyard.registry.client.auth import Credentials
from dockyard.registry.client.errors import NoBasicAuthCredentials
from dockyard.registry.client.distribution import (DEFAULT_ACCEPT, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
                                                   DigestMismatch, RegistryClient)
from dockyard.registry.client.platform import Platform, select_manifest

from .helpers import Image, free_port, index_of, oci_layout, run, sha256, skopeo_copy, tar_layer


async def _blob(client, repo, digest, size=None) -> bytes:
    return b"".join([c async for c in client.fetch_blob(repo, digest, size)])


def _source(data: bytes, step: int = 1 << 16):
    async def gen(offset: int):
        for i in range(offset, len(data), step):
            yield data[i:i + step]
    return gen


def test_pull_by_tag_and_digest(registry, pushed):
    async def go():
        async with RegistryClient(registry.host) as c:
            body, media_type, digest = await c.get_manifest("library/busybox", "latest")
            assert (media_type, digest, body) == (MEDIA_OCI_MANIFEST, pushed.digest, pushed.manifest)
            assert c.endpoint.url == f"http://{registry.host}"  # HTTPS tried first, then plain HTTP (loopback)
            again = await c.get_manifest("library/busybox", pushed.digest)
            assert again == (body, media_type, digest)
            manifest = json.loads(body)
            config = await _blob(c, "library/busybox", manifest["config"]["digest"], manifest["config"]["size"])
            assert config == pushed.config
            for desc, expected in zip(manifest["layers"], pushed.layers):
                data = await _blob(c, "library/busybox", desc["digest"], desc["size"])
                assert data == expected
                assert gzip.decompress(data)[:100]  # a real tar inside
            assert await c.blob_exists("library/busybox", manifest["layers"][0]["digest"]) == len(pushed.layers[0])
            assert await c.blob_exists("library/busybox", sha256(b"nothing")) is None
            assert await c.list_tags("library/busybox") == ["latest"]
    run(go())


def test_unknown_repository_and_tag_messages(registry, pushed):
    async def go():
        async with RegistryClient(registry.host) as c:
            with pytest.raises(NotFound) as e:
                await c.get_manifest("library/busybox", "nope")
            assert str(e.value) == (f"manifest for {registry.host}/library/busybox:nope not found: "
                                    "manifest unknown: manifest unknown")
            with pytest.raises(NotFound) as e:
                await c.get_manifest("no/such/repo", "latest")
            assert str(e.value).startswith(f"manifest for {registry.host}/no/such/repo:latest not found")
            with pytest.raises(NotFound) as e:
                await c.list_tags("no/such/repo")
            assert "name unknown" in str(e.value)
    run(go())


def test_corrupted_blob_is_refused_before_its_last_chunk(registry, pushed):
    """The registry serves bytes that do not hash to the digest: the last chunk never comes out."""
    layer = pushed.layers[0]
    digest = sha256(layer)
    path = registry.blob_path(digest)
    original = path.read_bytes()
    corrupt = bytearray(original)
    corrupt[len(corrupt) // 2] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    try:
        async def go():
            received = []
            async with RegistryClient(registry.host) as c:
                with pytest.raises(DigestMismatch) as e:
                    async for chunk in c.fetch_blob("library/busybox", digest, len(layer)):
                        received.append(chunk)
            assert str(e.value) == f"filesystem layer verification failed for digest {digest}"
            assert sum(map(len, received)) < len(layer)
        run(go())
    finally:
        path.write_bytes(original)


def test_manifest_by_digest_is_verified(registry, pushed):
    async def go():
        async with RegistryClient(registry.host) as c:
            wrong = sha256(b"not the manifest")
            with pytest.raises(NotFound):  # the registry has no manifest under that digest
                await c.get_manifest("library/busybox", wrong)
    run(go())


def test_upload_monolithic_chunked_mount_and_manifest(registry):
    layer = gzip.compress(os.urandom(300_000), mtime=0)  # incompressible: several chunks
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(gzip.decompress(layer))]}}).encode()

    async def go():
        async with RegistryClient(registry.host, push=True) as c:
            seen = []
            got = await c.upload_blob("up/one", sha256(layer), len(layer), _source(layer), chunk_size=100_000,
                                      progress=seen.append)
            assert got == sha256(layer)
            assert seen[-1] == len(layer) and len(seen) == 4  # four PATCHes with Content-Range
            await c.upload_blob("up/one", sha256(config), len(config), _source(config))  # one PUT
            assert await c.blob_exists("up/one", sha256(layer)) == len(layer)
            # Cross-repository mount: the registry links the blob without an upload.
            assert await c.blob_exists("up/two", sha256(layer)) is None
            assert await c.mount_blob("up/two", sha256(layer), "up/one") is True
            assert await c.blob_exists("up/two", sha256(layer)) == len(layer)
            assert await c.mount_blob("up/two", sha256(b"absent"), "up/one") is False
            manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                              "digest": sha256(config), "size": len(config)},
                                   "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                               "digest": sha256(layer), "size": len(layer)}]}).encode()
            digest = await c.put_manifest("up/one", "v1", manifest, MEDIA_OCI_MANIFEST)
            assert digest == sha256(manifest)
        async with RegistryClient(registry.host) as c:
            assert await c.get_manifest("up/one", "v1") == (manifest, MEDIA_OCI_MANIFEST, digest)
            assert await _blob(c, "up/one", sha256(layer)) == layer
    run(go())


def test_multi_arch_index_and_platform_choice(registry, tmp_path):
    amd = Image([tar_layer({"arch": b"amd64\n"})], arch="amd64")
    arm = Image([tar_layer({"arch": b"arm64\n"})], arch="arm64", variant="v8")
    layout = oci_layout(tmp_path / "multi", "multi", [amd, arm], as_index=True)
    skopeo_copy(layout, "multi", f"{registry.host}/multi/arch:latest", all_images=True)

    async def go():
        async with RegistryClient(registry.host) as c:
            body, media_type, digest = await c.get_manifest("multi/arch", "latest")
            assert media_type == MEDIA_OCI_INDEX and body == index_of([amd, arm])
            index = json.loads(body)
            assert select_manifest(index, Platform("linux", "arm64"))["digest"] == arm.digest
            assert select_manifest(index, Platform("linux", "amd64"))["digest"] == amd.digest
            with pytest.raises(NotFound) as e:
                select_manifest(index, Platform("linux", "s390x"))
            assert str(e.value) == "no matching manifest for linux/s390x in the manifest list entries"
            m, mt, d = await c.get_manifest("multi/arch", arm.digest)
            assert (m, d) == (arm.manifest, arm.digest)
    run(go())


def test_registry_down_is_unavailable_after_retries():
    port = free_port()

    async def go():
        async with RegistryClient(f"127.0.0.1:{port}", retries=2, backoff=0.01) as c:
            with pytest.raises(Unavailable) as e:
                await c.get_manifest("x/y", "latest")
        assert f"127.0.0.1:{port}" in str(e.value) and "connection refused" in str(e.value)
    run(go())


def test_blob_download_resumes_after_the_registry_restarts(make_registry, tmp_path):
    """A registry killed mid-blob and back on the same port: the fetch resumes with a Range request."""
    reg = make_registry()
    big = Image([os.urandom(4 << 20)])  # random: gzip cannot shrink it
    layout = oci_layout(tmp_path / "big", "v1", [big])
    skopeo_copy(layout, "v1", f"{reg.host}/big/blob:v1")
    digest, size = sha256(big.layers[0]), len(big.layers[0])

    async def go():
        async with RegistryClient(reg.host, retries=6, backoff=0.2) as c:
            hasher, n = hashlib.sha256(), 0
            async for chunk in c.fetch_blob("big/blob", digest, size):
                hasher.update(chunk)
                n += len(chunk)
                if n and reg.proc is not None and n < size:
                    reg.kill()  # mid-stream: the rest must come from a new connection
                    reg.start()
            assert "sha256:" + hasher.hexdigest() == digest and n == size
    run(go())


def test_htpasswd_basic_auth(htpasswd_registry, busybox_image, tmp_path):
    reg = htpasswd_registry
    layout = oci_layout(tmp_path / "l", "v1", [busybox_image])
    skopeo_copy(layout, "v1", f"{reg.host}/private/bb:v1", creds="alice:wonderland")

    async def go():
        async with RegistryClient(reg.host) as c:  # anonymous: Go's url.Error around ErrNoBasicAuthCredentials
            with pytest.raises(NoBasicAuthCredentials) as e:
                await c.get_manifest("private/bb", "v1")
            assert str(e.value) == f'Head "http://{reg.host}/v2/private/bb/manifests/v1": no basic auth credentials'
            with pytest.raises(NoBasicAuthCredentials) as e:
                await c.blob_exists("private/bb", sha256(busybox_image.config))
            assert str(e.value) == (f'Head "http://{reg.host}/v2/private/bb/blobs/{sha256(busybox_image.config)}": '
                                    "no basic auth credentials")
        async with RegistryClient(reg.host, credentials=Credentials("alice", "wonderland")) as c:
            assert await c.check_login() == {"Status": "Login Succeeded", "IdentityToken": ""}
            _, _, digest = await c.get_manifest("private/bb", "v1")
            assert digest == busybox_image.digest
            assert c.auth.challenge.scheme == "basic"
        async with RegistryClient(reg.host, credentials=Credentials("alice", "wrong")) as c:
            with pytest.raises(Unauthorized) as e:
                await c.check_login()
            assert str(e.value) == f"login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized"
    run(go())


def test_bearer_token_auth_follows_the_challenge(token_registry, token_server, busybox_image, tmp_path):
    reg = token_registry
    layout = oci_layout(tmp_path / "l", "v1", [busybox_image])
    skopeo_copy(layout, "v1", f"{reg.host}/public/bb:v1", creds="alice:wonderland")
    skopeo_copy(layout, "v1", f"{reg.host}/private/bb:v1", creds="alice:wonderland")
    token_server.requests.clear()

    async def go():
        async with RegistryClient(reg.host) as c:  # anonymous: public pull works, private does not
            _, _, digest = await c.get_manifest("public/bb", "v1")
            assert digest == busybox_image.digest
            assert await _blob(c, "public/bb", sha256(busybox_image.config)) == busybox_image.config
            with pytest.raises(NotFound) as e:
                await c.get_manifest("private/bb", "v1")
            assert "pull access denied for" in str(e.value)
        method, query, user = token_server.requests[0]
        assert (method, query["service"], query["scope"], user) == (
            "GET", ["dockyard-test-registry"], ["repository:public/bb:pull"], "")
        # One token per scope, reused for the blob fetch: manifest+blob of public/bb cost one token request.
        assert [q["scope"] for _, q, _ in token_server.requests] == [
            ["repository:public/bb:pull"], ["repository:private/bb:pull"]]

        async with RegistryClient(reg.host, credentials=Credentials("alice", "wonderland")) as c:
            login = await c.check_login()
            assert login["Status"] == "Login Succeeded" and login["IdentityToken"]
            _, _, digest = await c.get_manifest("private/bb", "v1")
            assert digest == busybox_image.digest
        # The identity token (an OAuth2 refresh token) alone is enough: POST grant_type=refresh_token.
        token_server.requests.clear()
        async with RegistryClient(reg.host, credentials=Credentials(identity_token=login["IdentityToken"])) as c:
            await c.get_manifest("private/bb", "v1")
        assert token_server.requests[0][0] == "POST"
        assert token_server.requests[0][1]["grant_type"] == ["refresh_token"]
        async with RegistryClient(reg.host, credentials=Credentials("alice", "bad")) as c:
            with pytest.raises(Unauthorized) as e:
                await c.check_login()
            assert str(e.value) == "unauthorized: incorrect username or password"
    run(go())


def test_default_accept_lists_all_four_types():
    assert DEFAULT_ACCEPT == ["application/vnd.docker.distribution.manifest.v2+json",
                              "application/vnd.docker.distribution.manifest.list.v2+json",
                              "application/vnd.oci.image.manifest.v1+json",
                              "application/vnd.oci.image.index.v1+json"]


def test_docker_hub_names_go_to_mirrors_first_then_the_hub(make_registry, tmp_path):
    """`busybox` means docker.io/library/busybox; with registry-mirrors the mirror answers first and the
    Hub endpoint only when the mirror lacks the image. (The "Hub" here is a local registry.)"""
    from dockyard.image.reference import parse
    from dockyard.registry.client.endpoints import RegistryHosts

    mirror, hub = make_registry(name="mirror"), make_registry(name="hub")
    cached = Image([tar_layer({"from": b"mirror\n"})])
    only_hub = Image([tar_layer({"from": b"hub\n"})])
    skopeo_copy(oci_layout(tmp_path / "a", "latest", [cached]), "latest", f"{mirror.host}/library/busybox:latest")
    skopeo_copy(oci_layout(tmp_path / "b", "latest", [only_hub]), "latest", f"{hub.host}/library/rare:latest")
    hosts = RegistryHosts(registry_mirrors=[mirror.url], hub_url=hub.url)

    async def go():
        for name, image, served_by in (("busybox", cached, mirror), ("rare", only_hub, hub)):
            ref = parse(name)
            assert (ref.domain, ref.path) == ("docker.io", f"library/{name}")
            async with RegistryClient(ref.domain, hosts=hosts) as c:
                _, _, digest = await c.get_manifest(ref.path, ref.tag)
                assert digest == image.digest and c.endpoint.url == served_by.url
                layer = await _blob(c, ref.path, sha256(image.layers[0]))
                assert layer == image.layers[0]
        async with RegistryClient("docker.io", hosts=hosts) as c:
            with pytest.raises(NotFound, match="manifest for nothing/here:latest not found"):
                await c.get_manifest("nothing/here", "latest")
    run(go())


# ---------------------------------------------------------------------- TLS with a per-registry CA
def _ca_and_server_cert(workdir, dns_name: str) -> tuple[bytes, str, str]:
    """A CA, and a server certificate for `dns_name` it signed: (CA PEM, server cert path, server key path)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject, issuer, public_key, signing_key, *extensions):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1)))
        for ext, critical in extensions:
            b = b.add_extension(ext, critical)
        return b.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test registry CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, (x509.BasicConstraints(ca=True, path_length=0), True))
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]), ca_name, key.public_key(), ca_key,
                 (x509.SubjectAlternativeName([x509.DNSName(dns_name)]), False),
                 (x509.BasicConstraints(ca=False, path_length=None), True))
    cert_path, key_path = workdir / "server.crt", workdir / "server.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM), str(cert_path), str(key_path)


def _loopback_session():
    """A session that resolves every name to 127.0.0.1, so a registry can have a real (non-loopback) name
    for TLS verification while listening on loopback."""
    import socket

    import aiohttp
    from aiohttp.abc import AbstractResolver

    class Loopback(AbstractResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                     "proto": 0, "flags": socket.AI_NUMERICHOST}]

        async def close(self):
            pass

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=Loopback()), auto_decompress=False)


def test_tls_pull_verifies_with_the_per_registry_ca_from_certs_d(tmp_path):
    """Our registry server over TLS with a certificate from a private CA: a pull handshakes (verifying the
    chain and the name) with `<certs.d>/<host:port>/ca.crt`; without that directory it is refused."""
    from dockyard.registry.client.endpoints import RegistryHosts
    from tests.registry_server.regsrv_helpers import Server, push_image

    name = "registry.dockyard.test"
    ca_pem, cert, key = _ca_and_server_cert(tmp_path, name)
    server = Server(str(tmp_path / "storage"), {"http": {"tls": {"certificate": cert, "key": key}}},
                    workdir=str(tmp_path / "run"), tls=True).start()
    try:
        img = Image([tar_layer({"tls/hello": b"over TLS\n"})])
        with server.client() as c:
            push_image(c, "tls/img", "v1", img)
        registry = f"{name}:{server.port}"
        (tmp_path / "certs.d" / registry).mkdir(parents=True)
        (tmp_path / "certs.d" / registry / "ca.crt").write_bytes(ca_pem)
        not_loopback = lambda *_: [(None, None, None, None, ("192.0.2.10", 0))]  # noqa: E731 (TEST-NET)

        async def pull(certs_dirs):
            session = _loopback_session()
            hosts = RegistryHosts(certs_dirs=certs_dirs, resolve=not_loopback)
            try:
                async with RegistryClient(registry, hosts=hosts, session=session, retries=0) as client:
                    _, _, digest = await client.get_manifest("tls/img", "v1")
                    assert client.endpoint.url == f"https://{registry}" and client.endpoint.secure
                    return digest, await _blob(client, "tls/img", sha256(img.layers[0]), len(img.layers[0]))
            finally:
                await session.close()

        assert run(pull([tmp_path / "certs.d"])) == (img.digest, img.layers[0])
        with pytest.raises(Unavailable, match="certificate verify failed"):
            run(pull([tmp_path / "no-certs.d"]))
    finally:
        server.stop()
