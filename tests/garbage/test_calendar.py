"""The calendar module on its own: 5374's rule grammar and the city's exceptions, on the tricky
days (5th weekdays, 年末年始, holidays on collection days)."""

from __future__ import annotations

from datetime import date

import pytest

from madoguchi.garbage.calendar import (
    Closure,
    ClosureHandling,
    Collection,
    HolidayPolicy,
    Rule,
    RuleError,
    collection_days,
    describe,
    next_working_day,
    parse_rule,
    resolve_remarks,
    rule_text,
)


def days(rule: str, start: date, end: date, **kwargs: object) -> list[date]:
    return [c.day for c in collection_days({"ごみ": parse_rule(rule)}, start, end, **kwargs)]  # type: ignore[arg-type]


def test_weekly_rule_is_every_such_weekday():
    assert days("月 木", date(2024, 10, 1), date(2024, 10, 10)) == [
        date(2024, 10, 3),
        date(2024, 10, 7),
        date(2024, 10, 10),
    ]


def test_nth_weekday_counts_within_the_month():
    # 2nd Wednesday: Oct 9 2024 (Oct 2 is the 1st), Nov 13 2024 (Nov 6 is the 1st)
    assert days("水2", date(2024, 10, 1), date(2024, 11, 30)) == [date(2024, 10, 9), date(2024, 11, 13)]


def test_fifth_weekday_only_in_months_that_have_one():
    # October 2024 has five Tuesdays (1, 8, 15, 22, 29); November has four (5, 12, 19, 26).
    assert days("火1 火3 火5", date(2024, 10, 1), date(2024, 11, 30)) == [
        date(2024, 10, 1),
        date(2024, 10, 15),
        date(2024, 10, 29),
        date(2024, 11, 5),
        date(2024, 11, 19),
    ]


def test_month_filter_after_colon():
    # 4th Friday, only in even months (5374's "金4:4 6 8 10 12 2")
    got = days("金4:4 6 8 10 12 2", date(2024, 1, 1), date(2024, 12, 31))
    assert [d.month for d in got] == [2, 4, 6, 8, 10, 12]
    assert all(d.weekday() == 4 and 22 <= d.day <= 28 for d in got)


def test_explicit_dates_alone_and_mixed():
    assert days("20140301 20140325", date(2014, 3, 1), date(2014, 3, 31)) == [
        date(2014, 3, 1),
        date(2014, 3, 25),
    ]
    assert days("月 20140301", date(2014, 3, 1), date(2014, 3, 4)) == [date(2014, 3, 1), date(2014, 3, 3)]


def test_year_end_closure_shifts_a_week_as_kanazawa_does():
    # Kanazawa 2022/12/30–2023/01/03: Monday Jan 2 moves to Jan 9, which is a Monday anyway
    # (and 成人の日, collected as usual): one collection, marked as moved.
    closure = Closure(date(2022, 12, 30), date(2023, 1, 3), ClosureHandling.WEEK_SHIFT)
    got = collection_days(
        {"燃やすごみ": parse_rule("月 木")}, date(2022, 12, 26), date(2023, 1, 12), closures=[closure]
    )
    assert [c.day for c in got] == [
        date(2022, 12, 26),
        date(2022, 12, 29),
        date(2023, 1, 5),
        date(2023, 1, 9),
        date(2023, 1, 12),
    ]
    # Tuesday Jan 3 (1st Tuesday) moves to Jan 10, a day with no regular collection.
    got = collection_days(
        {"資源": parse_rule("火1 火3 火5")}, date(2023, 1, 1), date(2023, 1, 31), closures=[closure]
    )
    assert got[0] == Collection(date(2023, 1, 10), "資源") and got[0].moved_from == date(2023, 1, 3)
    assert [c.day for c in got] == [date(2023, 1, 10), date(2023, 1, 17), date(2023, 1, 31)]


