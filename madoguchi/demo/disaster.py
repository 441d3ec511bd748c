"""みどり市's shelters: 七尾市's 112 real 指定緊急避難場所 (standard dataset, CC BY 4.0, see
madoguchi/disaster/data/nanao/SOURCE.md), moved as one piece into the fictional city's bounds
(MADOGUCHI_CITY_BOUNDS; distances between sites are kept) with 石川県七尾市 in the addresses
replaced by みどり市, each 地区 mapped to a demo district; a few are 開設 and one 満員. Imported once:
statuses staff set survive the next demo start."""

from __future__ import annotations

from pathlib import Path

from django.db.models import F

from madoguchi.disaster.models import Shelter
from madoguchi.disaster.services import shelter_import
from madoguchi.residents.models import District

DATA = Path(__file__).resolve().parent.parent / "disaster" / "data" / "nanao" / "reference_data.csv"
# 七尾市's sites' centre → みどり市's (the phone page's default location is near it).
SHIFT = (35.40 - 37.0632, 139.35 - 136.9404)
NANAO_DISTRICTS = {
    "chuo": ("御祓", "袖ケ江"),
    "kita": ("和倉", "石崎", "能登島"),
    "minami": ("矢田郷", "徳田", "高階", "金ヶ崎"),
    "higashi": ("東湊", "南大呑", "北大呑", "崎山"),
    "nishi": ("田鶴浜", "西岸", "熊木", "中島", "豊川", "笠師保", "釶打"),
    "minato": ("西湊", "相馬"),
}
OPEN = (
    "山王小学校",
    "七尾中学校",
    "県立七尾高等学校",
    "御祓地区コミュニティセンター",
    "七尾市役所(4F)",
    "和倉小学校",
)
FULL = ("県立七尾城北高等学校",)


def demo_shelters() -> None:
    if Shelter.objects.exists():
        return
    shelter_import(DATA.read_bytes(), DATA.name)
    Shelter.objects.update(latitude=F("latitude") + SHIFT[0], longitude=F("longitude") + SHIFT[1])
    for shelter in Shelter.objects.all():
        shelter.address = shelter.address.replace("石川県七尾市", "みどり市", 1)
        shelter.save(update_fields=["address"])
    for code, names in NANAO_DISTRICTS.items():
        district = District.objects.filter(code=code).first()
        for name in names:
            Shelter.objects.filter(community__startswith=name).update(district=district)
    Shelter.objects.filter(name__in=OPEN).update(status=Shelter.Status.OPEN)
    Shelter.objects.filter(name__in=FULL).update(status=Shelter.Status.FULL)
