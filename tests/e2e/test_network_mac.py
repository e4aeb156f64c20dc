"""`--mac-address` / MacAddress: the container's interface has the MAC asked for, inspect shows it, through
the docker CLI, an API 1.41 client's Config.MacAddress, and `network connect`'s EndpointConfig; a MAC that
does not parse is a 400 with moby's words and creates nothing."""
from __future__ import annotations

import json
import secrets

import pytest

pytestmark = pytest.mark.timeout(180)


def test_run_mac_address_is_the_interfaces_and_inspect_shows_it(daemon):
    name = f"mac{secrets.token_hex(3)}"
    daemon.docker("run", "-d", "--name", name, "--mac-address", "02:AA:bb:cc:dd:01", "busybox", "sleep", "300")
    try:
        inside = daemon.docker("exec", name, "cat", "/sys/class/net/eth0/address").stdout.strip()
        assert inside == "02:aa:bb:cc:dd:01"
        ns = json.loads(daemon.docker("inspect", name).stdout)[0]["NetworkSettings"]
        assert ns["Networks"]["bridge"]["MacAddress"] == "02:aa:bb:cc:dd:01"
        assert ns["MacAddress"] == "02:aa:bb:cc:dd:01"
        daemon.docker("restart", "-t", "0", name)  # a MAC the user asked for survives a restart
        assert daemon.docker("exec", name, "cat", "/sys/class/net/eth0/address").stdout.strip() == inside
    finally:
        daemon.docker("rm", "-f", name)


def test_old_api_config_mac_address(daemon):
    name = f"mac{secrets.token_hex(3)}"
    status, body = daemon.api("POST", f"/v1.41/containers/create?name={name}",
                              {"Image": "busybox", "Cmd": ["sleep", "300"], "MacAddress": "02:aa:bb:cc:dd:02"})
    assert status == 201, body
    try:
        daemon.docker("start", name)
        assert daemon.docker("exec", name, "cat", "/sys/class/net/eth0/address").stdout.strip() == "02:aa:bb:cc:dd:02"
    finally:
        daemon.docker("rm", "-f", name)


def test_network_connect_mac_address(daemon):
    net, name = f"macnet{secrets.token_hex(3)}", f"mac{secrets.token_hex(3)}"
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        status, body = daemon.api("POST", f"/networks/{net}/connect",
                                  {"Container": name, "EndpointConfig": {"MacAddress": "02:aa:bb:cc:dd:03"}})
        assert status == 200, body
        assert daemon.docker("exec", name, "cat", "/sys/class/net/eth1/address").stdout.strip() == "02:aa:bb:cc:dd:03"
        settings = json.loads(daemon.docker("inspect", name).stdout)[0]["NetworkSettings"]["Networks"][net]
        assert settings["MacAddress"] == "02:aa:bb:cc:dd:03"
    finally:
        daemon.docker("rm", "-f", name)
        daemon.docker("network", "rm", net)


def test_invalid_mac_address_is_a_400(daemon):
    name = f"mac{secrets.token_hex(3)}"
    status, body = daemon.api("POST", f"/containers/create?name={name}",
                              {"Image": "busybox", "Cmd": ["true"], "NetworkingConfig": {
                                  "EndpointsConfig": {"bridge": {"MacAddress": "02:zz:bb:cc:dd:04"}}}})
    assert status == 400
    assert body["message"] == "invalid endpoint settings:\ninvalid MAC address 02:zz:bb:cc:dd:04"
    assert daemon.docker("inspect", name, check=False).returncode == 1  # nothing created
