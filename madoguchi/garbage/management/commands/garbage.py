"""`madoguchi garbage import-5374 DIR`, `madoguchi garbage import-sorting FILE [--replace]`,
`madoguchi garbage search "QUERY"` and `madoguchi garbage calendar AREA [--days N]`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from madoguchi.garbage.importers import MAX_FILE_BYTES, ImportRefused
from madoguchi.garbage.search import items_search_scored
from madoguchi.garbage.selectors import area_by_slug, area_collections
from madoguchi.garbage.services import ImportReport, import_5374, sorting_import

FILES_5374 = ("area_days.csv", "center.csv", "description.csv", "remarks.csv", "target.csv")


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CommandError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


class Command(BaseCommand):
    help = "Import and query the garbage sorting guide and collection calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        folder = sub.add_parser("import-5374", help="a 5374.jp data folder (area_days.csv, center.csv, ...)")
        folder.add_argument("directory")
        folder.add_argument("--slug-prefix", default="area", help="areas' URL names: PREFIX-001, ...")
        table = sub.add_parser("import-sorting", help="a sorting table: 津市形式, 分別辞典 TSV or target.csv")
        table.add_argument("file")
        table.add_argument(
            "--replace", action="store_true", help="hide this source's items missing from the file"
        )
        search = sub.add_parser("search", help="what the sorting guide finds for a query")
        search.add_argument("query")
        calendar = sub.add_parser("calendar", help="an area's collections (slug or district code)")
        calendar.add_argument("area")
        calendar.add_argument("--days", type=int, default=14)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import-5374":
            directory = Path(options["directory"])
            if not directory.is_dir():
                raise CommandError(f"{directory}: no such directory")
            files = {name: _read(directory / name) for name in FILES_5374 if (directory / name).is_file()}
            try:
                report = import_5374(files, slug_prefix=options["slug_prefix"])
            except ImportRefused as exc:
                raise CommandError(str(exc)) from None
            self._report(report)
        elif action == "import-sorting":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                report = sorting_import(_read(path), path.name, replace=options["replace"])
            except ImportRefused as exc:
                raise CommandError(str(exc)) from None
            self._report(report)
        elif action == "search":
            for item, score in items_search_scored(options["query"]):
                self.stdout.write(f"{score:.2f}  {item.category.name}  {item.name}")
        else:
            area = area_by_slug(options["area"])
            if area is None:
                raise CommandError(f"{options['area']}: no such area or district")
            today = timezone.localdate()
            for collection in area_collections(area, today, today + timedelta(days=max(0, options["days"]))):
                moved = f"  (moved from {collection.moved_from})" if collection.moved_from else ""
                self.stdout.write(f"{collection.day}  {collection.category}{moved}")

    def _report(self, report: ImportReport) -> None:
        self.stdout.write(
            f"areas {report.areas}, items created {report.created}, updated {report.updated}, "
            f"hidden {report.deactivated}, refused {len(report.errors)}"
        )
        for line in report.errors:
            self.stderr.write(line)
