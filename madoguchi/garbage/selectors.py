"""Reads: an area's collections over a range, a resident's area, the month grid staff see."""

from __future__ import annotations

import calendar as pycalendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from madoguchi.garbage.calendar import (
    Closure,
    ClosureHandling,
    Collection,
    HolidayPolicy,
    RuleError,
    collection_days,
    parse_rule,
)
from madoguchi.garbage.models import Area, Category, DistrictArea
from madoguchi.residents.models import District, Resident

MAX_RANGE_DAYS = 400


def area_closures(area: Area) -> list[Closure]:
    center = area.center
    if center is None or center.closed_from is None or center.closed_until is None:
        return []
    return [Closure(center.closed_from, center.closed_until, ClosureHandling(center.closure_handling))]


def district_closures(district_ids: Iterable[int]) -> dict[int, list[tuple[date, date]]]:
    """Each district's closed periods (first, last day): its area's centre's 年末年始 closure, for
    other collections that follow the centre (粗大ごみ days: `bulky.services.days_create`)."""
    links = DistrictArea.objects.filter(
        district_id__in=list(district_ids),
        area__center__closed_from__isnull=False,
        area__center__closed_until__isnull=False,
    ).values_list("district_id", "area__center__closed_from", "area__center__closed_until")
    return {district_id: [(first, last)] for district_id, first, last in links if first and last}


def area_collections(area: Area, start: date, end: date) -> list[Collection]:
    """The area's collections from `start` to `end` (at most MAX_RANGE_DAYS), exceptions applied."""
    end = min(end, start + timedelta(days=MAX_RANGE_DAYS))
    rules = {}
    for area_rule in area.rules.select_related("category"):
        try:
            rules[area_rule.category.name] = parse_rule(area_rule.rule)
        except RuleError:
            continue  # rules are checked when saved; an old bad one must not stop the others
    policies = {c.name: HolidayPolicy(c.holiday_policy) for c in Category.objects.all()}
    return collection_days(rules, start, end, closures=area_closures(area), holiday_policies=policies)


def collections_on(area: Area, day: date) -> list[Collection]:
    return area_collections(area, day, day)


def area_for_district(district: District | None) -> Area | None:
    if district is None:
        return None
    link = DistrictArea.objects.select_related("area__center").filter(district=district).first()
    return link.area if link else None


def area_for_resident(resident: Resident) -> Area | None:
    return area_for_district(resident.district)


def area_by_slug(slug: str) -> Area | None:
    """An area by its own slug, or by the code of a district it serves."""
    if not slug or len(slug) > 50:
        return None
    area = Area.objects.select_related("center").filter(slug=slug).first()
    if area is None:
        link = DistrictArea.objects.select_related("area__center").filter(district__code=slug).first()
        area = link.area if link else None
    return area


@dataclass
class MonthDay:
    day: date | None
    collections: list[Collection]
    holiday: bool = False


def area_month(area: Area, year: int, month: int) -> list[list[MonthDay]]:
    """The month as weeks (Monday first) of days with their collections, for the console."""
    import jpholiday

    first = date(year, month, 1)
    last = date(year, month, pycalendar.monthrange(year, month)[1])
    by_day: dict[date, list[Collection]] = {}
    for collection in area_collections(area, first, last):
        by_day.setdefault(collection.day, []).append(collection)
    weeks = []
    for week in pycalendar.Calendar().monthdatescalendar(year, month):
        weeks.append(
            [
                MonthDay(d, by_day.get(d, []), jpholiday.is_holiday(d))
                if d.month == month
                else MonthDay(None, [])
                for d in week
            ]
        )
    return weeks
