"""Auth: htpasswd basic, the built-in token service, per-repository rules, private repositories, TLS."""
import base64
import datetime
import json
import re
import ssl

import bcrypt
import httpx
import pytest

from regsrv_helpers import Image, busybox_layer, error_code, oci_layout, push_image, skopeo

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
ACCESS = {
    "user_namespaces": True,
    "default": {"public": True, "pull": ["*"], "push": []},
    "repositories": [
        {"match": "team/*", "public": True, "pull": ["*"], "push": ["alice"]},
        {"match": "secret/*", "public": False, "pull": ["bob"], "push": ["alice"]},
    ],
}


@pytest.fixture
def htpasswd(tmp_path):
    path = tmp_path / "users.htpasswd"
    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n" for u, p in USERS.items()))
    return str(path)


def basic(user):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()}


def challenge_params(header: str) -> dict:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def get_token(c: httpx.Client, challenge: str, scopes: list[str], user: str | None = None) -> str:
    params = challenge_params(challenge)
    r = c.get(params["realm"], params={"service": params["service"], "scope": scopes},
              headers=basic(user) if user else None)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0
    return body["token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# ---------------- htpasswd ----------------
def test_htpasswd_basic_auth_and_rules(make_server, htpasswd):
    srv = make_server({"auth": {"htpasswd": {"realm": "dockyard-test", "path": htpasswd}}, "access": ACCESS})
    img = Image([b"basic layer"])
    with srv.client() as c:
        r = c.get("/v2/")
        assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
        assert r.headers["WWW-Authenticate"] == 'Basic realm="dockyard-test"'
        r = c.get("/v2/", headers={"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()})
        assert r.status_code == 401
        assert c.get("/v2/", headers=basic("alice")).status_code == 200

        push_image(c, "team/app", "v1", img, headers=basic("alice"))
        push_image(c, "secret/x", "v1", img, headers=basic("alice"))

        # bob may pull team/* but not push: 403 DENIED.
        r = c.post("/v2/team/app/blobs/uploads/", headers=basic("bob"))
        assert r.status_code == 403 and error_code(r) == "DENIED"
        assert c.get("/v2/team/app/manifests/v1", headers=basic("bob")).status_code == 200
        # Anonymous: public repository readable, pushing asks for credentials.
        assert c.get("/v2/team/app/manifests/v1").status_code == 200
        r = c.post("/v2/team/app/blobs/uploads/")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
        # Private repository: anonymous 401, carol (not listed) 403, bob (puller) 200.
        assert c.get("/v2/secret/x/manifests/v1").status_code == 401
        r = c.get("/v2/secret/x/manifests/v1", headers=basic("carol"))
        assert r.status_code == 403 and error_code(r) == "DENIED"
        assert c.get("/v2/secret/x/manifests/v1", headers=basic("bob")).status_code == 200
        # Own namespace: carol may push carol/*.
        push_image(c, "carol/mine", "v1", img, headers=basic("carol"))

        assert "secret/x" not in c.get("/v2/_catalog", headers=basic("carol")).json()["repositories"]
        assert "secret/x" in c.get("/v2/_catalog", headers=basic("bob")).json()["repositories"]


def test_htpasswd_without_access_rules_is_private_like_registry_2(make_server, htpasswd):
    """No `access` section: every signed-in user may pull and push, anonymous callers may not even pull."""
    srv = make_server({"auth": {"htpasswd": {"realm": "dockyard-test", "path": htpasswd}}})
    with srv.client() as c:
        push_image(c, "app", "v1", Image([b"private by default"]), headers=basic("alice"))
        assert c.get("/v2/app/manifests/v1", headers=basic("bob")).status_code == 200
        r = c.get("/v2/app/manifests/v1")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="dockyard-test"'
        assert c.get("/v2/app/tags/list").status_code == 401
        assert c.get("/v1/search", params={"q": "app"}).json()["results"] == []


# ---------------- token ----------------
@pytest.fixture
def token_server(make_server, htpasswd):
    return make_server({"auth": {"token": {"service": "dockyard-test", "issuer": "test-issuer",
                                           "htpasswd": htpasswd, "expiration": 600}}, "access": ACCESS})


def test_token_flow_and_denied(token_server):
    srv = token_server
    img = Image([b"token layer"])
    with srv.client() as c:
        r = c.get("/v2/")
        assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
        chal = r.headers["WWW-Authenticate"]
        assert chal.startswith("Bearer ")
        assert challenge_params(chal) == {"realm": f"{srv.url}/token", "service": "dockyard-test"}

        # Pushing without a token: the challenge names the scope to ask for.
        r = c.post("/v2/team/app/blobs/uploads/")
        assert r.status_code == 401
        assert challenge_params(r.headers["WWW-Authenticate"])["scope"] == "repository:team/app:pull,push"

        token = get_token(c, chal, ["repository:team/app:pull,push"], user="alice")
        got = claims(token)
        assert got["sub"] == "alice" and got["aud"] == "dockyard-test" and got["iss"] == "test-issuer"
        assert got["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]
        assert c.get("/v2/", headers=bearer(token)).status_code == 200
        push_image(c, "team/app", "v1", img, headers=bearer(token))

        # bob asks for push, gets pull only; pushing is DENIED (403), pulling works.
        bob = get_token(c, chal, ["repository:team/app:pull,push"], user="bob")
        assert claims(bob)["access"][0]["actions"] == ["pull"]
        r = c.post("/v2/team/app/blobs/uploads/", headers=bearer(bob))
        assert r.status_code == 403 and error_code(r) == "DENIED"
        assert c.get("/v2/team/app/manifests/v1", headers=bearer(bob)).status_code == 200

        # Anonymous token: public pull yes, push no (401 insufficient_scope, as registry:2 says of any valid
        # token lacking a scope; docker turns it into "denied: requested access to the resource is denied").
        anon = get_token(c, chal, ["repository:team/app:pull,push"])
        assert claims(anon)["sub"] == ""
        assert c.get("/v2/team/app/manifests/v1", headers=bearer(anon)).status_code == 200
        r = c.post("/v2/team/app/blobs/uploads/", headers=bearer(anon))
        assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
        # Without any token it is the plain challenge: sign in.
        r = c.post("/v2/team/app/blobs/uploads/")
        assert r.status_code == 401 and "error=" not in r.headers["WWW-Authenticate"]

        # A token for one repository does not open another.
        r = c.get("/v2/team/other/tags/list", headers=bearer(token))
        assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]

        # Bad credentials at the token service, and forged tokens, are refused.
        r = c.get(f"{srv.url}/token", params={"service": "dockyard-test", "scope": "repository:team/app:pull"},
                  headers={"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()})
        assert r.status_code == 401
        head, payload, sig = token.split(".")
        forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged["access"][0]["name"] = "secret/x"
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        r = c.get("/v2/secret/x/tags/list", headers=bearer(f"{head}.{forged_payload}.{sig}"))
        assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"


def test_refresh_tokens_offline_token_and_oauth2_grants(token_server, htpasswd):
    """auth-token.md's offline_token and distribution's OAuth2 POST (oauth.md): a refresh token for a signed-in
    user, traded for access tokens of any scope, refused as an access token, revoked by a password change."""
    srv = token_server
    realm, service = f"{srv.url}/token", "dockyard-test"
    scope = "repository:team/app:pull,push"
    with srv.client() as c:
        def oauth(**form):
            return c.post(realm, data={"service": service, "client_id": "test", **form})

        r = c.get(realm, params={"service": service, "offline_token": "true", "client_id": "test"},
                  headers=basic("alice"))
        assert r.status_code == 200
        refresh = r.json()["refresh_token"]
        assert "refresh_token" not in c.get(realm, params={"service": service}, headers=basic("alice")).json()
        assert "refresh_token" not in c.get(realm, params={"service": service, "offline_token": "true"}).json()

        r = oauth(grant_type="refresh_token", refresh_token=refresh, scope=scope)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["refresh_token"] == refresh and body["scope"] == scope
        assert claims(body["access_token"])["sub"] == "alice"
        assert claims(body["access_token"])["access"] == [{"type": "repository", "name": "team/app",
                                                           "actions": ["pull", "push"]}]
        push_image(c, "team/app", "refreshed", Image([b"refresh layer"]), headers=bearer(body["access_token"]))

        # A refresh token is no access token, and an access token is no refresh token.
        r = c.get("/v2/", headers=bearer(refresh))
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        r = oauth(grant_type="refresh_token", refresh_token=body["access_token"], scope=scope)
        assert r.status_code == 401 and r.json()["error"] == "invalid_grant"

        r = oauth(grant_type="password", username="bob", password=USERS["bob"], access_type="offline", scope=scope)
        assert r.status_code == 200 and r.json()["scope"] == "repository:team/app:pull"
        assert claims(r.json()["refresh_token"])["sub"] == "bob"
        assert "refresh_token" not in oauth(grant_type="password", username="bob", password=USERS["bob"]).json()
        r = oauth(grant_type="password", username="bob", password="nope")
        assert r.status_code == 401 and r.json()["details"] == "incorrect username or password"
        r = oauth(grant_type="authorization_code", code="x")
        assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"

        # alice changes her password: her refresh tokens stop working.
        with open(htpasswd) as f:
            lines = [l for l in f if not l.startswith("alice:")]
        with open(htpasswd, "w") as f:
            f.writelines(lines + [f"alice:{bcrypt.hashpw(b'new-pw', bcrypt.gensalt(4)).decode()}\n"])
        r = oauth(grant_type="refresh_token", refresh_token=refresh, scope=scope)
        assert r.status_code == 401 and r.json()["error"] == "invalid_grant"


def test_private_repo_invisible_in_catalog_and_search(token_server):
    srv = token_server
    img = Image([b"private layer"])
    with srv.client() as c:
        chal = c.get("/v2/").headers["WWW-Authenticate"]
        alice = get_token(c, chal, ["repository:secret/x:pull,push", "repository:team/pub:pull,push"], user="alice")
        push_image(c, "secret/x", "v1", img, headers=bearer(alice))
        push_image(c, "team/pub", "v1", img, headers=bearer(alice))

        def catalog(user):
            tok = get_token(c, chal, ["registry:catalog:*"], user=user)
            return c.get("/v2/_catalog", headers=bearer(tok)).json()["repositories"]

        assert catalog("carol") == ["team/pub"]
        assert catalog(None) == ["team/pub"]
        assert catalog("bob") == ["secret/x", "team/pub"]

        anon = get_token(c, chal, ["repository:secret/x:pull"])
        r = c.get("/v2/secret/x/manifests/v1", headers=bearer(anon))
        assert r.status_code == 401
        carol = get_token(c, chal, ["repository:secret/x:pull"], user="carol")
        assert claims(carol)["access"][0]["actions"] == []
        r = c.get("/v2/secret/x/manifests/v1", headers=bearer(carol))
        assert r.status_code == 403 and error_code(r) == "DENIED"

        names = lambda r: [x["name"] for x in r.json()["results"]]  # noqa: E731
        assert names(c.get("/v1/search", params={"q": "x"})) == []
        assert names(c.get("/v1/search", params={"q": "pub"})) == ["team/pub"]
        assert names(c.get("/v1/search", params={"q": "x"}, headers=basic("bob"))) == ["secret/x"]
        assert c.get("/v2/repositories/secret/x/tags").status_code == 404
        assert c.get("/v2/repositories/secret/x/tags", headers=basic("bob")).json()["results"][0]["name"] == "v1"


def test_skopeo_through_token_auth(token_server, tmp_path):
    srv = token_server
    img = Image([busybox_layer()], label="skopeo-token")
    oci_layout(str(tmp_path / "l"), {"1": img})
    dest = f"docker://{srv.host}/team/skopeo:1"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:alice-pw", f"oci:{tmp_path}/l:1", dest)
    r = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "bob:bob-pw", f"oci:{tmp_path}/l:1",
               f"docker://{srv.host}/team/skopeo:2", check=False)
    assert r.returncode != 0 and "denied" in r.stderr.lower()
    # Anonymous pull of a public repository works through the anonymous token.
    info = json.loads(skopeo("inspect", "--tls-verify=false", dest).stdout)
    assert info["Digest"] == img.digest
    r = skopeo("list-tags", "--tls-verify=false", f"docker://{srv.host}/team/skopeo")
    assert json.loads(r.stdout)["Tags"] == ["1"]


# ---------------- TLS ----------------
def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls(make_server, tmp_path):
    cert, key = _self_signed(tmp_path)
    srv = make_server({"http": {"tls": {"certificate": cert, "key": key}}}, tls=True)
    assert srv.url.startswith("https://")
    ctx = ssl.create_default_context(cafile=cert)
    r = httpx.get(f"{srv.url}/v2/", verify=ctx)
    assert r.status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{srv.host}/v2/", timeout=5)
    img = Image([b"tls layer"])
    oci_layout(str(tmp_path / "l"), {"1": img})
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path}/l:1", f"docker://{srv.host}/tls/img:1")
    with httpx.Client(base_url=srv.url, verify=ctx) as c:
        assert c.get("/v2/tls/img/manifests/1").headers["Docker-Content-Digest"] == img.digest
