"""`madoguchi worker`: run background tasks (django-tasks-db), inbound events and the periodic
jobs, in a child process restarted at once if it dies (`core.worker.run_supervised`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.core.worker import run_supervised, run_worker


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls when idle")
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between periodic-job checks")
        parser.add_argument("--queues", default="*", help="comma-separated queue names, * for all")
        parser.add_argument(
            "--no-supervisor", action="store_true", help="run in this process, without a restarting parent"
        )

    def handle(
        self, *args: Any, interval: float, tick: float, queues: str, no_supervisor: bool, **options: Any
    ) -> None:
        run = run_worker if no_supervisor else run_supervised
        run(interval=interval, tick_every=tick, queues=queues)
