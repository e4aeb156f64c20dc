"""A container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and its bind mounts from HostConfig."""
from __future__ import annotations

import re
from pathlib import Path


HOSTS_BASE = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def _resolv_conf(keep_loopback: bool = False) -> str:
    """The host's resolv.conf without loopback resolvers (unreachable from the container's namespace)."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [l for l in lines if keep_loopback or not re.match(r"\s*nameserver\s+(127\.|::1)", l)]
    return "\n".join(kept) + "\n"


def host_resolv() -> dict:
    """nameservers, search domains and options of the host's resolv.conf."""
    out: dict = {"nameserver": [], "search": [], "options": []}
    for line in _resolv_conf(keep_loopback=True).splitlines():
        words = line.split()
        if len(words) > 1 and words[0] in ("nameserver", "search", "domain", "options"):
            key = "search" if words[0] == "domain" else words[0]
            out[key] += words[1:]
    return out


def resolv_conf(nameservers, search=(), options=()) -> str:
    """A resolv.conf for a container whose resolvers were chosen by the network (`--dns` and co.)."""
    lines = [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def container_resolv(host: dict, dns=(), search=(), options=(), embedded: str | None = None,
                     keep_loopback: bool = False) -> str:
    """A container's resolv.conf. `host` is host_resolv(); dns/search/options the user's (--dns and co.).

    With `embedded` (the address of the network's embedded DNS, which forwards other names upstream) that is
    the only nameserver, with ndots:0 as dockerd writes it. Otherwise the user's servers or the host's,
    without loopback ones, which the container's own namespace cannot reach (unless it shares the host's).
    """
    search = list(search) or host["search"]
    options = list(options) or host["options"]
    if embedded:
        servers = [embedded]
        options = [o for o in options if not o.startswith("ndots:")] + ["ndots:0"]
    else:
        servers = list(dns) or [s for s in host["nameserver"]
                                if keep_loopback or not (s.startswith("127.") or s == "::1")]
    return resolv_conf(servers, search, options)


def hosts_file(hostname: str, domainname: str, addresses=(), extra_hosts=(), base: str | None = None) -> str:
    """/etc/hosts: the base entries, `--add-host` ones, then the container's own addresses and hostname."""
    text = HOSTS_BASE if base is None else base
    if text and not text.endswith("\n"):
        text += "\n"
    for entry in extra_hosts or ():
        name, sep, ip = entry.partition(":") if "=" not in entry else entry.partition("=")
        if sep and ip:
            text += f"{ip}\t{name}\n"
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    for ip in addresses:
        text += f"{ip}\t{names}\n"
    return text


def host_hosts() -> str:
    """The host's /etc/hosts, for --network host (the container sees the host's names)."""
    try:
        return Path("/etc/hosts").read_text()
    except OSError:
        return HOSTS_BASE


def write_in_place(path: str | Path, text: str) -> None:
    """Rewrite a file keeping its inode: a running container has it bind-mounted."""
    with open(path, "r+" if Path(path).exists() else "w") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


def write(cdir: Path, hostname: str, domainname: str = "") -> tuple[str, str, str]:
    paths = cdir / "hostname", cdir / "hosts", cdir / "resolv.conf"
    paths[0].write_text(hostname + "\n")
    fqdn = f"{hostname}.{domainname}" if domainname else hostname
    paths[1].write_text(HOSTS_BASE)
    paths[2].write_text(_resolv_conf())
    del fqdn
    return tuple(str(p) for p in paths)