def test_year_end_closure_can_skip_instead():
    closure = Closure(date(2022, 12, 30), date(2023, 1, 3), ClosureHandling.SKIP)
    assert days("月 木", date(2022, 12, 29), date(2023, 1, 5), closures=[closure]) == [
        date(2022, 12, 29),
        date(2023, 1, 5),
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (HolidayPolicy.COLLECT, [date(2024, 11, 4), date(2024, 11, 7)]),
        (HolidayPolicy.SKIP, [date(2024, 11, 7)]),
        (HolidayPolicy.MOVE, [date(2024, 11, 5), date(2024, 11, 7)]),
    ],
)
def test_a_holiday_on_a_collection_day_follows_the_category_policy(policy, expected):
    # Monday 2024-11-04 is 振替休日 (文化の日 fell on a Sunday).
    got = collection_days(
        {"燃やすごみ": parse_rule("月 木")},
        date(2024, 11, 4),
        date(2024, 11, 7),
        holiday_policies={"燃やすごみ": policy},
    )
    assert [c.day for c in got] == expected


def test_policies_are_per_category():
    got = collection_days(
        {"燃やすごみ": parse_rule("月"), "資源": parse_rule("月1")},
        date(2024, 11, 4),
        date(2024, 11, 4),
        holiday_policies={"燃やすごみ": HolidayPolicy.COLLECT, "資源": HolidayPolicy.SKIP},
    )
    assert got == [Collection(date(2024, 11, 4), "燃やすごみ")]


def test_a_moved_collection_skips_sundays_and_holidays():
    # Saturday 2024-11-23 is 勤労感謝の日: moved past Sunday the 24th to Monday the 25th.
    assert next_working_day(date(2024, 11, 23)) == date(2024, 11, 25)
    got = collection_days(
        {"びん": parse_rule("土4")},
        date(2024, 11, 20),
        date(2024, 11, 30),
        holiday_policies={"びん": HolidayPolicy.MOVE},
    )
    assert [(c.day, c.moved_from) for c in got] == [(date(2024, 11, 25), date(2024, 11, 23))]


def test_a_collection_moved_into_the_range_is_included():
    # Asked from Tuesday the 5th: Monday the 4th's moved collection belongs to the 5th.
    got = days("月", date(2024, 11, 5), date(2024, 11, 5), holiday_policies={"ごみ": HolidayPolicy.MOVE})
    assert got == [date(2024, 11, 5)]


def test_a_holiday_inside_a_week_shift_uses_the_policy_of_the_new_day():
    closure = Closure(date(2023, 12, 29), date(2024, 1, 3), ClosureHandling.WEEK_SHIFT)
    # Monday Jan 1 2024 → Jan 8, 成人の日; skipped for a category that skips holidays.
    got = days(
        "月1", date(2024, 1, 1), date(2024, 1, 31), closures=[closure], holiday_policies={"ごみ": "skip"}
    )
    assert got == []


def test_a_custom_holiday_calendar_can_be_given():
    got = days(
        "水",
        date(2024, 5, 1),
        date(2024, 5, 8),
        holiday_policies={"ごみ": "skip"},
        is_holiday=lambda d: d.day == 8,
    )
    assert got == [date(2024, 5, 1)]


def test_empty_rule_never_collects_and_reversed_range_is_empty():
    assert parse_rule("").empty and parse_rule("   ") == Rule()
    assert days("月", date(2024, 1, 10), date(2024, 1, 1)) == []


@pytest.mark.parametrize(
    "cell",
    ["金6", "x", "水2:13", "水2:", "20230230", "月曜", "=SUM(A1)", "月" * 600, "*1", ":4"],
)
def test_bad_rules_are_refused_with_a_reason(cell):
    with pytest.raises(RuleError) as error:
        parse_rule(cell)
    assert str(error.value)


def test_full_width_space_and_colon_are_accepted():
    assert parse_rule("月\u3000木") == parse_rule("月 木")
    assert parse_rule("金4：4 6") == parse_rule("金4:4 6")


def test_remarks_are_resolved_by_number():
    assert resolve_remarks("*1", {"1": "月2 月4"}) == "月2 月4"
    assert resolve_remarks("水2", {}) == "水2"
    with pytest.raises(RuleError):
        resolve_remarks("*2", {"1": "月"})


def test_rules_are_written_back_and_described():
    rule = parse_rule("火5 火1 火3 木")
    assert rule_text(rule) == "木 火1 火3 火5"
    assert parse_rule(rule_text(rule)) == rule
    assert describe(rule) == "毎週 木曜日、第1・第3・第5 火曜日"
    assert rule_text(parse_rule("金4:6 4")) == "金4:4 6"
    assert describe(parse_rule("金4:6 4")) == "第4 金曜日(4月・6月)"
