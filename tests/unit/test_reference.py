"""Reference parsing: the results and error messages of distribution/reference (what docker prints)."""
import pytest

from dockyard.errors import InvalidParameter
from dockyard.image import reference as ref

D64 = "sha256:" + "0123456789abcdef" * 4

VALID = [
    # input, domain, path, tag, digest, familiar, full
    ("busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest",
     "docker.io/library/busybox:latest"),
    ("busybox:1.36.1", "docker.io", "library/busybox", "1.36.1", None, "busybox:1.36.1",
     "docker.io/library/busybox:1.36.1"),
    ("library/busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest",
     "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest",
     "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox:x", "docker.io", "library/busybox", "x", None, "busybox:x",
     "docker.io/library/busybox:x"),
    ("me/app:1", "docker.io", "me/app", "1", None, "me/app:1", "docker.io/me/app:1"),
    ("docker.io/library/a/b", "docker.io", "library/a/b", "latest", None, "library/a/b:latest",
     "docker.io/library/a/b:latest"),
    ("localhost:5000/x", "localhost:5000", "x", "latest", None, "localhost:5000/x:latest",
     "localhost:5000/x:latest"),
    ("localhost/x:y", "localhost", "x", "y", None, "localhost/x:y", "localhost/x:y"),
    ("registry.example.com/team/app/api:v1.2_3-rc", "registry.example.com", "team/app/api", "v1.2_3-rc", None,
     "registry.example.com/team/app/api:v1.2_3-rc", "registry.example.com/team/app/api:v1.2_3-rc"),
    ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None, "[::1]:5000/x:y", "[::1]:5000/x:y"),
    # an uppercase first component is taken as a registry host, as Docker does
    ("Foo/bar", "Foo", "bar", "latest", None, "Foo/bar:latest", "Foo/bar:latest"),
    ("a_b.c__d-e--f", "docker.io", "library/a_b.c__d-e--f", "latest", None, "a_b.c__d-e--f:latest",
     "docker.io/library/a_b.c__d-e--f:latest"),
    ("busybox:LATEST", "docker.io", "library/busybox", "LATEST", None, "busybox:LATEST",
     "docker.io/library/busybox:LATEST"),
    # a digest suppresses the default tag; tag and digest may both be given
    (f"busybox@{D64}", "docker.io", "library/busybox", None, D64, f"busybox@{D64}",
     f"docker.io/library/busybox@{D64}"),
    (f"me/app:1@{D64}", "docker.io", "me/app", "1", D64, f"me/app:1@{D64}", f"docker.io/me/app:1@{D64}"),
    (f"localhost:5000/x@{D64}", "localhost:5000", "x", None, D64, f"localhost:5000/x@{D64}",
     f"localhost:5000/x@{D64}"),
    ("x:" + "t" * 128, "docker.io", "library/x", "t" * 128, None, "x:" + "t" * 128,
     "docker.io/library/x:" + "t" * 128),
]


@pytest.mark.parametrize("text,domain,path,tag,digest,familiar,full", VALID)
def test_parse_valid(text, domain, path, tag, digest, familiar, full):
    r = ref.parse(text)
    assert (r.domain, r.path, r.tag, r.digest) == (domain, path, tag, digest)
    assert r.familiar() == familiar
    assert r.full() == full
    assert ref.normalize(text) == full


INVALID = [
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("me/App:1", "invalid reference format: repository name (me/App) must be lowercase"),
    ("docker.io/Me/app", "invalid reference format: repository name (Me/app) must be lowercase"),
    ("", "invalid reference format"),
    ("busybox:", "invalid reference format"),
    (":latest", "invalid reference format"),
    ("busybox:a:b", "invalid reference format"),
    ("-busybox", "invalid reference format"),
    ("a..b", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("busybox:-tag", "invalid reference format"),
    ("x:" + "t" * 129, "invalid reference format"),
    ("busybox@sha256:abc", "invalid reference format"),  # fewer than 32 hex digits fails the grammar
    ("busybox@sha256:" + "a" * 40, "invalid checksum digest length"),
    ("busybox@sha256:" + "A" * 64, "invalid checksum digest format"),
    ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
    ("a" * 240, "repository name must not be more than 255 characters"),  # counted with docker.io/library/
]


@pytest.mark.parametrize("text,message", INVALID)
def test_parse_invalid(text, message):
    with pytest.raises(InvalidParameter) as e:
        ref.parse(text)
    assert str(e.value) == message


def test_name_length_limit_counts_the_normalised_name():
    ok = "a" * (255 - len("docker.io/library/"))
    assert ref.parse(ok).path == "library/" + ok
    with pytest.raises(InvalidParameter):
        ref.parse(ok + "a")


def test_repository_and_name():
    assert ref.parse("busybox:1").repository() == "busybox"
    assert ref.parse("me/app:1").repository() == "me/app"
    assert ref.parse("localhost:5000/x").repository() == "localhost:5000/x"
    assert ref.parse("busybox").name() == "docker.io/library/busybox"


def test_with_tag_replaces_the_tag():
    r = ref.parse("me/app:1").with_tag("2")
    assert r.familiar() == "me/app:2"
    assert ref.parse("busybox").with_tag("x").full() == "docker.io/library/busybox:x"
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        ref.parse("busybox").with_tag("bad tag")


def test_no_default_tag_on_request():
    assert ref.parse("busybox", default_tag=False).tag is None


def test_references_are_values():
    assert ref.parse("busybox") == ref.parse("docker.io/library/busybox:latest")
    assert len({ref.parse("busybox"), ref.parse("library/busybox:latest")}) == 1


@pytest.mark.parametrize("text,expected", [
    (D64, True),
    ("sha256:0123ab", True),
    ("0123456789abcdef" * 4, True),
    ("abc", False),  # could be a name: docker tries it as a name first
    ("busybox", False),
    ("sha256:xyz", False),
    ("sha256:" + "0" * 65, False),
])
def test_looks_like_id(text, expected):
    assert ref.looks_like_id(text) is expected


def test_could_be_id_prefix_and_hex():
    assert ref.could_be_id_prefix("abc") and ref.could_be_id_prefix("sha256:abc")
    assert not ref.could_be_id_prefix("me/app")
    assert ref.id_prefix_hex("sha256:abc") == "abc"
