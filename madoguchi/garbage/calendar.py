"""Collection days from 5374.jp rules: pure functions, no database.

A 5374 rule is one cell of `area_days.csv` (one area, one category):

- `月 木`         every Monday and Thursday;
- `水2`           the 2nd Wednesday of each month; `火1 火3 火5` the 1st, 3rd and 5th Tuesday
                  (a 5th weekday exists only in some months);
- `金4:4 6 8 10 12 2`  what is left of `:` only in the months listed right of it;
- `20140301 20140325`  explicit dates (YYYYMMDD), alone or mixed with the above;
- `*1`            the weekdays written in remarks.csv row 1 (resolved by the importer).

The city's exceptions are applied in this order:

1. the disposal centre's 年末年始 closure (center.csv): a day inside it is skipped, or — as
   Kanazawa does (`WeekShift`) — moved a week later, again and again until it is outside;
2. national holidays (jpholiday), per category: collected as usual, skipped, or moved to the
   next day that is neither a holiday nor a Sunday.

`collection_days(rules, start, end, ...)` → one `Collection` per (day, category), sorted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import jpholiday

WEEKDAYS = "月火水木金土日"  # date.weekday(): Monday is 0
MAX_RULE_LENGTH = 500
_NTH = re.compile(r"^([月火水木金土日])([1-5])$")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class RuleError(ValueError):
    """A cell that is not a 5374 rule; the message says which part, in Japanese."""


class HolidayPolicy(StrEnum):
    COLLECT = "collect"  # collected as usual
    SKIP = "skip"  # no collection that day
    MOVE = "move"  # moved to the next day that is neither a holiday nor a Sunday


class ClosureHandling(StrEnum):
    SKIP = "skip"
    WEEK_SHIFT = "week_shift"  # moved a week later (Kanazawa's WeekShift)


@dataclass(frozen=True)
class Rule:
    weekly: frozenset[int] = frozenset()  # weekdays, Monday = 0
    nth: frozenset[tuple[int, int]] = frozenset()  # (weekday, n): n-th such weekday of the month
    months: frozenset[int] | None = None  # None: every month
    dates: frozenset[date] = frozenset()  # explicit dates (not filtered by months)

    def matches(self, day: date) -> bool:
        if day in self.dates:
            return True
        if self.months is not None and day.month not in self.months:
            return False
        weekday = day.weekday()
        return weekday in self.weekly or (weekday, (day.day - 1) // 7 + 1) in self.nth

    @property
    def empty(self) -> bool:
        return not (self.weekly or self.nth or self.dates)


@dataclass(frozen=True)
class Closure:
    """A disposal centre's closed period (inclusive)."""

    start: date
    end: date
    handling: ClosureHandling = ClosureHandling.SKIP

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, order=True)
class Collection:
    day: date
    category: str
    moved_from: date | None = field(default=None, compare=False)


def parse_rule(cell: str) -> Rule:
    """One area_days.csv cell → a Rule. Blank means never. Raises RuleError on anything else."""
    text = (cell or "").replace("\u3000", " ").strip()
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"長すぎます({len(text)}文字)")
    if not text:
        return Rule()
    months: frozenset[int] | None = None
    if ":" in text or "：" in text:
        days_part, _, months_part = text.replace("：", ":").partition(":")
        values = set()
        for token in months_part.split():
            if not token.isdigit() or not 1 <= int(token) <= 12:
                raise RuleError(f"月の指定「{token}」が読めません")
            values.add(int(token))
        if not values:
            raise RuleError("「:」の後に月がありません")
        months = frozenset(values)
        text = days_part
    weekly: set[int] = set()
    nth: set[tuple[int, int]] = set()
    dates: set[date] = set()
    for token in text.split():
        if token in WEEKDAYS:
            weekly.add(WEEKDAYS.index(token))
        elif match := _NTH.match(token):
            nth.add((WEEKDAYS.index(match.group(1)), int(match.group(2))))
        elif match := _DATE.match(token):
            try:
                dates.add(date(int(match.group(1)), int(match.group(2)), int(match.group(3))))
            except ValueError:
                raise RuleError(f"日付「{token}」がありません") from None
        elif token.startswith("*"):
            raise RuleError(f"「{token}」は注意事項(remarks.csv)で置き換えてから読みます")
        else:
            raise RuleError(f"「{token}」が読めません(例: 月 木、水2、火1 火3、20240105)")
    rule = Rule(frozenset(weekly), frozenset(nth), months, frozenset(dates))
    if rule.empty:
        raise RuleError("曜日も日付もありません")
    return rule


