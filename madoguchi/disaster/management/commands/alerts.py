"""`madoguchi alerts ingest FILE_OR_URL …`: CAP or 気象庁防災情報XML, stored once per identifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.disaster.alerts import MAX_BYTES, AlertRefused
from madoguchi.disaster.intake import alert_ingest, fetch


class Command(BaseCommand):
    help = "Ingest alerts (CAP 1.2 / 1.1, 気象庁防災情報XML) from files or URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="files or http(s) URLs")
        ingest.add_argument("sources", nargs="+")

    def handle(self, *args: Any, action: str, sources: list[str], **options: Any) -> None:
        refused = 0
        for source in sources:
            try:
                if source.startswith(("http://", "https://")):
                    data = fetch(source)
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
