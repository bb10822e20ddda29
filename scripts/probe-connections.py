#!/usr/bin/env python3
"""Connection-exhaustion probe: holds idle sockets, header tricklers and slow bodies against a
running server, and measures whether /healthz and the API still answer meanwhile.

    python3 scripts/probe-connections.py --base http://127.0.0.1:8080 \
        --idle 1100 --trickle 300 --slow-bodies 1500 --hold 30

It prints one JSON line of figures (docs/reliability.md quotes them). Standard library only.
"""
import argparse
import asyncio
import json
import time
import urllib.parse


async def open_socket(host, port, payload, held, errors):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        errors.append(type(e).__name__)
        return
    if payload:
        writer.write(payload)
        try:
            await writer.drain()
        except OSError:
            pass
    held.append((reader, writer))


async def request(host, port, raw, timeout):
    """Sends `raw` on a fresh connection; returns (status or None, seconds)."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        status = int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        status = None
    return status, time.monotonic() - started


async def count_closed(held):
    """How many held sockets the server has closed (read end-of-stream without waiting)."""
    closed = 0
    for reader, _ in held:
        try:
            data = await asyncio.wait_for(reader.read(1), 0.001)
            if data == b"":
                closed += 1
        except asyncio.TimeoutError:
            pass
        except OSError:
            closed += 1
    return closed


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--idle", type=int, default=1100)
    ap.add_argument("--trickle", type=int, default=300)
    ap.add_argument("--slow-bodies", type=int, default=1500)
    ap.add_argument("--hold", type=float, default=30.0, help="seconds to keep probing")
    args = ap.parse_args()
    url = urllib.parse.urlparse(args.base)
    host, port = url.hostname, url.port or 80

    held, errors = [], []
    started = time.monotonic()
    batches = [
        (args.idle, b""),
        (args.trickle, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
        (
            args.slow_bodies,
            b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n{",
        ),
    ]
    for count, payload in batches:
        for i in range(0, count, 100):
            await asyncio.gather(
                *(open_socket(host, port, payload, held, errors) for _ in range(min(100, count - i)))
            )
    opened = time.monotonic() - started

    health = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    body = b'{"accessKey":"probe"}'
    api = (
        b"POST /openapi/auth/ticket/v1/generate-token HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    samples = {"healthz": [], "api": []}
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        for name, raw in (("healthz", health), ("api", api)):
            samples[name].append(await request(host, port, raw, 5.0))
        await asyncio.sleep(0.5)
    closed = await count_closed(held)

    def summary(rows):
        ok = [t for s, t in rows if s is not None and s < 500]
        ok.sort()
        return {
            "requests": len(rows),
            "answered": len(ok),
            "statuses": sorted({s for s, _ in rows if s is not None}),
            "p50_ms": round(ok[len(ok) // 2] * 1000, 1) if ok else None,
            "max_ms": round(ok[-1] * 1000, 1) if ok else None,
        }

    print(
        json.dumps(
            {
                "sockets_attempted": args.idle + args.trickle + args.slow_bodies,
                "sockets_opened": len(held),
                "connect_errors": len(errors),
                "open_seconds": round(opened, 1),
                "held_seconds": args.hold,
                "closed_by_server": closed,
                "healthz": summary(samples["healthz"]),
                "api": summary(samples["api"]),
            }
        )
    )
    for _, writer in held:
        writer.close()


if __name__ == "__main__":
    asyncio.run(main())
