"""`madoguchi faq import FILE`, `madoguchi faq export [-o FILE]` and
`madoguchi faq ask [--json] [--stdin] "QUERY"`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.faq.index import current_index
from madoguchi.faq.services import ImportRefused, faq_export_csv, faq_export_xlsx, faq_import


class Command(BaseCommand):
    help = "Import, export and query the FAQ."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importing = sub.add_parser(
            "import", help="import a CSV or Excel (.xlsx) file in the FAQ sheet's columns"
        )
        importing.add_argument("file")
        exporting = sub.add_parser("export", help="print the FAQ as CSV, or write it to a .csv or .xlsx file")
        exporting.add_argument("-o", "--output", help="a file; .xlsx writes Excel")
        asking = sub.add_parser("ask", help="what the bot would do with a question")
        asking.add_argument("query", nargs="?", default="")
        asking.add_argument("--json", action="store_true", help="one JSON line per query")
        asking.add_argument("--stdin", action="store_true", help="read one query per line")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                report = faq_import(path.read_bytes(), path.name)
            except ImportRefused as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(
                f"created {report.created}, updated {report.updated}, refused {len(report.errors)}"
            )
            for line in report.errors:
                self.stderr.write(line)
        elif action == "export":
            output = options.get("output")
            if not output:
                self.stdout.write(faq_export_csv(), ending="")
            elif output.lower().endswith(".xlsx"):
                Path(output).write_bytes(faq_export_xlsx())
            else:  # with a BOM, so Excel in Japan opens it as UTF-8
                Path(output).write_text("\ufeff" + faq_export_csv(), encoding="utf-8")
        else:
            queries = [line.rstrip("\r\n") for line in sys.stdin] if options["stdin"] else [options["query"]]
            index = current_index()
            for query in queries:
                decision = index.decide(query)
                candidates = [{"id": c.id, "score": c.score} for c in decision.candidates[:5]]
                if options["json"]:
                    result = {"query": query, "answer_id": decision.answer_id, "candidates": candidates}
                    self.stdout.write(json.dumps(result, ensure_ascii=False))
                else:
                    top = ", ".join(f"{c['id']} {c['score']:.2f}" for c in candidates) or "-"
                    self.stdout.write(f"{decision.kind}: {decision.answer_id or '-'}  ({top})  {query}")
