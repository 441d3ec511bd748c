"""`madoguchi replay_events`: process failed (or named) inbound events again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.channels.line.inbound import events_replay
from madoguchi.core.audit import audit_record


class Command(BaseCommand):
    help = "Queue failed inbound LINE events (or the named ones) for processing again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_ids", nargs="*", help="webhookEventIds to replay")
        parser.add_argument("--failed", action="store_true", help="replay every failed event")

    def handle(self, *args: Any, event_ids: list[str], failed: bool, **options: Any) -> None:
        if not event_ids and not failed:
            raise CommandError("name event ids or pass --failed")
        count = events_replay(event_ids=event_ids or None, failed=failed)
        audit_record(
            action="line.events.replayed", data={"count": count, "failed": failed, "ids": event_ids[:100]}
        )
        self.stdout.write(f"queued {count} event(s) again")
