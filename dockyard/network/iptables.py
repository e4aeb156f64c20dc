"""The few iptables rules a bridge network needs: outbound NAT and forwarding through the bridge.

Every rule carries the comment `dockyard:<bridge>`, so a bridge's rules can be found and removed even
when the daemon lost track of them. Failures are logged, never fatal: a host without iptables still runs
containers (they only lose outbound NAT), as with dockerd's --iptables=false.
"""
from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger("dockyard.iptables")


def _rules(bridge: str, subnet: str, internal: bool) -> list[tuple[str, list[str]]]:
    tag = ["-m", "comment", "--comment", f"dockyard:{bridge}"]
    if internal:  # nothing in or out of the bridge, only between its containers
        return [("filter", ["FORWARD", "-i", bridge, "!", "-o", bridge, *tag, "-j", "DROP"]),
                ("filter", ["FORWARD", "-o", bridge, "!", "-i", bridge, *tag, "-j", "DROP"])]
    return [("nat", ["POSTROUTING", "-s", subnet, "!", "-o", bridge, *tag, "-j", "MASQUERADE"]),
            ("filter", ["FORWARD", "-i", bridge, *tag, "-j", "ACCEPT"]),
            ("filter", ["FORWARD", "-o", bridge, *tag, "-j", "ACCEPT"])]


def _iptables(table: str, op: str, rule: list[str], binary: str = "iptables") -> subprocess.CompletedProcess:
    return subprocess.run([binary, "-w", "-t", table, op, *rule], capture_output=True, text=True)


def available() -> bool:
    return shutil.which("iptables") is not None


def setup(bridge: str, subnet: str, internal: bool = False) -> None:
    if not available():
        log.warning("iptables not found: no outbound NAT for %s", bridge)
        return
    for table, rule in _rules(bridge, subnet, internal):
        if _iptables(table, "-C", rule).returncode == 0:
            continue
        # Inserted first, so a host firewall's DROP further down does not cut the bridge off.
        p = _iptables(table, "-I", rule)
        if p.returncode != 0:
            log.warning("iptables -t %s -I %s: %s", table, " ".join(rule), p.stderr.strip())
    _enable_forwarding()


def setup_ipv6(bridge: str) -> None:
    """IPv6 of a dual-stack bridge stays between its containers and the host: no forwarding in or out
    (dockyard never routes IPv6 off the machine; ULA subnets only)."""
    if shutil.which("ip6tables") is None:
        log.warning("ip6tables not found: IPv6 of %s is not fenced in", bridge)
        return
    for table, rule in _rules(bridge, "", internal=True):
        if _iptables(table, "-C", rule, "ip6tables").returncode != 0:
            p = _iptables(table, "-I", rule, "ip6tables")
            if p.returncode != 0:
                log.warning("ip6tables -I %s: %s", " ".join(rule), p.stderr.strip())


def teardown(bridge: str) -> None:
    """Remove every rule tagged for this bridge (IPv4 and IPv6), whatever it was created with."""
    for binary in ("iptables", "ip6tables"):
        for table, line in rules_for(bridge, binary):
            args = line.split()
            if args and args[0] == "-A":
                _iptables(table, "-D", [a.strip('"') for a in args[1:]], binary)


def rules_for(bridge: str, binary: str = "iptables") -> list[tuple[str, str]]:
    """(table, `iptables -S` line) of the rules tagged for a bridge (also what tests check for leaks)."""
    if shutil.which(binary) is None:
        return []
    found = []
    for table in ("nat", "filter"):
        out = subprocess.run([binary, "-w", "-t", table, "-S"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            words = line.replace('"', "").split()
            if f"dockyard:{bridge}" in words:
                found.append((table, line))
    return found


def _enable_forwarding() -> None:
    try:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            if f.read().strip() == "1":
                return
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
    except OSError as err:
        log.warning("cannot enable ip_forward: %s", err)
