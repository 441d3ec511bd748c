"""`madoguchi serve`: the web server (gunicorn) for the console and LINE's webhooks."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def default_workers() -> int:
    """PostgreSQL: gunicorn's advice, 2 × cores + 1 (requests mostly wait on the database).
    SQLite: 2, since every writing process queues on the one file's lock (bench/webhook_ingest.py)."""
    if os.environ.get("MADOGUCHI_WEB_WORKERS"):
        return int(os.environ["MADOGUCHI_WEB_WORKERS"])
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return 2
    return 2 * (os.cpu_count() or 1) + 1


def default_threads() -> int:
    if os.environ.get("MADOGUCHI_WEB_THREADS"):
        return int(os.environ["MADOGUCHI_WEB_THREADS"])
    return 4 if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2


def gunicorn_argv(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "madoguchi.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
    ]


class Command(BaseCommand):
    help = "Serve the web application with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("MADOGUCHI_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=default_threads())

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int, **options: Any) -> None:
        argv = gunicorn_argv(host, port, workers, threads)
        os.execv(argv[0], argv)
