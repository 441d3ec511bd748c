"""A small city for the garbage tests: two areas, categories with the real 5374 names, a few
real items from Kanazawa's target.csv, and the demo districts mapped to the areas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from madoguchi.garbage.calendar import WEEKDAYS
from madoguchi.garbage.models import Area, AreaRule, Category, DistrictArea
from madoguchi.garbage.services import sorting_import
from madoguchi.residents.models import District

DATA = Path(__file__).resolve().parents[2] / "madoguchi" / "garbage" / "data"


@dataclass
class Town:
    north: Area
    south: Area
    burnable: Category
    resource: Category


def weekday_of(days_ahead: int) -> str:
    return WEEKDAYS[(timezone.localdate() + timedelta(days=days_ahead)).weekday()]


@pytest.fixture
def town(transactional_db: None) -> Town:
    """北 collects 燃やすごみ tomorrow's weekday every week, 資源 today's; 南 nothing tomorrow."""
    burnable = Category.objects.create(
        name="燃やすごみ", description="半透明の袋に入れて出してください。", sort_order=1
    )
    resource = Category.objects.create(name="資源", sort_order=2)
    north = Area.objects.create(name="北ブロック", slug="north")
    south = Area.objects.create(name="南ブロック", slug="south")
    AreaRule.objects.create(area=north, category=burnable, rule=weekday_of(1))
    AreaRule.objects.create(area=north, category=resource, rule=weekday_of(0))
    AreaRule.objects.create(area=south, category=burnable, rule=weekday_of(3))
    for code, area in (("kita", north), ("chuo", north), ("minami", south)):
        district, _ = District.objects.get_or_create(code=code, defaults={"name": code})
        DistrictArea.objects.create(district=district, area=area)
    rows = (DATA / "kanazawa" / "target.csv").read_text(encoding="utf-8").splitlines()
    wanted = [
        r
        for r in rows[1:]
        if "スプレー" in r or r.startswith(("有料粗大ごみ,ソファー", "燃やすごみ,ソファー"))
    ]
    sorting_import(("type,name,notice,furigana\n" + "\n".join(wanted) + "\n").encode(), "target.csv")
    return Town(north, south, burnable, resource)
