#!/usr/bin/env python3
"""A packet-level delay line between two network namespaces (this kernel has no netem).

Usage (as root): tun-delay.py CLIENT_NS SERVER_NS ONE_WAY_MS LISTEN_IP:PORT=UPSTREAM_PORT...

Each namespace has a TUN device `mptun0` (bench/packet-link.ts creates them). Every IP
packet one side sends is held ONE_WAY_MS and then written into the other side's TUN, so the
client's TCP stack (its handshake, Nagle and delayed ACKs, its FIN) meets a real link, which a
TCP proxy in user space cannot show. In SERVER_NS the script listens on each LISTEN_IP:PORT
and relays each connection, without delay, to 127.0.0.1:UPSTREAM_PORT of the namespace it was
started in (the test daemons listen on loopback only).

Prints "ready" on stdout once listening; runs until killed. With MPBENCH_TRACE=1 it also
prints one line per packet on stderr (ms since start, direction, TCP flags, payload bytes):
how the round trips of a run are counted.
"""
import ctypes
import fcntl
import os
import select
import socket
import struct
import sys
import time
from collections import deque

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU_READ = 65536

libc = ctypes.CDLL(None, use_errno=True)


def enter(ns_fd: int) -> None:
    if libc.setns(ns_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'setns failed')


def open_tun(name: str) -> int:
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def describe(packet: bytes) -> str:
    """TCP flags and payload length of an IPv4 packet (the link carries nothing else)."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 6:
        return f'non-tcp {len(packet)}'
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack('!H', packet[2:4])[0]
    if len(packet) < ihl + 14:
        return f'short {len(packet)}'
    offset = (packet[ihl + 12] >> 4) * 4
    flags = packet[ihl + 13]
    names = ''.join(n for bit, n in ((0x02, 'S'), (0x10, '.'), (0x08, 'P'), (0x01, 'F'), (0x04, 'R')) if flags & bit)
    return f'{names} {total - ihl - offset}'


def main() -> None:
    client_ns, server_ns, one_way_ms = sys.argv[1:4]
    delay = float(one_way_ms) / 1000.0
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    enter(os.open(f'/run/netns/{client_ns}', os.O_RDONLY))
    tun_client = open_tun('mptun0')
    enter(os.open(f'/run/netns/{server_ns}', os.O_RDONLY))
    tun_server = open_tun('mptun0')
    listeners = {}
    for pair in sys.argv[4:]:
        listen, upstream_port = pair.split('=')
        listen_ip, listen_port = listen.rsplit(':', 1)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((listen_ip, int(listen_port)))
        listener.listen(64)
        listener.setblocking(False)
        listeners[listener] = int(upstream_port)
    enter(home)

    # Packets in flight per direction: (due time, bytes); equal delays keep the order.
    queues = {tun_client: deque(), tun_server: deque()}
    peer_tun = {tun_client: tun_server, tun_server: tun_client}
    relay = {}
    trace = os.environ.get('MPBENCH_TRACE') == '1'
    started = time.monotonic()
    print('ready', flush=True)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        readable, _, _ = select.select([tun_client, tun_server, *listeners.keys(), *relay.keys()], [], [], timeout)
        now = time.monotonic()
        for r in readable:
            if r in (tun_client, tun_server):
                while True:
                    try:
                        packet = os.read(r, MTU_READ)
                    except BlockingIOError:
                        break
                    queues[peer_tun[r]].append((now + delay, packet))
                    if trace:
                        arrow = 'client>' if r == tun_client else '<server'
                        print(f'{(now - started) * 1000:9.1f} {arrow} {describe(packet)}', file=sys.stderr, flush=True)
            elif r in listeners:
                try:
                    conn, _ = r.accept()
                except BlockingIOError:
                    continue
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # Created here, after enter(home): this socket lives in the starting namespace.
                up = socket.create_connection(('127.0.0.1', listeners[r]))
                up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                relay[conn] = up
                relay[up] = conn
            else:
                other = relay.get(r)
                try:
                    data = r.recv(MTU_READ)
                except OSError:
                    data = b''
                if data and other is not None:
                    try:
                        other.sendall(data)
                        continue
                    except OSError:
                        pass
                for s in (r, other):
                    if s is not None and s in relay:
                        del relay[s]
                        s.close()
        for out, q in queues.items():
            while q and q[0][0] <= now:
                _, packet = q.popleft()
                try:
                    os.write(out, packet)
                except OSError:
                    pass


if __name__ == '__main__':
    main()
