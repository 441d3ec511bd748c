"""Reading garbage open data: the 5374.jp files and cities' sorting tables.

Everything here reads bytes and returns plain rows (or refuses the file with a Japanese reason);
`services.py` writes them. Files are untrusted: size and row count are capped, the encoding must
be UTF-8 (with or without BOM) or Shift_JIS (cp932, what Excel in Japan writes), columns are
found by their header, and a row that cannot be used is reported by its line number and skipped.
Cells that look like spreadsheet formulas (=, +, -, @ first) are refused: they are never data a
sorting guide needs, and they would run if staff opened an export in Excel.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from madoguchi.core.textfiles import decode_upload
from madoguchi.faq.matcher import content_words, fold
from madoguchi.garbage.calendar import RuleError, parse_rule, resolve_remarks

MAX_FILE_BYTES = 5_000_000
MAX_ROWS = 20_000
MAX_NAME = 200
MAX_NOTICE = 2000
MAX_CATEGORY = 50
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PARENS = re.compile(r"[（(][^）)]*[）)]")


class ImportRefused(ValueError):
    """The whole file cannot be used; the message says why, in Japanese."""


def decode(data: bytes, name: str = "") -> str:
    """UTF-8 (BOM or not), else cp932; anything else (or binary) is refused."""
    return decode_upload(data, name=name, max_bytes=MAX_FILE_BYTES, refused=ImportRefused)


def read_table(data: bytes, name: str = "", delimiter: str | None = None) -> list[list[str]]:
    """Rows of a CSV (or TSV) file, cells stripped; the header is the first row."""
    text = decode(data, name)
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        rows: list[list[str]] = []
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) > MAX_ROWS:
                raise ImportRefused(f"{name}: 行が多すぎます(上限 {MAX_ROWS:,} 行)")
            rows.append([cell.strip() for cell in row])
    except csv.Error as error:
        raise ImportRefused(f"{name}: CSV として読めません({error})") from None
    rows = [row for row in rows if any(row)]
    if not rows:
        raise ImportRefused(f"{name}: 空のファイルです")
    return rows


def _formula(cell: str) -> bool:
    return cell.startswith(FORMULA_START)


def reading_of(name: str) -> str:
    """A hiragana reading for search, from SudachiPy (content words, brackets dropped)."""
    base = _PARENS.sub(" ", name)
    return "".join(reading for _, reading in content_words(base))[:300] or fold(base).replace(" ", "")[:300]


@dataclass
class ItemRow:
    key: str
    name: str
    category: str
    notice: str = ""
    reading: str = ""


@dataclass
class CategoryRow:
    name: str
    description: str = ""
    color: str = ""


@dataclass
class AreaRow:
    name: str
    center: str
    rules: dict[str, str]  # category → rule text (already checked)


@dataclass
class CenterRow:
    name: str
    closed_from: date | None
    closed_until: date | None


@dataclass
class Parsed:
    """What a file (or a 5374 folder) holds, and the lines that were refused."""

    source: str
    items: list[ItemRow] = field(default_factory=list)
    categories: list[CategoryRow] = field(default_factory=list)
    areas: list[AreaRow] = field(default_factory=list)
    centers: list[CenterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# Sorting tables: which layout, found by the header.

LAYOUTS = {
    # 津市 オープンデータ ごみ分別表 (original.csv)
    "tsu": ("ID", "品目", "分別区分", "出し方のポイント"),
    # the same reshaped with readings (tsu_gomi.ja.utf8.csv)
    "tsu_reading": ("id", "hiragana", "hinmoku", "kubun", "note"),
    # 金沢市 ごみ分別辞典 (H27_gomi_jiten.tsv)
    "jiten": ("品名", "大きさ・材質等", "ごみの種類", "諸注意"),
    # 5374's target.csv
    "5374": ("type", "name", "notice"),
}


def _layout(header: list[str]) -> tuple[str, dict[str, int]]:
    for layout, columns in LAYOUTS.items():
        if all(column in header for column in columns):
            return layout, {column: header.index(column) for column in header}
    raise ImportRefused(
        "見出し行が分かりません。次のどれかの列が必要です: "
        + " / ".join(",".join(columns) for columns in LAYOUTS.values())
    )


def parse_sorting(data: bytes, name: str = "") -> Parsed:
    """A sorting table (津市形式, 金沢市の分別辞典, or 5374's target.csv) → item rows."""
    rows = read_table(data, name)
    layout, index = _layout(rows[0])
    source = {"tsu": "tsu", "tsu_reading": "tsu", "jiten": "jiten", "5374": "5374"}[layout]
    parsed = Parsed(source=source)
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):

        def cell(column: str, row: list[str] = row) -> str:
            position = index.get(column)
            return row[position] if position is not None and position < len(row) else ""

        if layout == "tsu":
            item = ItemRow(cell("ID"), cell("品目"), cell("分別区分"), cell("出し方のポイント"))
        elif layout == "tsu_reading":
            item = ItemRow(cell("id"), cell("hinmoku"), cell("kubun"), cell("note"), cell("hiragana"))
        elif layout == "jiten":
            kind = cell("ごみの種類")
            category, _, sub = kind.partition("（")
            size = cell("大きさ・材質等")
            notes = [size, "（" + sub if sub else "", cell("諸注意")]
            item = ItemRow(
                f"{cell('品名')}|{size}", cell("品名"), category.strip(), "\n".join(n for n in notes if n)
            )
        else:
            item = ItemRow(f"{cell('name')}|{cell('notice')}", cell("name"), cell("type"), cell("notice"))
        error = _item_error(item)
        if error:
            parsed.errors.append(f"{line} 行目: {error}")
            continue
        if item.key in seen:
            parsed.errors.append(f"{line} 行目: 同じ品目が前の行にあります({item.name[:40]})")
            continue
        seen.add(item.key)
        item.reading = fold(item.reading).replace(" ", "")[:300] if item.reading else reading_of(item.name)
        parsed.items.append(item)
    if not parsed.items:
        raise ImportRefused(
            f"{name}: 取り込める品目がありません" + (f"({parsed.errors[0]})" if parsed.errors else "")
        )
    return parsed


