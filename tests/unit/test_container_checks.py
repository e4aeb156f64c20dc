"""Create/update checks in moby's words, the inspect shapes, and labels on events."""
import pytest

from dockyard.daemon import container_checks as C
from dockyard.daemon.container_record import config_shape, host_config_shape
from dockyard.daemon.events import EventBus
from dockyard.errors import InvalidParameter, NotFound

MB = 1024 * 1024


@pytest.mark.parametrize("hc, message", [
    ({"Memory": 4 * MB}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 64 * MB, "MemorySwap": 32 * MB}, "Minimum memoryswap limit should be larger than memory limit"),
    ({"MemorySwap": 64 * MB}, "You should always set the Memory limit when using Memoryswap limit"),
    ({"NanoCpus": 10**9, "CpuPeriod": 100000}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"NanoCpus": 10**9, "CpuQuota": 50000}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
])
def test_resource_checks(hc, message):
    with pytest.raises(InvalidParameter, match=message):
        C.validate_resources(hc)


def test_update_may_set_swap_alone_and_checks_the_limits_already_set():
    C.validate_resources({"MemorySwap": 64 * MB}, update=True)
    assert "memoryswap" in C.update_conflict({"MemorySwap": 0}, {"Memory": 64 * MB})
    assert C.update_conflict({"MemorySwap": 0}, {"Memory": 64 * MB, "MemorySwap": -1}) == ""
    assert "NanoCPUs has already been set" in C.update_conflict({"NanoCpus": 10**9}, {"CpuQuota": 50000})


@pytest.mark.parametrize("bindings, bad", [({"abc/tcp": None}, "abc"), ({"80/tcp": [{"HostPort": "x"}]}, "x"),
                                           ({"70000/udp": []}, "70000")])
def test_port_binding_checks(bindings, bad):
    with pytest.raises(InvalidParameter, match=f'invalid port specification: "{bad}"'):
        C.validate_port_bindings(bindings)


def test_good_ports_pass():
    C.validate_port_bindings({"80/tcp": [{"HostPort": "8000-8010"}, {"HostPort": ""}], "53/udp": None})
    C.validate_exposed_ports({"80/tcp": {}, "8000-8001/tcp": {}})


@pytest.mark.parametrize("spec, words", [("linux/arm64/v8/x", "cannot parse platform specifier"),
                                         ("linux/a b", "is an invalid component"),
                                         ("nonsense", "unknown operating system or architecture"),
                                         ("linux/*", "wildcards not yet supported")])
def test_bad_platforms(spec, words):
    with pytest.raises(InvalidParameter, match=words):
        C.parse_create_platform(spec)


def test_platform_mismatch_is_not_found():
    image = {"os": "linux", "architecture": "amd64"}
    C.check_image_platform("busybox", image, C.parse_create_platform("linux/amd64"))
    with pytest.raises(NotFound, match=r"its platform \(linux/amd64\) does not match the specified platform "
                                       r"\(linux/arm64\)"):
        C.check_image_platform("busybox", image, C.parse_create_platform("linux/arm64"))


def test_host_config_shape_fills_zero_values_and_omits_empty_optional_fields():
    shaped = host_config_shape({"Memory": None, "Init": None, "Tmpfs": {}, "Sysctls": {"a": "1"}, "Unknown": 1})
    assert shaped["Memory"] == 0 and shaped["PidsLimit"] is None and shaped["ConsoleSize"] == [0, 0]
    assert "Init" not in shaped and "Tmpfs" not in shaped and "Unknown" not in shaped
    assert shaped["Sysctls"] == {"a": "1"}
    assert host_config_shape({"Init": False})["Init"] is False


def test_config_shape_drops_nulls_of_optional_fields():
    shaped = config_shape({"Healthcheck": {"Test": ["CMD", "true"], "Interval": None, "Retries": 0},
                           "StopTimeout": 0, "StopSignal": None, "MacAddress": ""})
    assert shaped["Healthcheck"] == {"Test": ["CMD", "true"]}
    assert shaped["StopTimeout"] == 0 and "StopSignal" not in shaped and "MacAddress" not in shaped
    assert shaped["Env"] is None and shaped["User"] == ""


def test_event_labels_come_from_the_source_but_not_over_image_and_name():
    bus = EventBus()
    bus.add_attribute_source("container", lambda cid: {"team": "a", "name": "label-name"} if cid == "c1" else {})
    ev = bus.emit("container", "start", "c1", {"image": "busybox", "name": "web"})
    assert ev["Actor"]["Attributes"] == {"image": "busybox", "name": "web", "team": "a"}
    assert bus.emit("container", "start", "c2", {"name": "x"})["Actor"]["Attributes"] == {"name": "x"}
    assert bus.emit("network", "create", "c1", {"name": "n"})["Actor"]["Attributes"] == {"name": "n"}
