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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

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


async def run_load(url: str, secret: str, rate: float, seconds: float, connections: int) -> dict[str, float]:
    total = int(rate * seconds)
    payloads = [signed_event(n, secret) for n in range(total)]  # prepared up front: not timed
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def one(due: float, body: bytes, signature: str) -> None:
            nonlocal errors
            try:
                response = await client.post(
                    url,
                    content=body,
                    headers={"content-type": "application/json", "x-line-signature": signature},
                )
                if response.status_code != 200:
                    errors += 1
                    return
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append(time.perf_counter() - due)

        # warm up connections and the server
        await asyncio.gather(
            *(one(time.perf_counter(), *signed_event(10**9 + n, secret)) for n in range(connections))
        )
        latencies.clear()
        started = time.perf_counter()
        tasks = []
        for number, (body, signature) in enumerate(payloads):
            due = started + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, body, signature)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    return {
        "events": total,
        "ok": len(latencies),
        "errors": errors,
        "events_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(0.50), 1),
        "p99_ms": round(percentile(0.99), 1),
        "max_ms": round(percentile(1.0), 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else float("nan"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    server = subprocess.Popen(
        [*madoguchi, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
        env=env,
    )
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
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    args = parser.parse_args()

    server = None
    env: dict[str, str] = {}
    url = args.url
    if args.start_server:
        server, url, env = start_server(args.database, args.web_workers, args.web_threads)
    try:
        figures = asyncio.run(run_load(url, args.secret, args.rate, args.seconds, args.connections))
        if server is not None:
            figures["stored"] = stored_events(env) - args.connections  # minus the warm-up events
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
