"""The builder's helpers without a daemon: X-Registry-Config decoding and the entry a pull uses, EXPOSE port
specs, and the `--change` instructions docker commit applies."""
import base64
import json

import pytest

from dockyard.build.auth import auth_for_image, decode_registry_config
from dockyard.build.builder import expand_port_spec
from dockyard.daemon.changes import apply_changes
from dockyard.errors import InvalidParameter

HUB = {"username": "hubuser", "password": "hubpw", "serveraddress": "https://index.docker.io/v1/"}
OWN = {"Username": "alice", "Password": "alice-pw", "ServerAddress": "127.0.0.1:5000"}


def header(configs: dict, pad: bool = True) -> str:
    text = base64.urlsafe_b64encode(json.dumps(configs).encode()).decode()
    return text if pad else text.rstrip("=")


@pytest.mark.parametrize("pad", [True, False])
def test_registry_config_header_decodes_padded_or_not(pad):
    configs = {"https://index.docker.io/v1/": HUB, "127.0.0.1:5000": OWN}
    assert decode_registry_config(header(configs, pad)) == configs


@pytest.mark.parametrize("value", [None, "", "  ", header({})])
def test_registry_config_header_absent_or_empty(value):
    assert decode_registry_config(value) == {}


@pytest.mark.parametrize("value", ["!!!not-base64", header(["a"]), header({"r": "not-an-object"})])
def test_registry_config_header_invalid(value):
    with pytest.raises(InvalidParameter, match="invalid X-Registry-Config header"):
        decode_registry_config(value)


@pytest.mark.parametrize("image,expected", [
    ("busybox", HUB), ("library/busybox:1", HUB), ("docker.io/me/app", HUB),
    ("127.0.0.1:5000/team/box:1", {"username": "alice", "password": "alice-pw", "serveraddress": "127.0.0.1:5000"}),
    ("other.example/app", None),
])
def test_auth_is_chosen_by_the_images_registry(image, expected):
    configs = {"https://index.docker.io/v1/": HUB, "http://127.0.0.1:5000": OWN}
    assert auth_for_image(image, configs) == expected


def test_no_configs_no_auth():
    assert auth_for_image("busybox", {}) is None


@pytest.mark.parametrize("spec,ports", [
    ("80", ["80/tcp"]), ("53/udp", ["53/udp"]), ("8000-8002", ["8000/tcp", "8001/tcp", "8002/tcp"]),
    ("7-8/sctp", ["7/sctp", "8/sctp"]),
])
def test_expose_port_specs(spec, ports):
    assert expand_port_spec(spec) == ports


@pytest.mark.parametrize("spec,message", [("http", "Invalid containerPort: http"), ("80/icmp", "Invalid proto: icmp"),
                                          ("9-3", "Invalid range")])
def test_expose_bad_port_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        expand_port_spec(spec)


def test_apply_changes_sets_each_supported_field():
    base = {"Env": ["PATH=/bin", "KEEP=1"], "Cmd": ["sh"], "Labels": {"old": "x"}}
    out = apply_changes(base, ['CMD ["echo", "hi"]', "ENTRYPOINT exec run", "ENV PATH=/usr/bin NEW=2",
                               "ENV LEGACY a value", "LABEL a=1 \"b c\"=d", "EXPOSE 80 53/udp", "USER nobody",
                               "WORKDIR /srv", "STOPSIGNAL SIGINT", "VOLUME /data /logs", "ONBUILD RUN true"])
    assert out["Cmd"] == ["echo", "hi"] and out["Entrypoint"] == ["/bin/sh", "-c", "exec run"]
    assert out["Env"] == ["KEEP=1", "PATH=/usr/bin", "NEW=2", "LEGACY=a value"]
    assert out["Labels"] == {"old": "x", "a": "1", "b c": "d"}
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert (out["User"], out["WorkingDir"], out["StopSignal"]) == ("nobody", "/srv", "SIGINT")
    assert out["Volumes"] == {"/data": {}, "/logs": {}} and out["OnBuild"] == ["RUN true"]
    assert base["Cmd"] == ["sh"] and base["Env"] == ["PATH=/bin", "KEEP=1"]  # the input is not modified


def test_apply_changes_several_lines_in_one_change_and_shell_form_cmd():
    out = apply_changes({}, ["CMD echo $HOME\nENV A=1"])
    assert out["Cmd"] == ["/bin/sh", "-c", "echo $HOME"] and out["Env"] == ["A=1"]


@pytest.mark.parametrize("change", ["RUN echo", "FROM busybox", "COPY a b"])
def test_apply_changes_refuses_what_commit_cannot_do(change):
    with pytest.raises(InvalidParameter, match="is not a valid change command"):
        apply_changes({}, [change])
