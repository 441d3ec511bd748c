"""Writes to the FAQ: import from the city's spreadsheet (CSV or Excel), feedback from residents."""

from __future__ import annotations

import csv
import datetime
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.core.audit import audit_record
from madoguchi.faq.images import CleanImage, image_key_in, image_public_url
from madoguchi.faq.matcher import word_features
from madoguchi.faq.models import FaqEntry, FaqImage, Question, Synonym

# The languages staff may write answers in besides Japanese, やさしい日本語 (ja-easy) first.
ANSWER_LANGUAGES = [code for code, _label in LANGUAGES if code != "ja"]

# The columns of the city's FAQ sheet (faq-midori/faq.csv). The others are optional: a sheet
# without one of them leaves that field as it is, so re-importing the city's plain sheet never
# drops the variants staff taught the bot or the answers they wrote in other languages.
REQUIRED_COLUMNS = ["id", "category", "question", "answer", "department"]
LANGUAGE_COLUMNS = {f"answer_{code}": code for code in ANSWER_LANGUAGES}  # answer_en, answer_ja-easy …
OPTIONAL_COLUMNS = ["variants", "valid_from", "valid_until", "links", *LANGUAGE_COLUMNS]
# The export adds the entry's picture as its public URL. Pictures are uploaded in the console,
# never fetched from a sheet: on import, the column may only keep the picture the entry has
# (its URL as exported) or, left empty, remove it.
IMAGE_COLUMN = "image"
MAX_IMPORT_BYTES = 10_000_000
MAX_ROWS = 20_000
MAX_VARIANTS = 50
MAX_LINKS = 4  # a LINE buttons card holds four


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
        values = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
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


def _cell_text(value: Any) -> str:
    """An Excel cell as the text a CSV would hold (a date cell as 2026-04-01)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


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
        # The picture each entry has now: the image column may keep it, never bring another.
        pictures = dict(FaqImage.objects.values_list("entry__external_id", "key"))
        removed = 0
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            problem = _row_problem(row) or _image_problem(row, pictures)
            if problem:
                report.errors.append(f"{number} 行目: {problem}")
                continue
            fields = _row_fields(row)
            if isinstance(fields, str):
                report.errors.append(f"{number} 行目: {fields}")
                continue
            entry, created = FaqEntry.objects.update_or_create(external_id=row["id"].strip(), defaults=fields)
            report.created += created
            report.updated += not created
            if IMAGE_COLUMN in row and not (row[IMAGE_COLUMN] or "").strip():
                removed += FaqImage.objects.filter(entry=entry).delete()[0]
        audit_record(
            action="faq.entries.imported",
            actor=actor,
            data={
                "file": filename[:200],
                "created": report.created,
                "updated": report.updated,
                "errors": len(report.errors),
                "images_removed": removed,
            },
        )
    return report


def _image_problem(row: dict[str, Any], pictures: dict[str, str]) -> str:
    """An image cell may hold only the URL of the picture the entry already has."""
    url = _unescaped((row.get(IMAGE_COLUMN) or "").strip())
    if not url:
        return ""
    key = pictures.get((row.get("id") or "").strip())
    if key is None or image_key_in(url) != key:
        return (
            f"image 列の「{url[:60]}」はこの項目の画像ではありません。"
            "画像はコンソールの編集画面で登録してください "
            "(取り込みでは、書き出した画像の URL を残すか、空にして外すことだけができます)。"
        )
    return ""


def _row_problem(row: dict[str, Any]) -> str:
    row = {key: _unescaped(value or "") for key, value in row.items()}
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


def _row_fields(row: dict[str, str]) -> dict[str, Any] | str:
    """The entry's fields from one sheet row, or a Japanese line saying what is wrong with it."""
    row = {key: _unescaped(value or "") for key, value in row.items()}
    fields: dict[str, Any] = {
        "category": row["category"].strip()[:100],
        "question": row["question"].strip(),
        "answer": row["answer"].strip(),
        "department_label": row["department"].strip()[:200],
    }
    if "variants" in row:
        fields["variants"] = _split_variants(row["variants"])
    for column in ("valid_from", "valid_until"):
        if column in row:
            text = row[column].strip()
            try:
                fields[column] = _parse_date(text) if text else None
            except ValueError:
                return f"{column} の日付「{text[:20]}」を読めません (2026-04-01 の形で書いてください)。"
    if (
        fields.get("valid_from")
        and fields.get("valid_until")
        and fields["valid_from"] > fields["valid_until"]
    ):
        return "掲載終了日が開始日より前です。"
    if "links" in row:
        links = parse_links(row["links"].replace("|", "\n"))
        if isinstance(links, str):
            return links
        fields["links"] = links
    present = {code: column for column, code in LANGUAGE_COLUMNS.items() if column in row}
    if present:
        fields["answers_by_language"] = {}
        for code, column in present.items():
            text = row[column].strip()
            if len(text) > 5000:
                return f"{column} が長すぎます (5,000 文字まで)。"
            if text:
                fields["answers_by_language"][code] = text
    return fields


