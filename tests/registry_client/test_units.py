"""Docker Hub conventions, transport rules, platforms, challenges and credential files; no network."""
from __future__ import annotations

import base64
import json
import os
import stat
import subprocess

import pytest

from dockyard.errors import InvalidParameter, NotFound
from dockyard.registry.client.auth import Credentials, parse_www_authenticate
from dockyard.registry.client.dockercfg import DockerConfigFile, decode_registry_auth, encode_registry_auth
from dockyard.registry.client.endpoints import RegistryHosts, config_key, normalize_registry
from dockyard.registry.client.platform import Platform, host_platform, parse_platform, select_manifest


def no_dns(*_a, **_k):
    raise AssertionError("no name may be resolved in this test")


# ---------------------------------------------------------------------- endpoints
def test_docker_hub_is_registry_1_over_https_and_mirrors_come_first():
    hosts = RegistryHosts(registry_mirrors=["https://mirror.example:5000/"], resolve=no_dns)
    pull = hosts.endpoints("docker.io")
    assert [e.url for e in pull] == ["https://mirror.example:5000", "https://registry-1.docker.io"]
    assert pull[0].mirror and not pull[1].mirror and pull[1].secure
    assert [e.url for e in hosts.endpoints("docker.io", push=True)] == ["https://registry-1.docker.io"]
    for alias in ("index.docker.io", "https://index.docker.io/v1/", "docker.io", ""):
        assert normalize_registry(alias) == "docker.io"
        assert config_key(alias) == "https://index.docker.io/v1/"
    assert config_key("localhost:5000") == "localhost:5000"
    assert normalize_registry("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"


def test_plain_http_only_for_loopback_and_insecure_registries():
    outside = lambda name, port: [(None, None, None, None, ("192.0.2.1", 0))]  # TEST-NET: no real lookup
    hosts = RegistryHosts(insecure_registries=["myreg.internal:5000", "10.20.0.0/16"], resolve=outside)
    for name in ("localhost:5000", "127.0.0.1:5000", "127.3.4.5", "[::1]:5000", "myreg.internal:5000", "10.20.3.4:443"):
        assert hosts.is_insecure(name), name
        assert [e.url.split("://")[0] for e in hosts.endpoints(name)] == ["https", "http"]
        assert all(e.ssl is False for e in hosts.endpoints(name))
    for name in ("registry.example.com", "10.21.0.1:5000", "docker.io", "myreg.internal:5001"):
        assert not hosts.is_insecure(name), name
    secure = hosts.endpoints("registry.example.com")
    assert [e.url for e in secure] == ["https://registry.example.com"] and secure[0].secure


def test_insecure_cidr_matches_names_through_resolution():
    calls = []

    def fake_resolve(name, port):
        calls.append(name)
        return [(None, None, None, None, ("10.20.1.1", 0))]

    hosts = RegistryHosts(insecure_registries=["10.20.0.0/16"], resolve=fake_resolve)
    assert hosts.is_insecure("build-cache:5000") and calls == ["build-cache"]


def test_a_reload_replaces_insecure_registries_and_mirrors():
    """What a SIGHUP reload of daemon.json does to a running daemon's registry resolution."""
    hosts = RegistryHosts(insecure_registries=["old.internal:5000"], registry_mirrors=["https://m1.example"],
                          resolve=no_dns)
    hosts.remember("old.internal:5000", hosts.endpoints("old.internal:5000")[1])
    hosts.configure(["new.internal:5000"], ["https://m2.example"])
    assert hosts.is_insecure("new.internal:5000") and not hosts.is_insecure("old.internal:5000")
    assert [e.url for e in hosts.endpoints("docker.io")][0] == "https://m2.example"
    assert [e.url for e in hosts.endpoints("old.internal:5000")] == ["https://old.internal:5000"]


def test_working_endpoint_is_remembered():
    hosts = RegistryHosts(resolve=no_dns)
    http = hosts.endpoints("127.0.0.1:5000")[1]
    hosts.remember("127.0.0.1:5000", http)
    assert hosts.endpoints("127.0.0.1:5000")[0].url == "http://127.0.0.1:5000"


def test_per_registry_ca_directory(tmp_path):
    """`<certs_dir>/<host:port>/ca.crt` is trusted for that registry only."""
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=dockyard-test-ca", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    d = tmp_path / "certs.d" / "reg.example:5443"
    d.mkdir(parents=True)
    (d / "ca.crt").write_bytes(cert.read_bytes())
    hosts = RegistryHosts(certs_dirs=[tmp_path / "certs.d", tmp_path / "absent"], resolve=no_dns)
    ours = hosts.endpoints("reg.example:5443")[0].ssl
    other = hosts.endpoints("other.example")[0].ssl
    names = lambda ctx: {dict(x[0] for x in c["subject"]).get("commonName") for c in ctx.get_ca_certs()}
    assert "dockyard-test-ca" in names(ours) and "dockyard-test-ca" not in names(other)


# ---------------------------------------------------------------------- platforms
def test_host_platform_uses_go_names():
    p = host_platform()
    assert p.os == "linux" and p.architecture in {"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"}
    if os.uname().machine == "x86_64":
        assert str(p) == "linux/amd64"
    if os.uname().machine == "aarch64":
        assert str(p) == "linux/arm64/v8"


def test_parse_platform():
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64", "")
    assert parse_platform("linux/aarch64") == Platform("linux", "arm64", "")
    assert parse_platform("linux/x86_64") == Platform("linux", "amd64", "")
    assert parse_platform("linux/arm") == Platform("linux", "arm", "v7")
    assert parse_platform("linux/arm/v6") == Platform("linux", "arm", "v6")
    assert parse_platform("arm64").architecture == "arm64"
    for bad in ("", "linux//v7", "a/b/c/d"):
        with pytest.raises(InvalidParameter):
            parse_platform(bad)


def test_index_entry_selection():
    index = {"manifests": [
        {"digest": "amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "armv6", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
        {"digest": "attest", "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]}
    assert select_manifest(index, parse_platform("linux/amd64"))["digest"] == "amd"
    assert select_manifest(index, parse_platform("linux/arm64"))["digest"] == "arm64"
    assert select_manifest(index, parse_platform("linux/arm/v7"))["digest"] == "armv6"  # v7 runs v6
    with pytest.raises(NotFound, match="no matching manifest for linux/arm/v5 in the manifest list entries"):
        select_manifest(index, parse_platform("linux/arm/v5"))
    with pytest.raises(NotFound, match="no matching manifest for windows/amd64"):
        select_manifest(index, parse_platform("windows/amd64"))


# ---------------------------------------------------------------------- challenges and credentials
def test_www_authenticate_parsing():
    (c,) = parse_www_authenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                  'scope="repository:library/busybox:pull,push",error="insufficient_scope"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull,push", "error": "insufficient_scope"}
    basic, bearer = parse_www_authenticate('Basic realm="r e", Bearer realm="https://x/t"')
    assert (basic.scheme, basic.params, bearer.params) == ("basic", {"realm": "r e"}, {"realm": "https://x/t"})


def test_x_registry_auth_header_round_trip():
    cfg = {"username": "alice", "password": "pa+ss/==", "serveraddress": "127.0.0.1:5000"}
    header = encode_registry_auth(cfg)
    assert decode_registry_auth(header) == cfg
    assert decode_registry_auth(header.rstrip("=")) == cfg  # the CLI may drop padding
    assert decode_registry_auth("") is None and decode_registry_auth("e30=") is None
    docker_cli = base64.urlsafe_b64encode(json.dumps({"identitytoken": "tok", "serveraddress": "r"}).encode()).decode()
    creds = Credentials.from_auth_config(decode_registry_auth(docker_cli))
    assert creds.identity_token == "tok" and not creds.anonymous
    with pytest.raises(InvalidParameter, match="invalid X-Registry-Auth header"):
        decode_registry_auth("%%%not base64")
    assert Credentials.from_auth_config({"auth": base64.b64encode(b"bob:pw").decode()}) == Credentials("bob", "pw")


def test_config_json_auths_read_and_written_like_docker(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw").decode()}},
                                "psFormat": "table {{.ID}}"}))
    cfg = DockerConfigFile(path)
    assert cfg.get("docker.io") == {"serveraddress": "https://index.docker.io/v1/", "username": "hub", "password": "pw"}
    cfg.store("localhost:5000", {"username": "alice", "password": "wonderland"})
    data = json.loads(path.read_text())
    assert data["psFormat"] == "table {{.ID}}"  # other settings survive
    assert data["auths"]["localhost:5000"] == {"auth": base64.b64encode(b"alice:wonderland").decode()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DockerConfigFile(path).get("http://localhost:5000")["username"] == "alice"
    assert cfg.erase("localhost:5000") is True and cfg.erase("localhost:5000") is False
    assert "localhost:5000" not in json.loads(path.read_text())["auths"]
    assert DockerConfigFile(tmp_path / "absent.json").get("x") == {"serveraddress": "x"}


def test_credential_helpers(tmp_path, monkeypatch):
    """credHelpers/credsStore run docker-credential-<name> get|store|erase with docker's JSON protocol."""
    store = tmp_path / "store.json"
    helper = tmp_path / "bin" / "docker-credential-dytest"
    helper.parent.mkdir()
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(store)!r}
try:
    db = json.load(open(path))
except FileNotFoundError:
    db = {{}}
action, data = sys.argv[1], sys.stdin.read()
if action == "store":
    d = json.loads(data); db[d["ServerURL"]] = d
elif action == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(db[data.strip()]))
elif action == "erase":
    if db.pop(data.strip(), None) is None:
        print("credentials not found in native keychain"); sys.exit(1)
json.dump(db, open(path, "w"))
""")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helper.parent}:{os.environ['PATH']}")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credHelpers": {"127.0.0.1:5000": "dytest"}}))
    cfg = DockerConfigFile(path)
    cfg.store("127.0.0.1:5000", {"username": "alice", "password": "wonderland"})
    assert json.loads(path.read_text())["auths"] == {"127.0.0.1:5000": {}}  # the secret is not in the file
    assert json.loads(store.read_text())["127.0.0.1:5000"]["Secret"] == "wonderland"
    assert cfg.get("127.0.0.1:5000")["password"] == "wonderland"
    cfg.store("127.0.0.1:5000", {"identitytoken": "refresh-me"})
    assert cfg.get("127.0.0.1:5000") == {"serveraddress": "127.0.0.1:5000", "identitytoken": "refresh-me"}
    assert cfg.erase("127.0.0.1:5000") is True
    assert cfg.get("127.0.0.1:5000") == {"serveraddress": "127.0.0.1:5000"}
    assert cfg.get("other:1") == {"serveraddress": "other:1"}  # no helper for it, nothing in auths
