"""`madoguchi worker`: run background tasks (django-tasks-db) and the periodic jobs.

Run one or more per machine against PostgreSQL in production; the demo runs one in-process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from madoguchi.core.scheduling import tick

logger = logging.getLogger(__name__)


def start_ticker(every: float, stop: threading.Event) -> threading.Thread:
    """Run due periodic jobs every few seconds in a thread beside the task loop."""

    def loop() -> None:
        while not stop.wait(every):
            try:
                tick()
            except Exception:  # the database may be briefly away; try again next time
                logger.exception("periodic tick failed")
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="madoguchi-tick", daemon=True)
    thread.start()
    return thread


def run_worker(
    *, interval: float, tick_every: float, queues: str = "*", install_signals: bool = True
) -> None:
    stop = threading.Event()
    start_ticker(tick_every, stop)
    worker = Worker(
        queue_names=queues.split(","),
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    if install_signals:
        worker.configure_signals()
    try:
        worker.run()
    finally:
        stop.set()


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls when idle")
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between periodic-job checks")
        parser.add_argument("--queues", default="*", help="comma-separated queue names, * for all")

    def handle(self, *args: Any, interval: float, tick: float, queues: str, **options: Any) -> None:
        run_worker(interval=interval, tick_every=tick, queues=queues)
