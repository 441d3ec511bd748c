"""`madoguchi shelters import FILE [--format gsi|standard]` and
`madoguchi shelters nearest LAT LNG HAZARD`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.disaster.hazards import BY_CODE
from madoguchi.disaster.importers import FORMATS, MAX_FILE_BYTES, ImportRefused
from madoguchi.disaster.selectors import shelters_nearest
from madoguchi.disaster.services import shelter_import


class Command(BaseCommand):
    help = "Import shelters (国土地理院 CSV or 自治体標準オープンデータセット) and look them up."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="a shelter CSV (UTF-8 or Shift_JIS)")
        load.add_argument("file")
        load.add_argument("--format", choices=FORMATS, default=None, help="checked against the header")
        near = sub.add_parser("nearest", help="the nearest open shelters for a hazard")
        near.add_argument("latitude", type=float)
        near.add_argument("longitude", type=float)
        near.add_argument("hazard", choices=sorted(BY_CODE))

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{path}: ファイルが大きすぎます(上限 {MAX_FILE_BYTES:,} バイト)")
            try:
                report = shelter_import(path.read_bytes(), path.name, fmt=options["format"])
            except ImportRefused as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(
                f"created {report.created}, updated {report.updated}, refused {len(report.errors)}"
            )
            for line in report.errors:
                self.stderr.write(line)
            return
        search = shelters_nearest(
            latitude=options["latitude"], longitude=options["longitude"], hazard=options["hazard"]
        )
        for found in search.found:
            self.stdout.write(
                f"{found.distance_m or 0:8.0f} m  {found.shelter.name}  {found.shelter.map_url}"
            )
        self.stdout.write(f"designated {search.designated}, full {search.full}")
