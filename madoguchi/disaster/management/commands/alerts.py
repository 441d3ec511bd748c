"""`madoguchi alerts ingest FILE_OR_URL …`: CAP or 気象庁防災情報XML, stored once per identifier;
`madoguchi alerts poll [--feed ID]`: one pass over the configured feeds (as the worker does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.disaster.alerts import MAX_BYTES, AlertRefused
from madoguchi.disaster.feeds import FetchFailed, feed_poll, fetch_limited, redacted
from madoguchi.disaster.intake import alert_ingest
from madoguchi.disaster.models import AlertFeed


class Command(BaseCommand):
    help = "Ingest alerts (CAP 1.2 / 1.1, 気象庁防災情報XML) from files or URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="files or http(s) URLs")
        ingest.add_argument("sources", nargs="+")
        poll = sub.add_parser("poll", help="poll the active alert feeds once, due or not")
        poll.add_argument("--feed", type=int, action="append", help="only this feed id (repeatable)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "poll":
            self.poll(options.get("feed") or [])
            return
        sources: list[str] = options["sources"]
        refused = 0
        for source in sources:
            try:
                if source.startswith(("http://", "https://")):
                    # The feeds' fetch: its size, time and redirect limits (no feed origin to keep to).
                    try:
                        data = fetch_limited(source, max_bytes=MAX_BYTES).body
                    except FetchFailed as failure:
                        raise AlertRefused(failure.message) from None
                else:
                    path = Path(source)
                    if not path.is_file():
                        raise AlertRefused("ファイルがありません")
                    if path.stat().st_size > MAX_BYTES:
                        raise AlertRefused(f"ファイルが大きすぎます(上限 {MAX_BYTES:,} バイト)")
                    data = path.read_bytes()
                result = alert_ingest(data, origin=source)
            except AlertRefused as reason:
                refused += 1
                self.stderr.write(f"{source}: refused: {reason}")
                continue
            state = "stored" if result.created else "already stored"
            self.stdout.write(
                f"{source}: {state} {result.alert.identifier} "
                f"({result.alert.kind}, {result.alert.severity}), deliveries {len(result.deliveries)}"
            )
        if refused:
            raise CommandError(f"{refused} of {len(sources)} refused")

    def poll(self, feed_ids: list[int]) -> None:
        feeds = AlertFeed.objects.filter(is_active=True)
        if feed_ids:
            feeds = feeds.filter(pk__in=feed_ids)
        failed = 0
        for feed in feeds:
            result = feed_poll(feed)
            if result.not_modified:
                state = "not modified"
            else:
                state = (
                    f"stored {result.stored}, already stored {result.duplicates}, refused {result.refused}, "
                    f"to retry {result.retry}, skipped {result.skipped}, deliveries {result.deliveries}"
                )
            self.stdout.write(f"{feed.pk} {feed.name} ({redacted(feed.url)}): {state}")
            for message in result.messages:
                self.stderr.write(f"  {message}")
            if result.error:
                failed += 1
                self.stderr.write(f"  error: {result.error}")
        if failed:
            raise CommandError(f"{failed} feed(s) had errors")
