"""Rich menus against linesim: the demo city's menus, residents of each audience."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from madoguchi.core.models import Channel
from madoguchi.demo.richmenus import demo_richmenus_setup
from madoguchi.residents.models import Resident
from madoguchi.richmenus.models import RichMenu


@pytest.fixture(autouse=True)
def quick_sync(settings: Any) -> None:
    settings.MADOGUCHI_RICHMENU_POLL_SECONDS = 0
    settings.MADOGUCHI_RICHMENU_RATE_WAIT_SECONDS = 0


@pytest.fixture
def demo_menus(channel: Channel, sim: Any) -> dict[str, RichMenu]:
    """The demo menus, saved (not yet on LINE: the publish job waits for the worker)."""
    demo_richmenus_setup()
    return {menu.slug: menu for menu in RichMenu.objects.all()}


def seen(sim: Any, user_id: str) -> str | None:
    """The rich menu id this user sees on linesim (their own link, else the default)."""
    response = sim.http.get(f"/_sim/users/{user_id}/richmenu")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return str(response.json()["richMenuId"])


def seen_names(sim: Any, user_ids: list[str]) -> dict[str, str | None]:
    out = {}
    for user_id in user_ids:
        response = sim.http.get(f"/_sim/users/{user_id}/richmenu")
        out[user_id] = None if response.status_code == 404 else response.json()["name"]
    return out


def make_residents(channel: Channel, sim: Any, count: int, audience: str, start: int = 0) -> list[Resident]:
    residents = [
        Resident(
            channel=channel,
            line_user_id=f"U{audience[:2] or 'xx'}{n:030x}",
            display_name=f"住民{n}",
            audience=audience,
        )
        for n in range(start, start + count)
    ]
    return Resident.objects.bulk_create(residents)


def line_get(sim: Any, path: str) -> httpx.Response:
    return sim.http.get(path, headers={"Authorization": "Bearer linesim-demo-token"})
