"""A small 粗大ごみ world: two districts, a catalog, days with places, residents and a clerk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.bulky.models import CollectionDay, Item
from madoguchi.core.models import Channel
from madoguchi.residents.models import District, Resident


@pytest.fixture
def districts(db: None) -> dict[str, District]:
    return {
        "kita": District.objects.create(code="kita", name="北地区", names_by_language={"en": "Kita"}),
        "minami": District.objects.create(code="minami", name="南地区", sort_order=1),
    }


@pytest.fixture
def items(db: None) -> dict[str, Item]:
    return {
        "chair": Item.objects.create(name="いす", reading="いす", fee=400, names_by_language={"en": "Chair"}),
        "sofa": Item.objects.create(name="ソファー", reading="そふぁー", fee=800, sort_order=1),
        "massage": Item.objects.create(name="マッサージチェア", fee=1200, sort_order=2),
        "old": Item.objects.create(name="ブラウン管テレビ", fee=400, is_active=False, sort_order=3),
    }


def in_days(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


@pytest.fixture
def make_day(districts: dict[str, District]) -> Callable[..., CollectionDay]:
    def make(days_ahead: int = 10, capacity: int = 5, district: str = "kita", **extra: Any) -> CollectionDay:
        return CollectionDay.objects.create(
            district=districts[district], date=in_days(days_ahead), capacity=capacity, **extra
        )

    return make


@pytest.fixture
def plain_channel(db: None) -> Channel:
    return Channel.objects.create(
        slug="bulky-test", name="みどり市", provider_channel_id="1", channel_secret="s", access_token="t"
    )


@pytest.fixture
def make_resident(plain_channel: Channel) -> Callable[..., Resident]:
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> Resident:
        return Resident.objects.create(
            channel=plain_channel, line_user_id=f"U{next(counter):032x}", display_name="住民", **fields
        )

    return make


@pytest.fixture
def clerk(db: None) -> Any:
    gomi = Department.objects.get_or_create(code="gomi", defaults={"name": "ごみ減量課"})[0]
    return staff_create(
        username="gomi-clerk", password="correct horse battery", role=Role.DEPT_STAFF, department=gomi
    ).user


def person(**changes: Any) -> dict[str, Any]:
    data = {"name": "みどり 花子", "address": "みどり市北町1-2-3", "phone": "045-123-4567"}
    data.update(changes)
    return data
