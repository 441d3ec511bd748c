"""Safety-confirmation burst: a 安否確認 sent to N residents, then N residents answer within a minute.

PostgreSQL only. It makes a fresh database, loads N residents (COPY, spread over the demo
districts), makes them friends in linesim (rate limits on), starts the web server (gunicorn,
`madoguchi serve`) and `madoguchi worker`s, and starts a safety confirmation to everyone (the
emergency delivery goes out through the batches to linesim). Then every resident answers once
(無事 85%, 家族と連絡が取れない 10%, 支援が必要 5%: each of those opens an inbox conversation), as
LINE would post them: postback events signed with the channel secret, sent at a fixed
(open-loop) rate over keep-alive connections by webhook_ingest.py's raw-socket client. The
workers process them while the burst goes on; the bench waits until they have drained.

  wall_s      from the first answer posted to the last one recorded (the workers drained);
              the answers arrive over --seconds, so wall_s - burst_s is how far the workers lag
  ack_p99_ms  the webhook's 200, from when each answer was due (what LINE waits for)
  lost        answers the webhook acknowledged with 200 that are not in the database afterwards

Our signed events carry reply tokens linesim never issued, so the acknowledgement is pushed
(MADOGUCHI_LINE_REPLY_TOKEN_SECONDS=0); with LINE's real tokens it is a reply, one request too.

  .venv/bin/python bench/safety_burst.py                      # 20,000 residents, 60 s
  .venv/bin/python bench/safety_burst.py --residents 2000 --seconds 10

Ends with one line: residents=… answers=… wall_s=… ack_p99_ms=… lost=…
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
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import children, cpu_seconds, database_backends, free_port, fresh_demo_city, start_linesim
from webhook_ingest import SECRET, http_request, open_loop

DATABASE = "madoguchi_bench_safety"
STATUSES = ["safe"] * 17 + ["family"] * 2 + ["help"]


def user_id(number: int) -> str:
    return f"U{number:032x}"


def load_residents(count: int, channel_id: int, district_ids: list[int]) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}") as conn, conn.cursor() as cur:
        columns = (
            "channel_id, line_user_id, display_name, picture_url, language, status, followed_at,"
            " created_at, audience, age_band, terms_version, district_id"
        )
        with cur.copy(f"COPY residents_resident ({columns}) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row(
                    (
                        channel_id,
                        user_id(number),
                        f"住民 {number}",
                        "",
                        "ja",
                        "active",
                        "2026-01-01 00:00+09",
                        "2026-01-01 00:00+09",
                        "resident",
                        "",
                        "",
                        district_ids[number % len(district_ids)] if district_ids else None,
                    )
                )
        conn.commit()
        cur.execute("ANALYZE residents_resident")


def answer_event(number: int, confirmation_id: int, status: str) -> tuple[bytes, str]:
    """A postback event as LINE posts it when a resident taps an answer, signed as LINE signs."""
    event = {
        "type": "postback",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id(number)},
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "postback": {"data": f"a=safety.answer&c={confirmation_id}&s={status}"},
    }
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature


async def burst(url_text: str, requests: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """Open loop: answer n is due at start + n * seconds / N, whether or not earlier ones were
    answered. Returns the ack latencies (s) and how many got a 200."""
    interval = seconds / max(len(requests), 1)
    latencies, errors, elapsed = await open_loop(url_text, requests, interval, connections)
    return {"latencies": latencies, "errors": errors, "burst_s": elapsed}


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "madoguchi", "serve", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise SystemExit("the web server did not start")
    return server, f"{base}/line/main/webhook"


def start_worker(env: dict[str, str], nice: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "nice",
            "-n",
            str(nice),
            sys.executable,
            "-m",
            "madoguchi",
            "worker",
            "--interval",
            "0.05",
            "--tick",
            "1",
        ],
        env=env,
    )


def wait_idle(timeout: float, what: str) -> float:
    """Until no task is queued or running and no event waits: the workers have drained."""
    from django_tasks_db.models import DBTaskResult

    from madoguchi.channels.line.models import InboundEvent

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()
        waiting = InboundEvent.objects.exclude(status__in=["done", "failed"]).exists()
        if not busy and not waiting:
            return time.monotonic()
        time.sleep(0.2)
    raise SystemExit(f"{what}: the workers did not drain in {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60, help="the answers arrive within this time")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="madoguchi worker processes")
    parser.add_argument("--drain-timeout", type=float, default=1800)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the workers this much nicer than the web server (the box shares its cores)",
    )
    args = parser.parse_args()

    sim_port = free_port()
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(prefix="madoguchi-bench-"),
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "MADOGUCHI_LINE_API_HOST": f"http://127.0.0.1:{sim_port}",
        "MADOGUCHI_LINE_REPLY_TOKEN_SECONDS": "0",
    }
    os.environ.update(env)
    fresh_demo_city(DATABASE, env)
    linesim, sim = start_linesim(sim_port, env)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model

        from madoguchi.core.models import Channel
        from madoguchi.disaster.models import SafetyAnswer
        from madoguchi.disaster.services import safety_confirmation_start
        from madoguchi.messaging.models import DeliveryRun
        from madoguchi.residents.models import District

        channel = Channel.objects.get(slug="main")
        load_residents(args.residents, channel.pk, list(District.objects.values_list("pk", flat=True)))
        sim.put(
            "/_sim/users", json={"userIds": [user_id(n) for n in range(args.residents)]}
        ).raise_for_status()
        sim.post("/_sim/config", json={"quota": 100_000_000, "rateLimits": True}).raise_for_status()
        server, url = start_server(env)
        processes.append(server)
        processes += [start_worker(env, args.worker_nice) for _ in range(args.workers)]
        time.sleep(3)
        wait_idle(600, "set-up")

        # The confirmation goes out (an emergency delivery through the batches).
        started = time.monotonic()
        confirmation = safety_confirmation_start(
            actor=get_user_model().objects.order_by("pk").first(), channel=channel, title="bench 地震"
        )
        run = DeliveryRun.objects.get(delivery_id=confirmation.delivery_id)
        while DeliveryRun.objects.filter(pk=run.pk).values_list("status", flat=True).get() != "done":
            if time.monotonic() - started > 600:
                raise SystemExit("the confirmation was not sent in 10 minutes")
            time.sleep(0.2)
        send_s = time.monotonic() - started
        run.refresh_from_db()
        print(f"sent to {run.sent:,} residents in {send_s:.1f} s ({run.batches} multicasts)", flush=True)

        # What the set-up wrote (the residents, the delivery) goes to disk now, not in the burst.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")

        # Every resident answers once, within --seconds.
        chooser = random.Random(9)
        order = list(range(args.residents))
        chooser.shuffle(order)
        requests = [
            http_request(httpx.URL(url), *answer_event(n, confirmation.pk, chooser.choice(STATUSES)))
            for n in order
        ]

        def cpu_by_part() -> dict[str, dict[int, float]]:
            """CPU seconds so far of each process, by the part it plays."""
            parts = {
                "web": [server.pid, *children(server.pid)],
                # `madoguchi worker` is a supervisor; its child does the work.
                "workers": [
                    pid for process in processes[1:] for pid in (process.pid, *children(process.pid))
                ],
                "linesim": [linesim.pid],
                "postgres": database_backends(DATABASE),
            }
            return {part: {pid: cpu_seconds(pid) for pid in pids} for part, pids in parts.items()}

        cpu_before = cpu_by_part()
        started = time.monotonic()
        figures = asyncio.run(burst(url, requests, args.seconds, args.connections))
        drained = wait_idle(args.drain_timeout, "answers")
        wall = drained - started
        cpu_after = cpu_by_part()
        cpu_used = {
            part: sum(seconds - cpu_before[part].get(pid, 0.0) for pid, seconds in cpu_after[part].items())
            for part in cpu_after
        }
        latencies = sorted(figures["latencies"])
        acknowledged = len(latencies)
        recorded = SafetyAnswer.objects.filter(confirmation=confirmation).count()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
        p99 = (
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            if latencies
            else float("nan")
        )
        from madoguchi.channels.line.models import InboundEvent

        failed = InboundEvent.objects.filter(status="failed").count()
        from madoguchi.inbox.models import Conversation

        conversations = Conversation.objects.filter(origin="feature").count()
        print(
            f"machine={platform.machine()}-{os.cpu_count()}cpu-py{platform.python_version()}"
            " database=postgresql"
            f" workers={args.workers} send_s={send_s:.1f} burst_s={figures['burst_s']:.1f}"
            f" drained_after_last_s={max(wall - figures['burst_s'], 0):.1f}"
            f" ack_p50_ms={p50:.1f} errors={figures['errors']} failed_events={failed}"
            f" help_conversations={conversations}",
            flush=True,
        )
        print(
            "cpu_ms_per_answer "
            + " ".join(
                f"{part}={seconds * 1000 / max(args.residents, 1):.2f}" for part, seconds in cpu_used.items()
            ),
            flush=True,
        )
        print(
            f"residents={args.residents} answers={recorded} wall_s={wall:.1f} ack_p99_ms={p99:.1f}"
            f" lost={max(acknowledged - recorded, 0)}",
            flush=True,
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        linesim.terminate()
        linesim.wait(timeout=30)


if __name__ == "__main__":
    main()
