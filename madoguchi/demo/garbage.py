"""みどり市's garbage guide and calendar: Kanazawa's real 5374 data (areas, rules, the two
centres, 1,251 items), its six districts mapped to six Kanazawa areas, and the centres' 年末年始
closure moved to the coming New Year so the demo shows it. Imported once: what staff change
survives the next demo start."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.utils import timezone

from madoguchi.garbage.models import Area, Center, DistrictArea
from madoguchi.garbage.services import import_5374
from madoguchi.residents.models import District

DATA = Path(__file__).resolve().parent.parent / "garbage" / "data" / "kanazawa"
FILES = ("area_days.csv", "center.csv", "description.csv", "remarks.csv", "target.csv")
# みどり市's districts (demo.setup.DEMO_DISTRICTS) → a Kanazawa 5374 area each.
DISTRICT_AREAS = {
    "chuo": "浅野川",
    "kita": "粟崎",
    "minami": "泉野",
    "higashi": "朝日",
    "nishi": "押野",
    "minato": "金石町",
}


def coming_new_year(today: date) -> tuple[date, date]:
    start_year = today.year - 1 if today.month == 1 and today.day <= 3 else today.year
    return date(start_year, 12, 30), date(start_year + 1, 1, 3)


def demo_garbage() -> None:
    if not Area.objects.exists():
        import_5374({name: (DATA / name).read_bytes() for name in FILES}, slug_prefix="kanazawa")
        closed_from, closed_until = coming_new_year(timezone.localdate())
        Center.objects.update(closed_from=closed_from, closed_until=closed_until)
    for code, area_name in DISTRICT_AREAS.items():
        district = District.objects.filter(code=code).first()
        area = Area.objects.filter(name=area_name).first()
        if district is not None and area is not None:
            DistrictArea.objects.get_or_create(district=district, defaults={"area": area})
