"""The `host` and `null` drivers: nothing to make on the host. A `host` container shares the daemon's
namespace; a `none` container gets a namespace of its own with only `lo` (runc makes it)."""
from __future__ import annotations

from .driver import Endpoint, NetConfig


class _Nothing:
    name = ""
    addressed = False

    def parse_options(self, net: NetConfig) -> None:
        pass

    def create(self, net: NetConfig) -> None:
        pass

    def delete(self, net: NetConfig) -> None:
        pass

    def join(self, net: NetConfig, ep: Endpoint) -> None:
        pass

    def leave(self, net: NetConfig, ep: Endpoint) -> None:
        pass

    def host_links(self, ep: Endpoint) -> list[str]:
        return []

    def endpoint_mac(self, net: NetConfig, ep: Endpoint) -> str:
        return ""


class HostDriver(_Nothing):
    name = "host"


class NullDriver(_Nothing):
    name = "null"
