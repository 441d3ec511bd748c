"""Office hours: whether a person is at the counter now, and when they next will be.

The setting reads like a sign on a door: "mon-fri 08:30-17:15", several parts separated by ";"
("mon-fri 08:30-17:15; sat 09:00-12:00"). Japanese public holidays (jpholiday) and the city's
own closed days (MADOGUCHI_CLOSED_DATES: "2026-12-29", or "12-29" for every year) are closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jpholiday
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_PART = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Opening:
    weekdays: frozenset[int]
    start: time
    end: time


def parse_hours(text: str) -> list[Opening]:
    openings = []
    for part in filter(str.strip, text.split(";")):
        match = _PART.match(part.lower())
        if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise ImproperlyConfigured(f"office hours {part!r}: write like 'mon-fri 08:30-17:15'")
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        start, end = time(int(match[3]), int(match[4])), time(int(match[5]) % 24, int(match[6]))
        if end <= start and end != time(0):
            raise ImproperlyConfigured(f"office hours {part!r}: the end must come after the start")
        openings.append(Opening(frozenset(days), start, end))
    return openings


def _closed_day(day: date) -> bool:
    closed = set(settings.MADOGUCHI_CLOSED_DATES)
    return jpholiday.is_holiday(day) or day.isoformat() in closed or day.strftime("%m-%d") in closed


def _spans(day: date, openings: list[Opening]) -> list[tuple[datetime, datetime]]:
    if _closed_day(day):
        return []
    zone = timezone.get_current_timezone()
    spans = []
    for opening in openings:
        if day.weekday() in opening.weekdays:
            start = datetime.combine(day, opening.start, zone)
            end_day = day + timedelta(days=1) if opening.end == time(0) else day
            spans.append((start, datetime.combine(end_day, opening.end, zone)))
    return sorted(spans)


def is_open(hours: str, now: datetime | None = None) -> bool:
    now = timezone.localtime(now or timezone.now())
    return any(start <= now < end for start, end in _spans(now.date(), parse_hours(hours)))


def next_opening(hours: str, now: datetime | None = None) -> datetime | None:
    """The next time the counter opens after `now` (None if it never does within a month)."""
    now = timezone.localtime(now or timezone.now())
    openings = parse_hours(hours)
    for offset in range(32):
        for start, _end in _spans(now.date() + timedelta(days=offset), openings):
            if start > now:
                return start
    return None


def counter_hours(counseling: bool) -> str:
    return settings.MADOGUCHI_COUNSELING_HOURS if counseling else settings.MADOGUCHI_OFFICE_HOURS
