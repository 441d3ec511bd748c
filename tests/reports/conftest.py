"""The demo city's report categories and departments, and helpers to play a resident reporting."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from madoguchi.accounts.models import Department
from madoguchi.reports.models import Area, Category, Route
from tests.conftest import Sim

USER = "U" + "5" * 32
# Inside みどり市 (MADOGUCHI_CITY_BOUNDS), near the station; and a point in Osaka.
HERE = (35.4037, 139.3459)
OSAKA = (34.7025, 135.4959)


@pytest.fixture
def categories(db: None) -> dict[str, Category]:
    road = Department.objects.create(code="doro", name="道路維持課")
    parks = Department.objects.create(code="koen", name="公園緑地課")
    north_roads = Department.objects.create(code="doro-kita", name="北部道路事務所")
    made = {
        "road": Category.objects.create(code="road", name="道路", name_en="Roads", department=road, order=1),
        "park": Category.objects.create(code="park", name="公園", name_en="Parks", department=parks, order=2),
        "danger": Category.objects.create(
            code="danger",
            name="危険・緊急",
            order=9,
            urgent_phone="0120-000-110",
            urgent_text="道路の陥没や倒木で危険なときは、すぐにお電話ください (24時間)。",
        ),
    }
    north = Area.objects.create(
        code="kita", name="北地区", south=35.45, west=139.20, north=35.50, east=139.50
    )
    Route.objects.create(category=made["road"], area=north, department=north_roads)
    return made


def _dms(value: float) -> tuple[float, float, float]:
    degrees, rest = divmod(abs(value) * 3600, 3600)
    minutes, seconds = divmod(rest, 60)
    return (float(degrees), float(minutes), round(seconds, 2))


def jpeg(
    size: tuple[int, int] = (640, 480),
    colour: tuple[int, int, int] = (90, 90, 90),
    gps: bool | tuple[float, float] = False,
) -> bytes:
    """A JPEG; with `gps`, the camera's EXIF carries a position (True: HERE, or a (lat, lng))."""
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    if gps:
        lat, lng = HERE if gps is True else gps
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        exif[0x8825] = {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lng)}
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def send_photo(sim: Sim, user: str, content: bytes) -> dict[str, Any]:
    return sim.send(
        user, {"type": "message", "message": {"type": "image"}, "content": base64.b64encode(content).decode()}
    )


def send_location(sim: Sim, user: str, lat: float, lng: float, address: str = "みどり市中央1丁目1-1") -> None:
    sim.send(
        user,
        {
            "type": "message",
            "message": {"type": "location", "latitude": lat, "longitude": lng, "address": address},
        },
    )


def tap(sim: Sim, user: str, label: str) -> None:
    """Tap the quick reply with this label on the bot's last message."""
    last = sim.messages(user)[-1]
    for item in last.get("quickReply", {}).get("items", []):
        action = item["action"]
        if action.get("label") == label:
            if action["type"] == "postback":
                sim.send(user, {"type": "postback", "postback": {"data": action["data"]}})
            else:
                sim.text(user, action["text"])
            return
    raise AssertionError(f"no quick reply {label!r} in {last}")


def last_text(sim: Sim, user: str, back: int = 1) -> str:
    return str(sim.messages(user)[-back].get("text", ""))
