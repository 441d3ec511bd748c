"""Delivery fan-out: one delivery to a million residents, through linesim with LINE's limits.

PostgreSQL only (production's database). It makes a fresh database, loads N residents (COPY),
makes them friends in linesim (which enforces 200 multicast requests a second), and sends one
delivery to all of them as a segment with `madoguchi worker`, twice:

  clean  the worker runs to the end;
  crash  the worker is killed (SIGKILL) when about 40% is sent: its working child, which its
         supervisor replaces (`--kill supervisor`: the supervisor too, and a new worker started).

The wall time runs from approval to the run's last batch marked sent. The bound is LINE's:
ceil(N / 500) requests at 200 a second. Duplicates and misses come from linesim's own count of
what each friend received. Peak RSS is the high-water mark (VmHWM) of the worker's working child.

  .venv/bin/python bench/delivery_fanout.py                   # 1,000,000 residents
  .venv/bin/python bench/delivery_fanout.py --residents 100000

Ends with one line of key=value figures per run, clean then crash (the last line):

  residents=… wall_s=… bound_s=… ratio=… peak_rss_mb=… duplicates=… missed=… run=… batches=…
  http_409=… http_429=… worker_cpu_s=… linesim_cpu_s=…

`--database` names the PostgreSQL database it drops and makes (its own; default below).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, free_port, fresh_demo_city, peak_rss_mb, start_linesim, worker_child

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "madoguchi_bench_fanout"
MULTICAST_MAX, MULTICAST_PER_SECOND = 500, 200
# Each run's line starts with these, in this order (issue 4); more figures follow `missed`.
FIGURE_KEYS = ("residents", "wall_s", "bound_s", "ratio", "peak_rss_mb", "duplicates", "missed")


def user_id(number: int) -> str:
    return f"U{number:032x}"


def load_residents(count: int, channel_id: int, database: str) -> None:
    """COPY residents in: far faster than the ORM for a million rows."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn, conn.cursor() as cur:
        columns = (
            "channel_id, line_user_id, display_name, picture_url, language, status, followed_at, created_at,"
            " audience, age_band, terms_version"
        )
        with cur.copy(f"COPY residents_resident ({columns}) FROM STDIN") as copy:
            for number in range(count):
                language = "en" if number % 50 == 0 else "ja"  # 2% read English: two variants
                copy.write_row(
                    (
                        channel_id,
                        user_id(number),
                        "",
                        "",
                        language,
                        "active",
                        "2026-01-01 00:00+09",
                        "2026-01-01 00:00+09",
                        "resident",
                        "",
                        "",
                    )
                )
        conn.commit()
        # A city's residents are not a table bulk-loaded a minute ago: vacuum it now, so that the
        # autovacuum a million fresh rows set off does not run during the first delivery.
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE) residents_resident")
    print(f"loaded {count:,} residents in {time.monotonic() - started:.1f} s", flush=True)


def make_friends(sim: httpx.Client, count: int) -> None:
    for start in range(0, count, 100_000):
        ids = [user_id(n) for n in range(start, min(count, start + 100_000))]
        sim.put("/_sim/users", json={"userIds": ids}).raise_for_status()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "madoguchi", "worker", "--interval", "0.05", "--tick", "1"], env=env
    )


def wait_until_ticking(since: float) -> None:
    """Until the worker has run its periodic jobs once: it is up and polling for tasks."""
    from datetime import UTC, datetime

    from madoguchi.core.models import ScheduledJob

    after = datetime.fromtimestamp(since, tz=UTC)
    for _ in range(600):
        if ScheduledJob.objects.filter(last_run_at__gt=after).exists():
            return
        time.sleep(0.1)
    raise SystemExit("the worker did not start")