def resolve_remarks(cell: str, remarks: Mapping[str, str]) -> str:
    """5374's `*1`: the cell is the text of remarks.csv row 1."""
    text = (cell or "").strip()
    if text.startswith("*") and text[1:].isdigit():
        if text[1:] not in remarks:
            raise RuleError(f"注意事項「{text}」が remarks.csv にありません")
        return remarks[text[1:]]
    return text


def rule_text(rule: Rule) -> str:
    """A rule written back in 5374's grammar (what the console shows and edits)."""
    tokens = [WEEKDAYS[w] for w in sorted(rule.weekly)]
    tokens += [f"{WEEKDAYS[w]}{n}" for w, n in sorted(rule.nth)]
    text = " ".join(tokens)
    if rule.months is not None and tokens:
        text += ":" + " ".join(str(m) for m in sorted(rule.months))
    dates = " ".join(d.strftime("%Y%m%d") for d in sorted(rule.dates))
    return " ".join(filter(None, [text, dates]))


def describe(rule: Rule) -> str:
    """A rule in words for residents: 毎週 月・木 / 第2 水曜日 / 第1・第3・第5 火曜日."""
    parts = []
    if rule.weekly:
        parts.append("毎週 " + "・".join(WEEKDAYS[w] for w in sorted(rule.weekly)) + "曜日")
    by_weekday: dict[int, list[int]] = {}
    for weekday, n in sorted(rule.nth):
        by_weekday.setdefault(weekday, []).append(n)
    for weekday, ns in by_weekday.items():
        parts.append("・".join(f"第{n}" for n in ns) + f" {WEEKDAYS[weekday]}曜日")
    text = "、".join(parts)
    if rule.months is not None and parts:
        text += "(" + "・".join(f"{m}月" for m in sorted(rule.months)) + ")"
    if rule.dates:
        text = "、".join(filter(None, [text, "・".join(f"{d.month}/{d.day}" for d in sorted(rule.dates))]))
    return text


def _is_holiday(day: date) -> bool:
    return jpholiday.is_holiday(day)


def next_working_day(day: date, is_holiday: Callable[[date], bool] = _is_holiday) -> date:
    """The first day after `day` that is neither a holiday nor a Sunday."""
    day += timedelta(days=1)
    while day.weekday() == 6 or is_holiday(day):
        day += timedelta(days=1)
    return day


def collection_days(
    rules: Mapping[str, Rule],
    start: date,
    end: date,
    *,
    closures: Iterable[Closure] = (),
    holiday_policies: Mapping[str, HolidayPolicy] | None = None,
    is_holiday: Callable[[date], bool] = _is_holiday,
) -> list[Collection]:
    """Every collection between `start` and `end` (inclusive), per category, exceptions applied.

    Days moved from before `start` into the range are included (a collection moved from a
    holiday on the 31st to the 1st is a collection on the 1st), so the scan starts a little
    earlier than `start`.
    """
    if end < start:
        return []
    closures = list(closures)
    policies = holiday_policies or {}
    # Moves go forward by at most a few weeks (a week shift repeated over a long closure).
    longest = max((c.end - c.start).days for c in closures) if closures else 0
    lookback = timedelta(days=14 + longest + 7)
    found: set[Collection] = set()
    day = start - lookback
    while day <= end:
        for category, rule in rules.items():
            if not rule.matches(day):
                continue
            moved = _exceptions(day, category, closures, policies, is_holiday)
            if moved is not None and start <= moved <= end:
                found.add(Collection(moved, category, day if moved != day else None))
        day += timedelta(days=1)
    # A moved collection that lands on a regular one of the same category is one collection.
    unique: dict[tuple[date, str], Collection] = {}
    for item in sorted(found, key=lambda c: (c.day, c.category, c.moved_from is not None)):
        unique.setdefault((item.day, item.category), item)
    return sorted(unique.values())


def _exceptions(
    day: date,
    category: str,
    closures: list[Closure],
    policies: Mapping[str, HolidayPolicy],
    is_holiday: Callable[[date], bool],
) -> date | None:
    """Where the collection of `day` takes place after the exceptions, or None if it does not."""
    original = day
    for _ in range(60):  # closures are days long; this bounds a misconfigured one
        closure = next((c for c in closures if c.covers(day)), None)
        if closure is None:
            break
        if closure.handling == ClosureHandling.SKIP:
            return None
        day += timedelta(days=7)
    else:
        return None
    if is_holiday(day):
        policy = policies.get(category, HolidayPolicy.COLLECT)
        if policy == HolidayPolicy.SKIP:
            return None
        if policy == HolidayPolicy.MOVE:
            moved = next_working_day(day, is_holiday)
            if any(c.covers(moved) for c in closures):
                return None
            return moved
    return day if day >= original else None
