"""Webhook ingest: sustained events/s and ack latency (p50/p99) at a chosen rate.

Posts signed, unique LINE message events at a fixed (open-loop) rate to Madoguchi's webhook and
measures, for each, the time from when it was due to when the 200 arrived. The server only
stores and enqueues (processing is a worker's job), so this measures what LINE waits for.

  # against a server that is already running (make demo):
  .venv/bin/python bench/webhook_ingest.py --url http://127.0.0.1:8000/line/main/webhook
  # or let it start its own web server on a fresh database:
  .venv/bin/python bench/webhook_ingest.py --start-server --database sqlite
  .venv/bin/python bench/webhook_ingest.py --start-server --database postgres

Ends with one line of key=value figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "linesim-demo-secret"


def signed_event(user_number: int, secret: str) -> tuple[bytes, str]:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": f"U{user_number:032x}"},
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(user_number), "type": "text", "text": "粗大ごみ", "quoteToken": "q"},
    }
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature


def http_request(url: httpx.URL, body: bytes, signature: str) -> bytes:
    head = (
        f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Line-Signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (status line, headers, Content-Length body); return its status."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def open_loop(
    url_text: str,
    requests: list[bytes],
    interval: float,
    connections: int,
    warm_up: list[bytes] | None = None,
) -> tuple[list[float], int, float]:
    """Open-loop load: request n is due at start + n × interval, whether or not earlier ones were
    answered. Returns the latencies (s) of the 200s, how many failed, and the time it took.

    A plain asyncio HTTP/1.1 client on keep-alive connections, with every request built before
    the clock starts, so that the load generator costs little CPU beside the server it measures.
    `warm_up` requests go first and are not counted.
    """
    url = httpx.URL(url_text)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(url.host, url.port)
        while (item := await queue.get()) is not None:
            due, request = item
            try:
                writer.write(request)
                status = await read_status(reader)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(url.host, url.port)
                continue
            if status == 200:
                latencies.append(time.perf_counter() - due)
            else:
                errors += 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    if warm_up:
        for request in warm_up:
            queue.put_nowait((time.perf_counter(), request))
        while not queue.empty():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        latencies.clear()
        errors = 0
    started = time.perf_counter()
    for number, request in enumerate(requests):
        due = started + number * interval
        delay = due - time.perf_counter()
        if delay > 0.001:
            await asyncio.sleep(delay)
        queue.put_nowait((due, request))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, errors, time.perf_counter() - started


async def run_load(
    url_text: str, secret: str, rate: float, seconds: float, connections: int
) -> dict[str, float]:
    """`rate` signed events a second for `seconds`, after a few per connection not measured."""
    url = httpx.URL(url_text)
    total = int(rate * seconds)
    requests = [http_request(url, *signed_event(n, secret)) for n in range(total)]
    warm_up = [http_request(url, *signed_event(10**9 + n, secret)) for n in range(connections * 2)]
    latencies, errors, elapsed = await open_loop(url_text, requests, 1 / rate, connections, warm_up)
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return (
            round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 1)
            if ordered
            else float("nan")
        )

    return {
        "events": total,
        "ok": len(latencies),
        "errors": errors,
        "events_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "max_ms": percentile(1.0),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else float("nan"),
    }


def start_server(
    database: str, workers: int, threads: int
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    data_dir = tempfile.mkdtemp(prefix="madoguchi-bench-")
    env = {**os.environ, "MADOGUCHI_DATA_DIR": data_dir, "MADOGUCHI_LOG_LEVEL": "WARNING"}
    if database == "postgres":
        name = "madoguchi_bench"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        env.pop("DATABASE_URL", None)
    madoguchi = [sys.executable, "-m", "madoguchi"]
    subprocess.run([*madoguchi, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*madoguchi, "demo_setup"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    sizing = [
        *(["--workers", str(workers)] if workers else []),
        *(["--threads", str(threads)] if threads else []),
    ]
    server = subprocess.Popen([*madoguchi, "serve", "--port", str(port), *sizing], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, f"{base}/line/main/webhook", env


def stored_events(env: dict[str, str]) -> int:
    code = "from madoguchi.channels.line.models import InboundEvent as E; print(E.objects.count())"
    result = subprocess.run(
        [sys.executable, "-m", "madoguchi", "shell", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000/line/main/webhook")
    parser.add_argument("--secret", default=SECRET)
    parser.add_argument("--rate", type=float, default=1000, help="events per second to offer")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--start-server", action="store_true", help="start a web server on a fresh database")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--web-workers", type=int, help="default: madoguchi serve's")
    parser.add_argument("--web-threads", type=int, help="default: madoguchi serve's")
    args = parser.parse_args()

    server = None
    env: dict[str, str] = {}
    url = args.url
    if args.start_server:
        server, url, env = start_server(args.database, args.web_workers, args.web_threads)
    try:
        figures = asyncio.run(run_load(url, args.secret, args.rate, args.seconds, args.connections))
        if server is not None:
            figures["stored"] = stored_events(env) - 2 * args.connections  # minus the warm-up events
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
    machine = f"{platform.machine()}-{os.cpu_count()}cpu-py{platform.python_version()}"
    database = args.database if args.start_server else "external"
    line = {
        "bench": "webhook_ingest",
        "database": database,
        "rate": args.rate,
        "seconds": args.seconds,
        **figures,
    }
    line["machine"] = machine
    print(" ".join(f"{key}={value}" for key, value in line.items()))


if __name__ == "__main__":
    main()