def checkpoint() -> None:
    """Write out what the set-up left in PostgreSQL's buffers (a million rows COPYed and vacuumed
    make a lot of WAL) now, so that a checkpoint it would call for does not fall in the run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def wait_until_idle() -> None:
    """Until the worker has no task queued or running: the demo city's own set-up (its rich menus
    linked to every friend) is not the delivery's. Production runs several workers, so a long
    rich-menu sync does not hold a delivery back; this bench runs one."""
    from django_tasks_db.models import DBTaskResult

    for _ in range(6000):
        if not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
            return
        time.sleep(0.1)
    raise SystemExit("the worker did not finish its queued tasks in 10 minutes")


def one_run(
    name: str,
    count: int,
    env: dict[str, str],
    sim: httpx.Client,
    sim_pid: int,
    *,
    crash: bool,
    kill_supervisor: bool = False,
) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from madoguchi.core.models import Channel
    from madoguchi.messaging.models import DeliveryBatch, DeliveryRun
    from madoguchi.messaging.services import delivery_approve, delivery_save, delivery_submit, segment_save

    sim.post("/_sim/reset").raise_for_status()  # what users received, retry keys; friends stay
    sim.post("/_sim/config", json={"quota": 100_000_000, "rateLimits": True}).raise_for_status()
    users = get_user_model().objects.order_by("pk")
    author, approver = users[0], users[1]
    channel = Channel.objects.get(slug="main")
    segment = segment_save(
        actor=author, name=f"bench {name}", conditions={"field": "audience", "in": ["resident"]}
    )
    delivery = delivery_save(
        actor=author,
        channel=channel,
        title=f"bench {name}",
        content={
            "ja": {"messages": [{"type": "text", "text": "みどり市からのお知らせです。"}]},
            "en": {"messages": [{"type": "text", "text": "News from Midori City."}]},
        },
        segment=segment,
    )
    delivery_submit(delivery, actor=author)
    worker = start_worker(env)
    wait_until_ticking(time.time())  # the worker's own start (Django, SudachiPy) is not the delivery's
    wait_until_idle()
    checkpoint()
    child = worker_child(worker.pid)  # the process doing the work: its memory, its CPU
    cpu = [-cpu_seconds(child)]
    sim_cpu = -cpu_seconds(sim_pid)
    started = time.monotonic()
    delivery_approve(delivery, actor=approver)
    run = DeliveryRun.objects.get(delivery=delivery)
    rss = [0.0]
    killed = False
    while True:
        time.sleep(0.2)
        rss[-1] = max(rss[-1], peak_rss_mb(child))
        status = DeliveryRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
        if status == DeliveryRun.Status.DONE:
            break
        if crash and not killed:
            sent = DeliveryBatch.objects.filter(run=run, state=DeliveryBatch.State.SENT).count()
            if sent >= 0.4 * math.ceil(count / MULTICAST_MAX):
                rss[-1] = max(rss[-1], peak_rss_mb(child))
                cpu[-1] += cpu_seconds(child)
                killed = True
                if kill_supervisor:
                    worker.send_signal(signal.SIGKILL)  # its child dies with it
                    worker.wait()
                    print(f"killed the worker after {sent} batches; starting another", flush=True)
                    worker = start_worker(env)
                    cpu.append(0.0)  # the new worker's start counts: it is part of the recovery
                    child = worker_child(worker.pid)
                else:
                    os.kill(child, signal.SIGKILL)
                    print(f"killed the worker's child after {sent} batches", flush=True)
                    child = worker_child(worker.pid, not_this=child)
                    cpu.append(0.0)
                rss.append(0.0)
        if time.monotonic() - started > 900:
            raise SystemExit("the delivery did not finish in 15 minutes")
    wall = time.monotonic() - started
    rss[-1] = max(rss[-1], peak_rss_mb(child))
    cpu[-1] += cpu_seconds(child)
    sim_cpu += cpu_seconds(sim_pid)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    summary = sim.get("/_sim/stats", params={"summary": 1}).json()
    histogram = {int(k): v for k, v in summary["received"].items()}
    multicasts = summary["endpoints"].get("POST /v2/bot/message/multicast", {}).get("statuses", {})
    run.refresh_from_db()
    bound = math.ceil(count / MULTICAST_MAX) / MULTICAST_PER_SECOND
    # The keys first, in its order (FIGURE_KEYS); the rest after `missed`.
    return {
        "residents": count,
        "wall_s": round(wall, 2),
        "bound_s": round(bound, 2),
        "ratio": round(wall / bound, 3),
        "peak_rss_mb": round(max(rss), 1),
        "duplicates": sum((k - 1) * v for k, v in histogram.items() if k > 1),
        "missed": histogram.get(0, 0),
        "run": name,
        "batches": run.batches,
        "http_409": multicasts.get("409", 0),
        "http_429": multicasts.get("429", 0),
        # Where the wall time went, on a machine whose cores the worker, linesim and PostgreSQL share.
        "worker_cpu_s": round(sum(cpu), 1),
        "linesim_cpu_s": round(sim_cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=12, help="sender threads in the worker")
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument(
        "--kill",
        choices=["child", "supervisor"],
        default="child",
        help="in the crash run, kill the working child (its supervisor forks another) or the whole worker",
    )
    parser.add_argument("--database", default=DATABASE, help="dropped and made afresh")
    args = parser.parse_args()
    database = args.database

    data_dir = tempfile.mkdtemp(prefix="madoguchi-bench-")
    sim_port = free_port()
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": data_dir,
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "MADOGUCHI_LINE_API_HOST": f"http://127.0.0.1:{sim_port}",
        "MADOGUCHI_DELIVERY_SENDERS": str(args.senders),
        # A killed worker's claimed batches are taken over after this long (they are resent under
        # their retry keys; LINE turns a repeat into a no-op).
        "MADOGUCHI_DELIVERY_STALE_SECONDS": "3",
    }
    os.environ.update(env)
    fresh_demo_city(database, env)
    linesim, sim = start_linesim(sim_port, env)
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
        import django

        django.setup()
        from madoguchi.core.models import Channel

        load_residents(args.residents, Channel.objects.get(slug="main").pk, database)
        make_friends(sim, args.residents)
        print(
            f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()},"
            f" PostgreSQL, linesim with rate limits on",
            flush=True,
        )
        runs = [one_run("clean", args.residents, env, sim, linesim.pid, crash=False)]
        if not args.skip_crash:
            runs.append(
                one_run(
                    "crash",
                    args.residents,
                    env,
                    sim,
                    linesim.pid,
                    crash=True,
                    kill_supervisor=args.kill == "supervisor",
                )
            )
        for figures in runs:
            assert tuple(figures)[: len(FIGURE_KEYS)] == FIGURE_KEYS
            print(" ".join(f"{key}={value}" for key, value in figures.items()), flush=True)
    finally:
        linesim.terminate()
        linesim.wait(timeout=30)


if __name__ == "__main__":
    main()