def _split_variants(text: str) -> list[str]:
    return list(dict.fromkeys(v.strip()[:500] for v in text.split("|") if v.strip()))[:MAX_VARIANTS]


def _parse_date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(re.sub(r"[/.]", "-", text)[:10])


_LINK = re.compile(r"^(?P<label>.*?)\s*(?P<url>https://\S+)$")


def parse_links(text: str) -> list[dict[str, str]] | str:
    """Links written one a line as `表示名 https://…`, or a Japanese line saying what is wrong."""
    links = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        match = _LINK.match(line)
        if match is None or len(match["url"]) > 1000:
            return f"リンク「{line[:40]}」: 表示名のあとに https:// で始まる URL を書いてください。"
        label = match["label"].strip() or "詳しくはこちら"
        if len(label) > 20:
            return f"リンク「{line[:40]}」: 表示名は 20 文字までです (LINE のボタンの長さ)。"
        links.append({"label": label, "url": match["url"]})
    if len(links) > MAX_LINKS:
        return f"リンクは {MAX_LINKS} つまでです。"
    return links


def links_text(links: Sequence[dict[str, str]], separator: str = "\n") -> str:
    return separator.join(f"{link['label']} {link['url']}" for link in links)


# Export: the same columns the import reads, so a sheet goes out, is edited, and comes back.
EXPORT_COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, IMAGE_COLUMN]


def _export_rows() -> Iterable[list[str]]:
    yield EXPORT_COLUMNS
    pictures = {
        entry_id: image_public_url(key, content_type)
        for entry_id, key, content_type in FaqImage.objects.values_list("entry_id", "key", "content_type")
    }
    for e in FaqEntry.objects.order_by("external_id").iterator():
        yield [
            e.external_id,
            e.category,
            e.question,
            e.answer,
            e.department_label,
            "|".join(e.variants),
            e.valid_from.isoformat() if e.valid_from else "",
            e.valid_until.isoformat() if e.valid_until else "",
            links_text(e.links, "|"),
            *((e.answers_by_language or {}).get(code, "") for code in LANGUAGE_COLUMNS.values()),
            pictures.get(e.pk, ""),
        ]


# A cell starting with one of these would be run as a formula by Excel when a CSV is opened;
# the export writes a "'" before it (as Excel itself does) and the import takes it off again.
_FORMULA_START = ("=", "+", "-", "@")


