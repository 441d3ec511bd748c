"""粗大ごみ booking race: 1,000 concurrent booking attempts for 100 places, on PostgreSQL.

It makes a fresh database (`madoguchi_bench_bulky`), migrates it, creates one district's
collection day with 100 places, a catalog item and 900 residents, and fires 1,000 attempts
through the real service (`bulky.services.booking_create`: the conditional UPDATE, the booking
row, its lines, the audit entry and the confirmation task, in one transaction). 100 of the
attempts are a second tap by a resident who already tried, so "same resident twice" is raced too.

Concurrency: by default as many threads as `madoguchi serve` handles requests at once on
PostgreSQL on this machine (its gunicorn runs 2 × cores + 1 workers of 2 threads: 10 on 2 cores;
`--workers` sets another number), each with its own PostgreSQL connection opened before the start
(connecting is not timed), all released together by a barrier and pulling the 1,000 attempts from
one shared queue, as the server's request threads would take 1,000 residents' taps (the rest wait
in its listen queue, which is not timed). `--processes` forks worker processes instead: on this
2-core machine they were slower (the processes compete for the two cores with PostgreSQL's
backends; the GIL was not the limit), see docs/bulky.md for the figures at 8/16/32 workers.
Latency is per attempt, from the call to its return.

double_booked is computed from the database afterwards: confirmed bookings beyond the day's
capacity, plus residents holding more than one confirmed booking on the day. counter_ok says
whether the day's `booked` counter equals the confirmed bookings.

  .venv/bin/python bench/booking_race.py
  .venv/bin/python bench/booking_race.py --attempts 1000 --places 100 --workers 16   # more at once
  .venv/bin/python bench/booking_race.py --processes        # the same with processes

Ends with one line: attempts=… confirmed=… double_booked=… p95_ms=…
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "madoguchi_bench_bulky"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=100, help="attempts that are a resident's second tap")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (2 * (os.cpu_count() or 1) + 1),
        help="concurrent attempts; by default what `madoguchi serve` handles at once on PostgreSQL here"
        " (2 × cores + 1 workers × 2 threads: 10 on 2 cores)",
    )
    parser.add_argument("--processes", action="store_true", help="worker processes instead of threads")
    args = parser.parse_args()

    env = {
        "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(prefix="madoguchi-bench-"),
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
    }
    os.environ.update(env)
    pg = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *pg, "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", *pg, DATABASE], check=True)
    subprocess.run(
        [sys.executable, "-m", "madoguchi", "migrate", "-v0"], cwd=ROOT, env=os.environ, check=True
    )

    import django

    django.setup()
    from django.db import connection, connections
    from django.db.models import Count
    from django.utils import timezone

    from madoguchi.bulky.models import Booking, CollectionDay, Item
    from madoguchi.bulky.services import BookingError, booking_create
    from madoguchi.core.models import Channel
    from madoguchi.residents.models import District, Resident

    channel = Channel.objects.create(
        slug="main",
        name="みどり市",
        provider_channel_id="1",
        channel_secret="bench",  # noqa: S106
        access_token="bench",  # noqa: S106
    )
    district = District.objects.create(code="kita", name="北地区")
    item = Item.objects.create(name="いす", fee=400)
    day = CollectionDay.objects.create(
        district=district, date=timezone.localdate() + timedelta(days=30), capacity=args.places
    )
    people = args.attempts - args.repeat
    Resident.objects.bulk_create(
        Resident(channel=channel, line_user_id=f"U{n:032x}", display_name=f"住民{n}") for n in range(people)
    )
    residents = list(Resident.objects.order_by("pk"))
    connection.close()
    if not args.processes:
        import queue as queues
        import threading as parallel

        attempts: Any = queues.Queue()
        results: Any = queues.Queue()
        ready: Any = parallel.Barrier(args.workers + 1)
        start_worker: Any = parallel.Thread
    else:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        attempts = context.Queue()
        results = context.Queue()
        ready = context.Barrier(args.workers + 1)
        start_worker = context.Process
    for n in range(args.attempts):
        attempts.put(residents[n].pk if n < people else residents[(n - people) * 7 % people].pk)

    def worker() -> None:
        done: list[tuple[str, float]] = []
        try:
            with connection.cursor() as cursor:  # connect before the start
                cursor.execute("SELECT 1")
            ready.wait()
            while True:
                try:
                    resident_id = attempts.get(timeout=0.1)
                except queue.Empty:
                    break
                resident = Resident(pk=resident_id, channel_id=channel.pk)
                started = time.perf_counter()
                outcome = "confirmed"
                try:
                    booking_create(
                        day_id=day.pk,
                        items={item.pk: 1},
                        name="みどり 花子",
                        address="みどり市北町1-2-3",
                        phone="045-123-4567",
                        resident=resident,
                    )
                except BookingError:
                    outcome = "refused"
                except Exception as error:  # counted, shown, never hidden
                    outcome = "error"
                    print(f"error: {error!r}", file=sys.stderr)
                done.append((outcome, (time.perf_counter() - started) * 1000))
        finally:
            results.put(done)
            connections.close_all()

    workers = [start_worker(target=worker) for _ in range(args.workers)]
    for process in workers:
        process.start()
    ready.wait()
    wall = time.perf_counter()
    latencies: list[float] = []
    outcomes = {"confirmed": 0, "refused": 0, "error": 0}
    for _ in workers:
        for outcome, elapsed in results.get(timeout=600):
            outcomes[outcome] += 1
            latencies.append(elapsed)
    wall = time.perf_counter() - wall
    for process in workers:
        process.join()

    day.refresh_from_db()
    confirmed = Booking.objects.filter(day=day, status="confirmed").count()
    twice = sum(
        row["n"] - 1
        for row in Booking.objects.filter(day=day, status="confirmed")
        .values("resident")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    double_booked = max(0, confirmed - day.capacity) + twice
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()},"
        f" PostgreSQL {connection.cursor().connection.info.server_version},"
        f" {args.workers} {'processes' if args.processes else 'threads'}",
        flush=True,
    )
    figures: dict[str, Any] = {
        "places": day.capacity,
        "refused": outcomes["refused"],
        "errors": outcomes["error"],
        "counter_ok": str(day.booked == confirmed).lower(),
        "wall_s": f"{wall:.2f}",
        "p50_ms": f"{statistics.median(latencies):.1f}",
        "max_ms": f"{max(latencies):.1f}",
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()), flush=True)
    print(
        f"attempts={len(latencies)} confirmed={confirmed} double_booked={double_booked}"
        f" p95_ms={percentile(latencies, 0.95):.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
