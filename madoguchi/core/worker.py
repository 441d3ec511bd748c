"""The task worker: django-tasks-db's worker loop, with the periodic-job tick and the loops of
settings.WORKER_LOOPS (inbound events) beside it, in a child process its supervisor restarts.

`madoguchi worker` runs it in production (any number, on any machines); `madoguchi demo` runs one
in its own process; the tests use `task_worker` directly.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
import threading
import time
from typing import NoReturn

from django.conf import settings
from django.db import close_old_connections, connections
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


def run_worker(*, interval: float, tick_every: float, queues: str = "*", warm: bool = True) -> None:
    """Run tasks and periodic jobs until SIGINT/SIGTERM (a running task is finished first)."""
    if warm:
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


# How soon a supervising `madoguchi worker` restarts its child: at once, but a child dying again
# and again soon after it started (a database that is away) waits longer each time.
RESTART_WAIT_SECONDS = (0.0, 1.0, 5.0, 30.0)
# A child that lived less than this was dying as it started.
SHORT_LIFE_SECONDS = 10.0


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (the supervisor was killed: a worker
    left running alone would never be stopped by whoever stops the service)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the supervisor's own SIGTERM still reaches the child


def run_supervised(*, interval: float, tick_every: float, queues: str = "*") -> None:
    """`madoguchi worker`: import everything once, then run the worker in a forked child and fork
    a fresh one when it dies (a crash, the OOM killer), as gunicorn's arbiter does for web
    workers. A child forked from a warm parent is working within milliseconds, where a cold start
    takes about two seconds (Django, the LINE SDK) that a delivery's sending or a burst of
    answers would wait for. SIGTERM/SIGINT go to the child, which finishes what it holds; the
    supervisor ends when it does."""
    if not hasattr(os, "fork"):
        run_worker(interval=interval, tick_every=tick_every, queues=queues)
        return
    warm_up()
    connections.close_all()  # nothing the children could share
    # What is imported lives as long as the process: the children's garbage collector need not
    # walk it on every full collection (hundreds of thousands of objects: Django, the SDK's
    # models), and leaving it alone keeps those pages shared with the supervisor.
    gc.freeze()
    child = 0
    stopping = False

    def forward(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    short_lives = 0
    while not stopping:
        started = time.monotonic()
        child = os.fork()
        if child == 0:
            _child_main(interval=interval, tick_every=tick_every, queues=queues)
        _pid, status = os.waitpid(child, 0)
        child = 0
        if stopping or os.waitstatus_to_exitcode(status) == 0:
            return
        wait = RESTART_WAIT_SECONDS[min(short_lives, len(RESTART_WAIT_SECONDS) - 1)]
        short_lives = short_lives + 1 if time.monotonic() - started < SHORT_LIFE_SECONDS else 0
        logger.error(
            "worker process died (%s); starting another%s",
            _death(status),
            f" in {wait:.0f} s" if wait else "",
        )
        time.sleep(wait)


def _child_main(*, interval: float, tick_every: float, queues: str) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
    code = 1
    try:
        run_worker(interval=interval, tick_every=tick_every, queues=queues, warm=False)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:
        logger.exception("the worker stopped on an error")
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _death(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
