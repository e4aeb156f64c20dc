"""Issue 14, bad API input: wrong JSON types, deep or huge bodies, out-of-range integers and very long query
strings are a 400 (or 413) in Go's words, never a 500 or a dropped connection, and nothing is left behind."""
from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote

import pytest


def raw_call(daemon, method: str, path: str, data: bytes | None = None):
    """(status, parsed body) for a request with a raw body; ("dropped", error) if the connection broke."""
    class Conn(http.client.HTTPConnection):
        def connect(conn):
            conn.sock = socket.socket(socket.AF_UNIX)
            conn.sock.connect(str(daemon.socket))

    c = Conn("localhost", timeout=60)
    try:
        c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        body = r.read()
    except (OSError, http.client.HTTPException) as err:
        return "dropped", repr(err)
    finally:
        c.close()
    try:
        return r.status, json.loads(body)
    except ValueError:
        return r.status, body


@pytest.mark.parametrize("path, body, message", [
    ("/volumes/create", {"Name": ["a", "b"]},
     "invalid JSON: json: cannot unmarshal array into Go struct field CreateOptions.Name of type string"),
    ("/volumes/create", {"Labels": {"a": 1}},
     "invalid JSON: json: cannot unmarshal number into Go struct field CreateOptions.Labels of type string"),
    ("/volumes/create", ["not", "an", "object"],
     "invalid JSON: json: cannot unmarshal array into Go value of type volume.CreateOptions"),
    ("/networks/create", {"Name": "badnet", "IPAM": {"Config": [{"Subnet": 10}]}},
     "invalid JSON: json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type "
     "string"),
    ("/networks/create", {"Name": "badnet", "Internal": "yes"},
     "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Internal of type bool"),
    ("/networks/bridge/connect", {"Container": "x", "EndpointConfig": {"Aliases": "one"}},
     "invalid JSON: json: cannot unmarshal string into Go struct field EndpointSettings.EndpointConfig.Aliases "
     "of type []string"),
    ("/containers/create", {"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {
        "IPAMConfig": {"IPv4Address": 5}}}}},
     "invalid JSON: json: cannot unmarshal number into Go struct field "
     "EndpointIPAMConfig.NetworkingConfig.EndpointsConfig.IPAMConfig.IPv4Address of type string"),
    ("/containers/create", {"Image": "busybox", "Healthcheck": {"Test": ["CMD", "true"], "Retries": 1.5}},
     "invalid JSON: json: cannot unmarshal number 1.5 into Go struct field HealthConfig.Healthcheck.Retries of "
     "type int"),
    ("/auth", {"username": 1, "serveraddress": "127.0.0.1:1"},  # never Docker Hub, even where unchecked
     "invalid JSON: json: cannot unmarshal number into Go struct field AuthConfig.username of type string"),
])
def test_wrong_json_types_are_400_in_gos_words(daemon, path, body, message):
    before = daemon.api("GET", "/volumes")[1]["Volumes"], daemon.api("GET", "/networks")[1]
    assert daemon.api("POST", path, body) == (400, {"message": message})
    assert (daemon.api("GET", "/volumes")[1]["Volumes"], daemon.api("GET", "/networks")[1]) == before


def test_exec_bodies_are_typed(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        assert daemon.api("POST", f"/containers/{cid}/exec", {"Cmd": "ls"}) == (400, {
            "message": "invalid JSON: json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type "
                       "[]string"})
        assert daemon.api("POST", f"/containers/{cid}/exec", {"Cmd": ["true"], "ConsoleSize": [-1, 2]}) == (400, {
            "message": "invalid JSON: json: cannot unmarshal number -1 into Go struct field ExecOptions.ConsoleSize "
                       "of type uint64"})
        status, created = daemon.api("POST", f"/containers/{cid}/exec", {"Cmd": ["true"]})
        assert status == 201
        assert daemon.api("POST", f"/exec/{created['Id']}/start", {"Detach": "yes"}) == (400, {
            "message": "invalid JSON: json: cannot unmarshal string into Go struct field ExecStartOptions.Detach "
                       "of type bool"})
        # Go matches field names case-insensitively: a lower-case key is checked too
        assert daemon.api("POST", f"/containers/{cid}/exec", {"cmd": 5})[0] == 400
    finally:
        daemon.docker("rm", "-f", cid)


def test_deep_and_huge_bodies_are_refused_cleanly(daemon):
    status, body = raw_call(daemon, "POST", "/volumes/create", b"[" * 5000 + b"]" * 5000)
    assert status == 400 and "nested deeper than 100 levels" in body["message"]
    status, body = raw_call(daemon, "POST", "/volumes/create", b'{"a": ' * 150 + b"1" + b"}" * 150)
    assert status == 400 and "nested deeper" in body["message"]
    huge = b'{"Name": "' + b"a" * (17 << 20) + b'"}'
    status, body = raw_call(daemon, "POST", "/volumes/create", huge)
    assert status == 413 and "too large" in body["message"]
    assert daemon.api("GET", "/volumes")[0] == 200  # the daemon is fine afterwards


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/containers/json?limit=99999999999999999999",
     'strconv.Atoi: parsing "99999999999999999999": value out of range'),
    ("GET", "/containers/json?limit=1.5", 'strconv.Atoi: parsing "1.5": invalid syntax'),
    ("POST", "/containers/{cid}/stop?t=-99999999999999999999",
     'strconv.Atoi: parsing "-99999999999999999999": value out of range'),
    ("POST", "/containers/{cid}/resize?h=abc&w=1", 'strconv.Atoi: parsing "abc": invalid syntax'),
])
def test_integers_out_of_range_in_query_strings(daemon, method, path, message):
    cid = daemon.docker("create", "busybox", "true").stdout.strip()
    try:
        assert daemon.api(method, path.format(cid=cid)) == (400, {"message": message})
    finally:
        daemon.docker("rm", "-f", cid)