def _item_error(item: ItemRow) -> str:
    if not item.name or not item.category or not item.key:
        return "品目、分別区分、ID のどれかが空です"
    if len(item.name) > MAX_NAME or len(item.category) > MAX_CATEGORY or len(item.key) > 300:
        return "品目か分別区分が長すぎます"
    if len(item.notice) > MAX_NOTICE:
        return "出し方のポイントが長すぎます"
    if any(_formula(text) for text in (item.name, item.category, item.notice, item.key)):
        return "数式のようなセルは取り込みません"
    return ""


# The 5374.jp folder


def _parse_day(text: str) -> date | None:
    for pattern in ("%Y/%m/%d", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_5374(files: dict[str, bytes]) -> Parsed:
    """The 5374 files by name (area_days.csv required; center.csv, description.csv,
    remarks.csv, target.csv when present)."""
    if "area_days.csv" not in files:
        raise ImportRefused("area_days.csv がありません")
    parsed = Parsed(source="5374")
    remarks: dict[str, str] = {}
    if "remarks.csv" in files:
        for row in read_table(files["remarks.csv"], "remarks.csv")[1:]:
            if len(row) >= 2 and row[0]:
                remarks[row[0]] = row[1]
    if "description.csv" in files:
        rows = read_table(files["description.csv"], "description.csv")
        if "label" not in rows[0]:
            raise ImportRefused("description.csv: 見出し行に label がありません")
        index = {column: i for i, column in enumerate(rows[0])}
        for line, row in enumerate(rows[1:], start=2):

            def cell(column: str, row: list[str] = row) -> str:
                position = index.get(column)
                return row[position] if position is not None and position < len(row) else ""

            label, color = cell("label"), cell("bgcolor")
            if not label or len(label) > MAX_CATEGORY or _formula(label):
                parsed.errors.append(f"description.csv {line} 行目: 種類の名前が使えません")
                continue
            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
                color = ""
            parsed.categories.append(CategoryRow(label, cell("description")[:MAX_NOTICE], color))
    rows = read_table(files["area_days.csv"], "area_days.csv")
    header = rows[0]
    if len(header) < 3:
        raise ImportRefused("area_days.csv: 地区名、センター、ごみの種類の列が必要です")
    categories = header[2:]
    if any(not c or len(c) > MAX_CATEGORY or _formula(c) for c in categories):
        raise ImportRefused("area_days.csv: 見出し行のごみの種類に使えない名前があります")
    known = {c.name for c in parsed.categories}
    parsed.categories += [CategoryRow(c) for c in categories if c not in known]
    names: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        name, center = [*row, "", ""][:2]
        if not name or len(name) > 100 or _formula(name) or len(center) > 100 or _formula(center):
            parsed.errors.append(f"area_days.csv {line} 行目: 地区名かセンター名が使えません")
            continue
        if name in names:
            parsed.errors.append(f"area_days.csv {line} 行目: 地区「{name[:40]}」が前の行にもあります")
            continue
        rules: dict[str, str] = {}
        try:
            for category, raw in zip(categories, row[2:], strict=False):
                text = resolve_remarks(raw, remarks)
                parse_rule(text)
                rules[category] = text
        except RuleError as error:
            parsed.errors.append(f"area_days.csv {line} 行目({name[:40]}): {error}")
            continue
        names.add(name)
        parsed.areas.append(AreaRow(name, center, rules))
    if not parsed.areas:
        raise ImportRefused("area_days.csv: 取り込める地区がありません")
    if "center.csv" in files:
        for line, row in enumerate(read_table(files["center.csv"], "center.csv")[1:], start=2):
            name, start, end = [*row, "", "", ""][:3]
            closed_from, closed_until = _parse_day(start), _parse_day(end)
            if (
                not name
                or len(name) > 100
                or _formula(name)
                or (start and not closed_from)
                or (end and not closed_until)
                or (closed_from and closed_until and not 0 <= (closed_until - closed_from).days <= 31)
            ):
                parsed.errors.append(f"center.csv {line} 行目: センター名か休止期間が読めません")
                continue
            parsed.centers.append(CenterRow(name, closed_from, closed_until))
    if "target.csv" in files:
        try:
            items = parse_sorting(files["target.csv"], "target.csv")
            parsed.items = items.items
            parsed.errors += [f"target.csv {error}" for error in items.errors]
        except ImportRefused as error:
            parsed.errors.append(str(error))
    return parsed
