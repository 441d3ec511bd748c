"""Writes to the FAQ: import from the city's spreadsheet (CSV or Excel), feedback from residents."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from madoguchi.core.audit import audit_record
from madoguchi.faq.models import FaqEntry, Question

# The columns of the city's FAQ sheet (faq-midori/faq.csv); `variants` is optional, "|"-separated.
REQUIRED_COLUMNS = ["id", "category", "question", "answer", "department"]
MAX_IMPORT_BYTES = 10_000_000
MAX_ROWS = 20_000


class ImportRefused(ValueError):
    """The file cannot be imported at all; nothing was changed."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)  # one Japanese line per refused row


def _rows_from(content: bytes, filename: str) -> list[dict[str, str]]:
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportRefused("ファイルが大きすぎます (10 MB まで)。")
    if filename.lower().endswith(".xlsx"):
        import openpyxl

        try:
            sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception:  # openpyxl raises many kinds for a broken file
            raise ImportRefused("Excel ファイルを読み込めませんでした。") from None
        values = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        if not values:
            raise ImportRefused("ファイルが空です。")
        header, body = [h.strip() for h in values[0]], values[1:]
        return [dict(zip(header, row, strict=False)) for row in body]
    for encoding in ("utf-8-sig", "cp932"):  # Excel in Japan saves CSV as Shift_JIS (cp932)
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused("文字コードを判別できませんでした (UTF-8 または Shift_JIS で保存してください)。")
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]


def faq_import(content: bytes, filename: str, *, actor: AbstractBaseUser | None = None) -> ImportReport:
    """Create or update entries by their `id`; rows with problems are reported, the rest imported."""
    rows = _rows_from(content, filename)
    if len(rows) > MAX_ROWS:
        raise ImportRefused(f"行が多すぎます ({MAX_ROWS} 行まで)。")
    missing = [c for c in REQUIRED_COLUMNS if rows and c not in rows[0]] if rows else REQUIRED_COLUMNS
    if missing:
        raise ImportRefused("必要な列がありません: " + ", ".join(missing))
    report = ImportReport()
    with transaction.atomic():
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            problem = _row_problem(row)
            if problem:
                report.errors.append(f"{number} 行目: {problem}")
                continue
            _, created = FaqEntry.objects.update_or_create(
                external_id=row["id"].strip(),
                defaults={
                    "category": row["category"].strip()[:100],
                    "question": row["question"].strip(),
                    "answer": row["answer"].strip(),
                    "department_label": row["department"].strip()[:200],
                    "variants": [v.strip() for v in row.get("variants", "").split("|") if v.strip()][:50],
                },
            )
            report.created += created
            report.updated += not created
        audit_record(
            action="faq.entries.imported",
            actor=actor,
            data={
                "file": filename[:200],
                "created": report.created,
                "updated": report.updated,
                "errors": len(report.errors),
            },
        )
    return report


def _row_problem(row: dict[str, Any]) -> str:
    entry_id = (row.get("id") or "").strip()
    if not entry_id or len(entry_id) > 40:
        return "id が空か長すぎます (40 文字まで)。"
    if not (row.get("question") or "").strip():
        return "質問が空です。"
    if len(row.get("question", "")) > 500:
        return "質問が長すぎます (500 文字まで)。"
    if not (row.get("answer") or "").strip():
        return "回答が空です。"
    if len(row.get("answer", "")) > 5000:
        return "回答が長すぎます (LINE の 1 メッセージは 5,000 文字まで)。"
    return ""


def faq_export_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REQUIRED_COLUMNS, "variants"])
    for e in FaqEntry.objects.order_by("external_id"):
        writer.writerow(
            [e.external_id, e.category, e.question, e.answer, e.department_label, "|".join(e.variants)]
        )
    return out.getvalue()


def question_feedback(question_id: int, helpful: bool) -> None:
    Question.objects.filter(pk=question_id).update(helpful=helpful)
