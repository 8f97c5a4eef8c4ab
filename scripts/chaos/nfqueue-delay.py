#!/usr/bin/env python3
"""Delays packets taken from an iptables NFQUEUE: the fault harness's stand-in for `tc netem delay`
on kernels built without sch_netem. Each packet gets a verdict (accept) after delay + normal jitter;
verdicts are given in due order, so jitter reorders packets as netem does.

Speaks nfnetlink_queue over a raw netlink socket (no library needed). Runs until SIGTERM/SIGINT or
until --max-seconds pass; the iptables rule uses --queue-bypass, so packets flow undelayed whenever
this program is not running.

usage: nfqueue-delay.py --queue N --delay-ms D --jitter-ms J [--max-seconds S]
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
AF_INET = 2


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(msg_type, queue, attrs, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, seq, 0) + body


def attributes(data):
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, at)
        if length < 4:
            break
        yield kind & 0x7fff, data[at + 4:at + length]
        at += (length + 3) & ~3


def configure(sock, queue):
    seq = 1
    for attrs in (
        [attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, AF_INET))],
        [attr(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META))],
        [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', 8192))],
    ):
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK, seq))
        reply = sock.recv(65536)
        length, kind = struct.unpack_from('=IH', reply, 0)
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from('=i', reply, 16)
            if err != 0:
                sys.exit(f'nfqueue-delay: configuring queue {queue} failed: errno {-err}')
        seq += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--queue', type=int, required=True)
    p.add_argument('--delay-ms', type=float, required=True)
    p.add_argument('--jitter-ms', type=float, default=0.0)
    p.add_argument('--max-seconds', type=float, default=900.0)
    a = p.parse_args()

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    configure(sock, a.queue)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print(f'nfqueue-delay: queue {a.queue}, {a.delay_ms} ms +- {a.jitter_ms} ms', flush=True)

    due = []  # (time, seq, packet id)
    seq = 0
    end = time.monotonic() + a.max_seconds
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, packet_id = heapq.heappop(due)
            sock.send(message(NFQNL_MSG_VERDICT, a.queue, [attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))]))
        wait = max(0.0, due[0][0] - now) if due else 0.2
        try:
            readable, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if not readable:
            continue
        try:
            data = sock.recv(1 << 20)
        except OSError:
            continue  # ENOBUFS: the kernel dropped some queued packets; carry on
        at = 0
        while at + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, at)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                for akind, payload in attributes(data[at + 20:at + length]):
                    if akind == NFQA_PACKET_HDR:
                        (packet_id,) = struct.unpack_from('!I', payload, 0)
                        hold = max(0.0, random.gauss(a.delay_ms, a.jitter_ms)) / 1000.0
                        seq += 1
                        heapq.heappush(due, (time.monotonic() + hold, seq, packet_id))
            at += (length + 3) & ~3
    # release what is still held, so nothing waits on a verdict that never comes
    for _, _, packet_id in due:
        sock.send(message(NFQNL_MSG_VERDICT, a.queue, [attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))]))


if __name__ == '__main__':
    main()