def _escaped(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA_START else text


def _unescaped(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in _FORMULA_START else text


def faq_export_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _export_rows():
        writer.writerow([_escaped(cell) for cell in row])
    return out.getvalue()


def faq_export_xlsx() -> bytes:
    """The FAQ as an Excel workbook in the sheet's columns; every cell is text, never a formula."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "FAQ"
    for number, row in enumerate(_export_rows(), start=1):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=number, column=column)
            cell.value = value
            cell.data_type = "s"  # text, even when it starts with "="
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def faq_image_set(
    *,
    entry: FaqEntry,
    image: CleanImage,
    actor: AbstractBaseUser | None = None,
    ip_address: str | None = None,
) -> FaqImage:
    """Give the entry a picture (checked and cleaned by faq.images), in place of any it had,
    under a new key: LINE and phones cache pictures by URL."""
    with transaction.atomic():
        FaqImage.objects.filter(entry=entry).delete()
        picture = FaqImage.objects.create(
            entry=entry,
            key=secrets.token_urlsafe(18),
            data=image.data,
            content_type=image.content_type,
            preview=image.preview,
            width=image.width,
            height=image.height,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,  # type: ignore[misc]
        )
        audit_record(
            action="faq.entry.image_set",
            actor=actor,
            obj=entry,
            ip_address=ip_address,
            data={
                "content_type": image.content_type,
                "width": image.width,
                "height": image.height,
                "size": len(image.data),
            },
        )
    return picture


def faq_image_remove(
    *, entry: FaqEntry, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> bool:
    """Take the entry's picture away (its URL stops answering at once). False if it had none."""
    with transaction.atomic():
        removed = FaqImage.objects.filter(entry=entry).delete()[0] > 0
        if removed:
            audit_record(action="faq.entry.image_removed", actor=actor, obj=entry, ip_address=ip_address)
    return removed


def question_feedback(question_id: int, helpful: bool) -> None:
    Question.objects.filter(pk=question_id).update(helpful=helpful)


def questions_erase(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure (residents.services.ERASURE_HOOKS): what the resident asked goes, and leaves the
    learning loop's list; that a question was asked and what the bot did stay for the figures."""
    asked = Question.objects.filter(resident__channel_id=channel_id, resident__line_user_id=line_user_id)
    asked.filter(handled_at__isnull=True).update(
        handled_at=timezone.now(), resolution=Question.Resolution.DISMISSED
    )
    return asked.update(text="")


# The learning loop's writes (faq.learning groups the questions staff see).

MAX_HANDLED = 1000  # a staff page groups at most this many questions


def _mark_handled(
    question_ids: Iterable[int],
    *,
    resolution: str,
    entry: FaqEntry | None,
    actor: AbstractBaseUser | None,
) -> int:
    """Mark waiting questions handled; ones another member of staff handled meanwhile stay as they are."""
    ids = [int(pk) for pk in question_ids][:MAX_HANDLED]
    return Question.objects.filter(pk__in=ids, handled_at__isnull=True).update(
        handled_at=timezone.now(), handled_by=actor, resolution=resolution, resolved_entry=entry
    )


def faq_variant_add(
    *,
    entry: FaqEntry,
    text: str,
    question_ids: Iterable[int] = (),
    actor: AbstractBaseUser | None = None,
    ip_address: str | None = None,
) -> bool:
    """Teach the bot a resident's wording: `text` becomes a variant of `entry` (the index is
    rebuilt on the next question), and the grouped questions it stood for are marked handled.
    Returns False when the wording was already there (the questions are still marked)."""
    text = " ".join(text.split())[:500]
    with transaction.atomic():
        entry = FaqEntry.objects.select_for_update().get(pk=entry.pk)
        added = bool(text) and text not in entry.variants and text != entry.question
        if added:
            entry.variants = [*entry.variants, text][-MAX_VARIANTS:]
            entry.save(update_fields=["variants", "updated_at"])
        handled = _mark_handled(
            question_ids, resolution=Question.Resolution.VARIANT, entry=entry, actor=actor
        )
        audit_record(
            action="faq.entry.variant_added",
            actor=actor,
            obj=entry,
            ip_address=ip_address,
            data={"variant": text, "added": added, "questions": handled},
        )
    return added


def questions_learned_as_entry(
    *,
    entry: FaqEntry,
    question_ids: Iterable[int],
    actor: AbstractBaseUser | None = None,
    ip_address: str | None = None,
) -> int:
    """Staff wrote a new entry for grouped questions: they are handled, by that entry."""
    with transaction.atomic():
        handled = _mark_handled(
            question_ids, resolution=Question.Resolution.NEW_ENTRY, entry=entry, actor=actor
        )
        audit_record(
            action="faq.questions.learned",
            actor=actor,
            obj=entry,
            ip_address=ip_address,
            data={"questions": handled},
        )
    return handled


def questions_dismiss(
    *, question_ids: Iterable[int], actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> int:
    """Questions that need nothing from the FAQ (chit-chat, the weather, abuse) leave the list."""
    with transaction.atomic():
        handled = _mark_handled(
            question_ids, resolution=Question.Resolution.DISMISSED, entry=None, actor=actor
        )
        audit_record(
            action="faq.questions.dismissed", actor=actor, ip_address=ip_address, data={"questions": handled}
        )
    return handled


def faq_next_external_id() -> str:
    """A free id in the style of the city's sheet (F125 → F126), for a new entry."""
    numbered = [
        (m.group(1), m.group(2))
        for m in (
            re.fullmatch(r"([A-Za-z]*)(\d+)", eid)
            for eid in FaqEntry.objects.values_list("external_id", flat=True)
        )
        if m
    ]
    if not numbered:
        return "Q001"
    prefixes: dict[str, list[str]] = {}
    for prefix, digits in numbered:
        prefixes.setdefault(prefix, []).append(digits)
    prefix = max(prefixes, key=lambda p: len(prefixes[p]))
    width = max(len(d) for d in prefixes[prefix])
    number = max(int(d) for d in prefixes[prefix]) + 1
    while FaqEntry.objects.filter(external_id=f"{prefix}{number:0{width}d}").exists():
        number += 1
    return f"{prefix}{number:0{width}d}"


# Synonyms staff add (faq.synonyms holds the city's defaults).


def synonym_problem(term: str, means: str) -> str:
    """What is wrong with a synonym, in Japanese, or "" when it may be saved."""
    if not term.strip() or not means.strip():
        return "住民の言葉と FAQ の言葉の両方を書いてください。"
    if len(term) > 100 or len(means) > 300:
        return "長すぎます (住民の言葉は 100 文字、FAQ の言葉は 300 文字まで)。"
    if not word_features(term):
        # A particle or a symbol would be "found" in nearly every question.
        return f"「{term[:20]}」は助詞や記号だけなので、同義語にできません。"
    return ""


def synonym_add(
    *, term: str, means: str, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> Synonym:
    """A resident's word and the FAQ's words it stands for; the index uses it from the next question."""
    term, means = " ".join(term.split()), " ".join(means.split())
    problem = synonym_problem(term, means)
    if problem:
        raise ValueError(problem)
    with transaction.atomic():
        synonym = Synonym.objects.create(term=term, means=means)
        audit_record(
            action="faq.synonym.created",
            actor=actor,
            obj=synonym,
            ip_address=ip_address,
            data={"term": term, "means": means},
        )
    return synonym


def synonym_delete(
    *, synonym: Synonym, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> None:
    with transaction.atomic():
        audit_record(
            action="faq.synonym.deleted",
            actor=actor,
            obj=synonym,
            ip_address=ip_address,
            data={"term": synonym.term, "means": synonym.means},
        )
        synonym.delete()
