"""Reading shelter open data: 国土地理院 (GSI) CSV and the 自治体標準オープンデータセット
「指定緊急避難場所一覧」.

Everything here reads bytes and returns plain rows (or refuses the whole file with a Japanese
reason); `services.py` writes them. Files are untrusted: the size and the row count are capped,
the encoding must be UTF-8 (with or without BOM) or Shift_JIS (cp932: GSI's own downloads), the
columns are found by their header, and a row that cannot be used is refused by its line number
with the reason, the others imported. A cell that looks like a spreadsheet formula (=, +, -, @
first) refuses its row: no shelter needs one, and it would run if staff opened an export in Excel.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from madoguchi.core.textfiles import decode_upload
from madoguchi.disaster.hazards import HAZARDS

MAX_FILE_BYTES = 5_000_000
MAX_ROWS = 20_000
MAX_NAME = 200
MAX_ADDRESS = 300
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Japan, with its outlying islands: a point outside is a typo or swapped columns.
JAPAN = (20.0, 122.0, 46.0, 154.0)

GSI_EMERGENCY = ("共通ID", "施設・場所名", "住所", "緯度", "経度", *(h.gsi_column for h in HAZARDS))
GSI_EVACUATION = ("共通ID", "施設・場所名", "住所", "緯度", "経度", "指定緊急避難場所との住所同一")
STANDARD = ("ID", "名称", "緯度", "経度", *(h.standard_column for h in HAZARDS))
FORMATS = ("gsi", "standard")


class ImportRefused(ValueError):
    """The whole file cannot be used; the message says why, in Japanese."""


@dataclass
class ShelterRow:
    key: str
    kind: str  # Shelter.Kind
    name: str
    address: str
    latitude: float
    longitude: float
    hazards: set[str] = field(default_factory=set)
    capacity: int | None = None
    capacity_text: str = ""
    community: str = ""


@dataclass
class Parsed:
    source: str  # Shelter.Source
    rows: list[ShelterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def decode(data: bytes, name: str = "") -> str:
    """UTF-8 (BOM or not), else cp932; anything else (or binary) is refused."""
    return decode_upload(data, name=name, max_bytes=MAX_FILE_BYTES, refused=ImportRefused)


def read_rows(data: bytes, name: str = "") -> list[list[str]]:
    text = decode(data, name)
    label = f"{name}: " if name else ""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(rows) > MAX_ROWS:
                raise ImportRefused(f"{label}行が多すぎます(上限 {MAX_ROWS:,} 行)")
            rows.append([cell.strip() for cell in row])
    except csv.Error as error:
        raise ImportRefused(f"{label}CSV として読めません({error})") from None
    if not any(any(row) for row in rows):
        raise ImportRefused(f"{label}空のファイルです")
    return rows


def detect(header: list[str]) -> str:
    """'gsi' or 'standard', from the header row."""
    if "共通ID" in header:
        return "gsi"
    if "名称" in header and "ID" in header:
        return "standard"
    raise ImportRefused(
        "見出し行が分かりません。国土地理院形式(共通ID,施設・場所名,住所,…,緯度,経度)か、"
        "自治体標準オープンデータセット形式(ID,名称,…,緯度,経度,災害種別_洪水,…)の CSV を選んでください"
    )


def _missing(header: list[str], required: tuple[str, ...]) -> list[str]:
    return [column for column in required if column not in header]


def _flag(value: str) -> bool:
    """GSI writes 1; the standard dataset 1 (Nanao's export: 1.0); anything else is no."""
    value = unicodedata.normalize("NFKC", value).strip()
    try:
        return float(value) == 1.0
    except ValueError:
        return value in ("○", "◯", "〇", "有", "あり")


def _coordinate(value: str) -> float | None:
    try:
        number = float(unicodedata.normalize("NFKC", value).strip())
    except ValueError:
        return None
    return number if number == number else None  # NaN


_PEOPLE = re.compile(r"(\d[\d,]*)\s*人")
_NUMBER = re.compile(r"\d[\d,]*")


def capacity_of(text: str) -> int | None:
    """想定収容人数 as one number: the sum of the head counts written (屋内1,371人／屋外5,470人 →
    6841; 面積の1/2 is not a count), or the first number when no 人 is written."""
    text = unicodedata.normalize("NFKC", text)
    counts = [int(found.replace(",", "")) for found in _PEOPLE.findall(text) if len(found) <= 9]
    if not counts:
        first = _NUMBER.search(text)
        digits = first.group().replace(",", "") if first else ""
        counts = [int(digits)] if digits and len(digits) <= 9 else []
    total = sum(counts)
    return total if counts and total < 10_000_000 else None


def _clean(text: str, limit: int) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch.isprintable())[:limit].strip()


