"""The task worker: django-tasks-db's worker loop, with the periodic-job tick and the loops of
settings.WORKER_LOOPS (inbound events) beside it.

`madoguchi worker` runs it in production (any number, on any machines); `madoguchi demo` runs one
in its own process; the tests use `task_worker` directly.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker

from madoguchi.core.scheduling import at_start, tick

logger = logging.getLogger(__name__)


def task_worker(
    *, interval: float, batch: bool = False, queues: str = "*", worker_id: str | None = None
) -> Worker:
    """django-tasks-db's worker over the given queues (all by default)."""
    return Worker(
        queue_names=queues.split(","),
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id or get_random_string(32),
        excluded_queue_names=[],
    )


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


def start_loops(queues: str, interval: float, stop: threading.Event) -> list[threading.Thread]:
    """Start the WORKER_LOOPS the queue selection includes, each in a thread of its own."""
    chosen = set(queues.split(","))
    threads = []
    for name, path in settings.WORKER_LOOPS.items():
        if "*" not in chosen and name not in chosen:
            continue
        loop = import_string(path)
        thread = threading.Thread(target=loop, args=(stop, interval), name=f"madoguchi-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def warm_up() -> None:
    """Import the channel integrations before the first task: the LINE SDK takes over a second to
    import, which would otherwise stall every sender thread of a delivery's first batch at once."""
    for path in settings.CHANNEL_TRANSPORTS.values():
        import_string(path)


def run_worker(*, interval: float, tick_every: float, queues: str = "*") -> None:
    """Run tasks and periodic jobs until SIGINT/SIGTERM (a running task is finished first)."""
    warm_up()
    at_start()
    close_old_connections()
    stop = threading.Event()
    start_ticker(tick_every, stop)
    loops = start_loops(queues, interval, stop)
    worker = task_worker(interval=interval, queues=queues)
    worker.configure_signals()
    try:
        worker.run()
    finally:
        stop.set()
        for thread in loops:  # a claimed batch is finished, not left for the stuck-event sweep
            thread.join(timeout=30)
