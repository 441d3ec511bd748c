"""Dates as residents read them, and the cut-off rule (in the city's time zone, JST)."""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS = [
    pgettext_lazy("weekday", "月"),
    pgettext_lazy("weekday", "火"),
    pgettext_lazy("weekday", "水"),
    pgettext_lazy("weekday", "木"),
    pgettext_lazy("weekday", "金"),
    pgettext_lazy("weekday", "土"),
    pgettext_lazy("weekday", "日"),
]


def today() -> date:
    return timezone.localdate()


def is_holiday(day: date) -> bool:
    """A national holiday (振替休日 and 国民の休日 included): no 粗大ごみ collection."""
    return bool(jpholiday.is_holiday(day))


def cutoff(collection: date) -> date:
    """The last day on which a booking for `collection` may be made, changed or cancelled."""
    return collection - timedelta(days=settings.BULKY_CUTOFF_DAYS)


def is_changeable(collection: date, on: date | None = None) -> bool:
    return (on or today()) <= cutoff(collection)


def day_label(day: date) -> str:
    """「12月10日(木)」 in Japanese, "Thu 10 Dec" in English (the active language)."""
    weekday = str(WEEKDAYS[day.weekday()])
    return _("%(month)s月%(day)s日(%(weekday)s)") % {"month": day.month, "day": day.day, "weekday": weekday}


def yen(amount: int) -> str:
    return _("%(amount)s円") % {"amount": f"{amount:,}"}
