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


def _iptables(table: str, op: str, rule: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["iptables", "-w", "-t", table, op, *rule], capture_output=True, text=True)


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


def teardown(bridge: str) -> None:
    """Remove every rule tagged for this bridge, whatever it was created with."""
    for table, line in rules_for(bridge):
        args = line.split()
        if args and args[0] == "-A":
            _iptables(table, "-D", [a.strip('"') for a in args[1:]])


def rules_for(bridge: str) -> list[tuple[str, str]]:
    """(table, `iptables -S` line) of the rules tagged for a bridge (also what tests check for leaks)."""
    if not available():
        return []
    found = []
    for table in ("nat", "filter"):
        out = subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True).stdout
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
