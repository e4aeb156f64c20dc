"""The userland port proxy of one container (docker-proxy's job), standard library only.

Started by the daemon as `python3 -I -S proxy.py <container id> <fd>:<proto>:<target ip>:<target port> ...`
in its own session, so it outlives a daemon restart; the daemon kills it when the container stops.
Each fd is a host socket the daemon already bound (listening for tcp): the proxy only relays.
TCP: one thread pair per connection, half-closes passed on. UDP: one upstream socket per client address,
dropped after UDP_IDLE seconds without traffic.
"""
from __future__ import annotations

import signal
import socket
import sys
import threading

UDP_IDLE = 90.0
BUF = 65536


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(BUF)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _tcp_connection(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve_tcp(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        threading.Thread(target=_tcp_connection, args=(client, target), daemon=True).start()


def serve_udp(listener: socket.socket, target: tuple[str, int]) -> None:
    clients: dict = {}
    lock = threading.Lock()

    def replies(addr, upstream: socket.socket) -> None:
        upstream.settimeout(UDP_IDLE)
        try:
            while True:
                data = upstream.recv(BUF)
                listener.sendto(data, addr)
        except OSError:  # idle timeout or error: forget this client
            pass
        finally:
            with lock:
                clients.pop(addr, None)
            upstream.close()

    while True:
        data, addr = listener.recvfrom(BUF)
        with lock:
            upstream = clients.get(addr)
            if upstream is None:
                upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                upstream.connect(target)
                clients[addr] = upstream
                threading.Thread(target=replies, args=(addr, upstream), daemon=True).start()
        try:
            upstream.send(data)
        except OSError:
            pass


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    threads = []
    for spec in argv[1:]:
        fd, proto, ip, port = spec.split(":", 3)
        sock = socket.socket(fileno=int(fd))  # family and type come from the inherited socket
        target = (ip, int(port))
        fn = serve_tcp if proto == "tcp" else serve_udp
        t = threading.Thread(target=fn, args=(sock, target), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1:])
