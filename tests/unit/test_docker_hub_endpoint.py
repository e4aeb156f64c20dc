"""The docker-hub-endpoint setting (daemon.json key and --docker-hub-endpoint): docker.io names are pulled from it
after the mirrors, instead of registry-1.docker.io."""
import json

import pytest
from click.testing import CliRunner

from dockyard.cmd.dockyardd import daemon_command
from dockyard.daemon.config import DaemonConfig
from dockyard.daemon.registry import RegistryService
from dockyard.errors import InvalidParameter


def hub_urls(config) -> list[str]:
    return [e.url for e in RegistryService(None, config).hosts.endpoints("docker.io")]


def test_default_is_docker_hub():
    assert hub_urls(DaemonConfig()) == ["https://registry-1.docker.io"]


def test_daemon_json_key_replaces_the_hub_after_the_mirrors(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"registry-mirrors": ["http://127.0.0.1:5001"],
                               "docker-hub-endpoint": "https://registry.internal:5000/"}))
    config = DaemonConfig()
    config.apply_file(cfg)
    config.validate()
    assert hub_urls(config) == ["http://127.0.0.1:5001", "https://registry.internal:5000"]
    assert [e.url for e in RegistryService(None, config).hosts.endpoints("docker.io", push=True)] == [
        "https://registry.internal:5000"]


@pytest.mark.parametrize("bad", ["registry.internal", "ftp://x", "https://", "https://x/v2/"])
def test_bad_endpoint_is_refused(bad):
    config = DaemonConfig(docker_hub_endpoint=bad)
    with pytest.raises(InvalidParameter, match="invalid docker-hub-endpoint"):
        config.validate()


def test_flag_and_file_both_set_is_dockerds_conflict(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"docker-hub-endpoint": "https://a"}))
    out = CliRunner().invoke(daemon_command, ["--config-file", str(cfg), "--docker-hub-endpoint",
                                                           "https://b", "--data-root", str(tmp_path / "d")])
    assert out.exit_code == 1
    assert "directives are specified both as a flag and in the configuration file: docker-hub-endpoint" in out.output
