"""The demo city's 粗大ごみ catalog and collection days.

The catalog is written for みどり市 (not copied from a city's data): its fees follow the three
classes the demo FAQ states (400, 800 and 1,200 yen a piece, F006). Each district is collected on
one weekday (not on national holidays nor in the garbage centre's 年末年始 closure), with 20
places a day, for the next eight weeks; three phone bookings fill part
of the first day, so the day list and the route export have something to show.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from madoguchi.bulky import calendar
from madoguchi.bulky.models import Booking, CollectionDay, Item
from madoguchi.bulky.services import booking_create
from madoguchi.garbage.selectors import district_closures
from madoguchi.residents.models import District

# (name, reading, English, fee, size note)
DEMO_BULKY_ITEMS = [
    ("いす", "いす", "Chair", 400, ""),
    ("電子レンジ", "でんしれんじ", "Microwave oven", 400, ""),
    ("扇風機", "せんぷうき", "Electric fan", 400, ""),
    ("自転車", "じてんしゃ", "Bicycle", 400, "子ども用も同じ"),
    ("カーペット", "かーぺっと", "Carpet", 400, "6畳まで"),
    ("布団", "ふとん", "Futon", 400, "1枚につき"),
    ("テーブル", "てーぶる", "Table", 800, ""),
    ("たんす", "たんす", "Chest of drawers", 800, "高さ1m以上"),
    ("ソファー", "そふぁー", "Sofa", 800, ""),
    ("ベッド (枠)", "べっど", "Bed frame", 800, "マットレスは別"),
    ("マットレス", "まっとれす", "Mattress", 800, ""),
    ("マッサージチェア", "まっさーじちぇあ", "Massage chair", 1200, ""),
]
# District code → weekday (0 = Monday) of its collection.
DEMO_BULKY_WEEKDAYS = {"chuo": 0, "kita": 1, "minami": 2, "higashi": 3, "nishi": 4, "minato": 5}
DEMO_BULKY_CAPACITY = 20
DEMO_BULKY_WEEKS = 8
# Calls the demo manager took by phone for the first collection day (fictional people).
DEMO_PHONE_BOOKINGS = [
    ("緑川 一郎", "みどり市中央町2-5-8", "045-000-1111", {"いす": 2, "テーブル": 1}),
    ("青木 花", "みどり市中央町1-12-3 中央ハイツ203", "045-000-2222", {"マットレス": 1}),
    ("山田 太郎", "みどり市本町4-1", "090-0000-3333", {"自転車": 1, "扇風機": 1}),
]


def demo_bulky() -> None:
    """Create the catalog and the days that are missing (staff changes are kept)."""
    for order, (name, reading, english, fee, size) in enumerate(DEMO_BULKY_ITEMS):
        Item.objects.get_or_create(
            name=name,
            defaults={
                "reading": reading,
                "names_by_language": {"en": english},
                "fee": fee,
                "size_note": size,
                "sort_order": order,
            },
        )
    today = timezone.localdate()
    districts = {d.code: d for d in District.objects.filter(code__in=DEMO_BULKY_WEEKDAYS)}
    # No collection on national holidays, nor while the district's garbage centre is closed
    # (年末年始: demo_garbage moves the closure to the coming one).
    closures = district_closures(d.pk for d in districts.values())

    def collected(district: District, day: date) -> bool:
        closed = any(first <= day <= last for first, last in closures.get(district.pk, []))
        return not closed and not calendar.is_holiday(day)

    wanted = [
        (districts[code], today + timedelta(days=offset))
        for offset in range(1, DEMO_BULKY_WEEKS * 7 + 1)
        for code, weekday in DEMO_BULKY_WEEKDAYS.items()
        if code in districts
        and (today + timedelta(days=offset)).weekday() == weekday
        and collected(districts[code], today + timedelta(days=offset))
    ]
    CollectionDay.objects.bulk_create(
        [
            CollectionDay(district=district, date=day, capacity=DEMO_BULKY_CAPACITY)
            for district, day in wanted
        ],
        ignore_conflicts=True,
    )
    clerk = get_user_model().objects.filter(username="demo-manager").first()
    first = CollectionDay.objects.filter(date__gt=today + timedelta(days=1)).order_by("date", "pk").first()
    if clerk is None or first is None or Booking.objects.exists():
        return
    items = {item.name: item.pk for item in Item.objects.all()}
    for name, address, phone, pieces in DEMO_PHONE_BOOKINGS:
        booking_create(
            day_id=first.pk,
            items={items[item]: count for item, count in pieces.items()},
            name=name,
            address=address,
            phone=phone,
            actor=clerk,
        )
