"""Reading what a resident typed or sent as the answer to an `ask` step.

Each reader returns the value to store, or raises `Invalid` with the Japanese message the
resident sees (translated by gettext for residents who chose another language).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.chatbot.registry import Turn
from madoguchi.scenarios.definition import date_from_spec

ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*[^\d\s]{0,3}$")  # 3, 3.5, 3歳, 10 人
DATE_WESTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
DATE_ERA = re.compile(
    r"^(令和|平成|昭和|r|h|s)\s*(\d{1,2}|元)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$"
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Invalid(ValueError):
    """The answer does not fit; the message says why, for the resident."""


def _typed(turn: Turn) -> str:
    if turn.message_type != "text" or turn.raw_text is None:
        raise Invalid(_("文字で入力してください。"))
    text = CONTROL.sub("", turn.raw_text).strip()
    if not text:
        raise Invalid(_("文字で入力してください。"))
    return text


def read_text(turn: Turn, step: dict[str, Any]) -> str:
    text = _typed(turn)
    limit = int(step.get("max_length", 500))
    if len(text) > limit:
        raise Invalid(_("%(limit)d 文字以内で入力してください。") % {"limit": limit})
    return text


def read_number(turn: Turn, step: dict[str, Any]) -> int | float:
    text = unicodedata.normalize("NFKC", _typed(turn)).replace(",", "").strip()
    match = NUMBER.match(text) if len(text) <= 20 else None
    if match is None:
        raise Invalid(_("数字で入力してください (例: 3)。"))
    number: int | float = float(match.group(1))
    if step.get("integer", True):
        if number != int(number):
            raise Invalid(_("整数で入力してください (例: 3)。"))
        number = int(number)
    low, high = step.get("min"), step.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            raise Invalid(_("%(min)s から %(max)s までの数で入力してください。") % {"min": low, "max": high})
        if low is not None:
            raise Invalid(_("%(min)s 以上の数で入力してください。") % {"min": low})
        raise Invalid(_("%(max)s 以下の数で入力してください。") % {"max": high})
    return number


def parse_date(text: str) -> date | None:
    """2024-04-01, 2024/4/1, 2024年4月1日, 令和6年4月1日, R6.4.1 (full or half width)."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    era = DATE_ERA.match(text)
    if era:
        name, year_text, month, day = era.groups()
        year = ERAS[name] + (1 if year_text == "元" else int(year_text))
    elif western := DATE_WESTERN.match(text):
        year_text, month, day = western.groups()
        year = int(year_text)
    else:
        return None
    try:
        return date(year, int(month), int(day))
    except ValueError:
        return None


def read_date(value: str, step: dict[str, Any], today: date) -> str:
    """`value` is what was typed, or the date LINE's date picker sent."""
    parsed = parse_date(CONTROL.sub("", value)[:40])
    if parsed is None:
        raise Invalid(_("日付を 2024-04-01 や 令和6年4月1日 のように入力してください。"))
    low = date_from_spec(step["min"], today) if "min" in step else None
    high = date_from_spec(step["max"], today) if "max" in step else None
    if (low is not None and parsed < low) or (high is not None and parsed > high):
        if low is not None and high is not None:
            raise Invalid(
                _("%(min)s から %(max)s までの日付を入力してください。")
                % {"min": low.isoformat(), "max": high.isoformat()}
            )
        if low is not None:
            raise Invalid(_("%(min)s 以降の日付を入力してください。") % {"min": low.isoformat()})
        raise Invalid(_("%(max)s 以前の日付を入力してください。") % {"max": high.isoformat()})  # type: ignore[union-attr]
    return parsed.isoformat()


def full_years(since: str, today: date) -> int:
    born = date.fromisoformat(since)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def read_photo(turn: Turn) -> str:
    """The LINE message id of the photo (the image stays with LINE until fetched on purpose)."""
    if turn.message_type != "image" or not turn.message_id:
        raise Invalid(_("写真を送ってください (下の「カメラ」か「写真を選ぶ」から)。"))
    return turn.message_id[:40]


def read_location(turn: Turn) -> dict[str, Any]:
    location = turn.location
    if location is None:
        raise Invalid(_("位置情報を送ってください (下の「位置情報」から)。"))
    try:
        lat, lng = float(location.get("latitude")), float(location.get("longitude"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Invalid(_("位置情報を読み取れませんでした。もう一度送ってください。")) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid(_("位置情報を読み取れませんでした。もう一度送ってください。"))
    address = location.get("address")
    return {
        "lat": lat,
        "lng": lng,
        "address": CONTROL.sub("", address)[:200] if isinstance(address, str) else "",
    }
