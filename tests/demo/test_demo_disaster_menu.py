"""The demo's disaster menu offers 避難所を探す: its cell is the shelter search's postback, and a
resident who taps it (through linesim and the real dispatcher) is asked the hazard, sends a
location, and gets the nearest open shelters of the demo city."""

from __future__ import annotations

from typing import Any

from madoguchi.demo.disaster import SHIFT, demo_shelters
from madoguchi.demo.richmenus import demo_menus
from madoguchi.disaster.models import Shelter
from madoguchi.richmenus.cells import cell_action
from madoguchi.richmenus.grids import GRIDS
from tests.conftest import Sim, run_tasks

USER = "U" + "7" * 32


def disaster_menu() -> dict[str, Any]:
    return next(spec for spec in demo_menus() if spec["slug"] == "disaster")


def test_the_disaster_menu_has_a_cell_for_every_grid_area_and_shelters_first():
    menu = disaster_menu()
    assert len(menu["cells"]) == len(GRIDS[menu["grid"]].cells)
    assert [cell["label"] for cell in menu["cells"]] == [
        "避難所を探す",
        "台風の支援",
        "職員に連絡",
        "よくある質問",
    ]
    assert menu["cells"][0] == {"kind": "feature", "label": "避難所を探す", "value": "disaster.shelters"}


def tap(sim: Sim, data: str) -> list[dict[str, Any]]:
    before = len(sim.messages(USER))
    sim.send(USER, {"type": "postback", "postback": {"data": data}})
    run_tasks()
    return sim.messages(USER)[before:]


def test_tapping_it_finds_the_nearest_open_shelters_of_the_demo_city(sim, channel):
    demo_shelters()
    sim.send(USER, {"type": "follow"})
    run_tasks()
    action = cell_action(disaster_menu()["cells"][0])
    [question] = tap(sim, action.data)  # type: ignore[attr-defined]
    assert "どの災害から避難しますか" in question["text"]
    earthquake = next(i["action"] for i in question["quickReply"]["items"] if i["action"]["label"] == "地震")
    [place] = tap(sim, earthquake["data"])
    assert "位置情報を送る" in str(place)
    # From in front of 山王小学校 (moved with the rest into みどり市).
    school = Shelter.objects.get(name="山王小学校")
    assert school.status == Shelter.Status.OPEN and 35 < school.latitude < 36 and abs(SHIFT[0]) > 1
    before = len(sim.messages(USER))
    sim.send(
        USER,
        {
            "type": "message",
            "message": {
                "type": "location",
                "latitude": school.latitude + 0.001,
                "longitude": school.longitude,
                "address": "みどり市の山王小学校の近く",
            },
        },
    )
    run_tasks()
    answer = sim.messages(USER)[before:]
    text = next(m["text"] for m in answer if m["type"] == "text")
    assert "地震 に対応した、開設中の避難所です(近い順)" in text and "1. 山王小学校 (約 110 m)" in text
    assert any(m["type"] == "flex" for m in answer)
