"""How an unreachable registry reads: the dial errors docker (Go's net package) prints."""
import socket
from types import SimpleNamespace

import aiohttp

from dockyard.registry.client.distribution import _describe
from dockyard.gonet import lookup_error


def _dns_failure(host: str, code: int, text: str) -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host=host, port=443, ssl=True)
    return aiohttp.ClientConnectorDNSError(key, socket.gaierror(code, text))


def test_unknown_name_reads_like_go_no_such_host(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 10.1.2.3\nnameserver 10.1.2.4\n")
    err = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert lookup_error("registry-1.docker.io", err, str(conf)) == \
        "lookup registry-1.docker.io on 10.1.2.3:53: no such host"


def test_no_resolver_leaves_out_the_server(tmp_path):
    err = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert lookup_error("reg.invalid", err, str(tmp_path / "missing")) == "lookup reg.invalid: no such host"


def test_temporary_failure_keeps_getaddrinfo_text():
    err = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    assert lookup_error("reg.invalid", err) == "lookup reg.invalid: Temporary failure in name resolution"


def test_describe_a_dns_failure_has_no_negative_errno_text():
    text = _describe(_dns_failure("registry.invalid", socket.EAI_NONAME, "Name or service not known"))
    assert text.startswith("dial tcp: lookup registry.invalid")
    assert text.endswith(": no such host")
    assert "unknown error" not in text


def test_describe_a_refused_connection_is_unchanged():
    key = SimpleNamespace(host="127.0.0.1", port=5999, ssl=False)
    err = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    assert _describe(err) == "dial tcp 127.0.0.1:5999: connect: connection refused"
