"""`madoguchi tick`: run the periodic jobs that are due, once (for cron, if no worker ticks)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.core.scheduling import tick


class Command(BaseCommand):
    help = "Run the periodic jobs that are due, once."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in tick():
            self.stdout.write(f"ran {name}")