def parse(data: bytes, name: str = "", fmt: str | None = None) -> Parsed:
    """A shelter CSV → rows. `fmt` ('gsi' or 'standard') is checked against the header; None detects."""
    rows = read_rows(data, name)
    header = [unicodedata.normalize("NFKC", cell).lstrip("\ufeff") for cell in rows[0]]
    found = detect(header)
    if fmt is not None and fmt != found:
        expected = {"gsi": "国土地理院形式", "standard": "自治体標準オープンデータセット形式"}
        raise ImportRefused(f"{expected[fmt]}を指定しましたが、見出し行は{expected[found]}のものです")
    if found == "gsi":
        if "洪水" in header or not set(GSI_EVACUATION) <= set(header):
            required, kind = GSI_EMERGENCY, "emergency"
        else:
            required, kind = GSI_EVACUATION, "evacuation"
        columns = {"key": "共通ID", "name": "施設・場所名", "address": "住所"}
    else:
        required, kind = STANDARD, "emergency"
        columns = {"key": "ID", "name": "名称", "address": "所在地_連結表記"}
    missing = _missing(header, required)
    if missing:
        raise ImportRefused("必要な列がありません: " + "、".join(missing))
    index = {column: position for position, column in reversed(list(enumerate(header)))}
    parsed = Parsed(source=found)
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        row = row + [""] * (len(header) - len(row))

        def cell(column: str, row: list[str] = row) -> str:
            position = index.get(column)
            return row[position] if position is not None else ""

        problem = _row_problem(row, cell, columns, seen)
        if problem:
            parsed.errors.append(f"{line} 行目: {problem}")
            continue
        key = cell(columns["key"])
        seen.add(key)
        address = cell(columns["address"]) or cell("住所")
        capacity_text = cell("想定収容人数")
        parsed.rows.append(
            ShelterRow(
                key=key,
                kind=kind,
                name=_clean(cell(columns["name"]), MAX_NAME),
                address=_clean(address, MAX_ADDRESS),
                latitude=_coordinate(cell("緯度")) or 0.0,
                longitude=_coordinate(cell("経度")) or 0.0,
                hazards={
                    hazard.code
                    for hazard in HAZARDS
                    if _flag(cell(hazard.gsi_column if found == "gsi" else hazard.standard_column))
                },
                capacity=capacity_of(capacity_text) if capacity_text else None,
                capacity_text=_clean(capacity_text, 200),
                community=_clean(cell("対象となる町会・自治会"), 200),
            )
        )
    if not parsed.rows and parsed.errors:
        raise ImportRefused("取り込める行がありません。" + " / ".join(parsed.errors[:5]))
    return parsed


def _formula(value: str) -> bool:
    """=, +, -, @ first, except a signed number (-0.5) or a lone dash (a blank written as -)."""
    if not value.startswith(FORMULA_START) or value.strip("-") == "":
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _row_problem(row: list[str], cell: Callable[[str], str], columns: dict[str, str], seen: set[str]) -> str:
    formula = next((value for value in row if _formula(value)), None)
    if formula is not None:
        return f"数式のようなセルがあります(「{formula[:20]}」)"
    key = cell(columns["key"])
    if not key:
        return f"{columns['key']} が空です"
    if len(key) > 100:
        return f"{columns['key']} が長すぎます"
    if key in seen:
        return f"{columns['key']}「{key[:30]}」が重複しています"
    if not cell(columns["name"]):
        return "名称が空です"
    latitude, longitude = _coordinate(cell("緯度")), _coordinate(cell("経度"))
    if latitude is None or longitude is None:
        return f"緯度・経度が数値ではありません(「{cell('緯度')[:20]}」「{cell('経度')[:20]}」)"
    south, west, north, east = JAPAN
    if not (south <= latitude <= north and west <= longitude <= east):
        return (
            f"緯度・経度が日本の範囲外です({latitude}, {longitude})。"
            "列の入れ違いや誤記がないか確かめてください"
        )
    return ""