def test_logs_tail_out_of_range_means_all_lines(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo one; echo two").stdout.strip()
    try:
        daemon.docker("wait", cid)
        out = daemon.docker("logs", "--tail", "99999999999999999999", cid)
        assert out.stdout == "one\ntwo\n"
    finally:
        daemon.docker("rm", "-f", cid)


def test_long_query_strings_are_served_as_dockerd_serves_them(daemon):
    """Go's server reads request lines up to 1 MiB; a 100 KB filter (many labels) is an ordinary request."""
    labels = json.dumps({"label": {f"k{i}={'v' * 20}": True for i in range(4000)}})
    status, listed = raw_call(daemon, "GET", "/containers/json?all=1&filters=" + quote(labels))
    assert status == 200 and listed == []
    status, _ = raw_call(daemon, "GET", "/containers/json?x=" + "a" * (200 << 10))
    assert status == 200
    raw_call(daemon, "GET", "/containers/json?x=" + "a" * (2 << 20))  # past Go's 1 MiB too: refused
    assert daemon.api("GET", "/_ping") == (200, b"OK")  # and the daemon goes on serving


@pytest.mark.parametrize("query, message", [
    ("buildargs=%5B%5D", "error reading build args: json: cannot unmarshal array into Go value of type "
                         "map[string]*string"),
    ("labels=%7B%22a%22%3A1%7D", "error reading labels: json: cannot unmarshal number into Go value of type string"),
    ("cachefrom=%22x%22", "error reading cache-from: json: cannot unmarshal string into Go value of type []string"),
    ("ulimits=%5B%7B%22Hard%22%3A%22x%22%7D%5D",
     "error reading ulimit settings: json: cannot unmarshal string into Go struct field Ulimit.Hard of type int64"),
])
def test_build_query_parameters_are_typed(daemon, query, message):
    from .daemon_harness import tar_bytes

    context = tar_bytes({"Dockerfile": b"FROM busybox\n"})
    status, body = raw_call(daemon, "POST", f"/build?{query}", context)
    assert (status, body) == (400, {"message": message})


def test_build_resource_numbers_dockerd_ignores(daemon):
    """moby reads memory, cpushares, ... with Int64ValueOrZero: a bad one is 0, never an error or a 500."""
    from .daemon_harness import tar_bytes

    context = tar_bytes({"Dockerfile": b"FROM busybox\nRUN true\n"})
    status, body = raw_call(daemon, "POST", "/build?memory=1e9&cpushares=99999999999999999999&rm=1", context)
    assert status == 200 and b"Successfully built" in body


@pytest.mark.parametrize("path", ["/images/json", "/containers/json", "/volumes", "/networks", "/images/prune",
                                  "/containers/prune", "/volumes/prune", "/networks/prune", "/build/prune"])
def test_filters_of_the_wrong_json_types_are_400(daemon, path):
    """moby's filters.FromJSON takes {key: {value: bool}} or {key: [string]}; anything else is an invalid filter."""
    method = "POST" if path.endswith("prune") else "GET"
    for filters in ('{"label":5}', '{"label":[5]}', '{"label":{"a":"yes"}}'):
        status, body = daemon.api(method, f"{path}?filters={quote(filters)}")
        assert status == 400 and body["message"].startswith("invalid filter"), (filters, body)
    if method == "GET":  # (never an unfiltered prune of the shared daemon)
        no_labels = quote('{"label": null}')  # Go decodes null as an empty set of values
        assert daemon.api(method, f"{path}?filters={no_labels}")[0] == 200
