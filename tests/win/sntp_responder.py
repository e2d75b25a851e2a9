#!/usr/bin/env python3
"""A minimal SNTP server (RFC 4330) on 127.0.0.1 for the wine end-to-end
tests: answers every version 3/4 client request with a stratum-2 server
reply whose clock is --skew seconds ahead of this host's. Written
independently of the agent's SNTP core, so both sides of the exchange are
not the same code. Exits after --lifetime seconds at the latest.

usage: sntp_responder.py --skew SECONDS --port-file PATH [--lifetime SECONDS]
"""
import argparse
import os
import select
import socket
import struct
import time

NTP_UNIX_OFFSET = 2208988800


def ntp_timestamp(unix_time):
    seconds = int(unix_time)
    fraction = int((unix_time - seconds) * (1 << 32)) & 0xFFFFFFFF
    return (((seconds + NTP_UNIX_OFFSET) & 0xFFFFFFFF) << 32) | fraction


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skew", type=float, required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--lifetime", type=float, default=170.0)
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    # Renamed into place: readers never see a half-written port.
    os.replace(args.port_file + ".tmp", args.port_file)

    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        request, peer = sock.recvfrom(512)
        if len(request) < 48 or (request[0] & 7) != 3:
            continue
        transmit = request[40:48]  # becomes the reply's originate timestamp
        now = ntp_timestamp(time.time() + args.skew)
        reply = struct.pack(
            "!BBbbII4s8s8s8s8s",
            (0 << 6) | (4 << 3) | 4,  # leap 0, version 4, mode 4 (server)
            2, 6, -20, 0, 0,
            socket.inet_aton("192.0.2.1"),
            struct.pack("!Q", now), transmit, struct.pack("!Q", now), struct.pack("!Q", now))
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
