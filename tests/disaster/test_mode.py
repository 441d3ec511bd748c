"""Disaster mode, part 2: while it is on, disaster scenarios and FAQ come first in the chat, and
every console page carries the banner. (That switching back restores each resident's own menu
is proved in tests/richmenus/test_disaster.py and tests/e2e/test_disaster_menu.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.accounts.roles import Role
from madoguchi.chatbot.models import Keyword
from madoguchi.core.models import Channel
from madoguchi.faq.models import FaqEntry
from madoguchi.richmenus.models import DisasterMode
from madoguchi.scenarios.services import scenario_import
from tests.conftest import Sim, run_tasks
from tests.console.conftest import signed_in

USER = "U" + "d" * 32

EVERYDAY = """
slug: typhoon-everyday
title: 台風に備える(平常時)
triggers: [台風]
start: hello
steps:
  - id: hello
    kind: end
    text: {ja: 平常時の台風への備えをご案内します。}
"""
DISASTER = """
slug: typhoon-now
title: 台風の被害にあった方へ
triggers: [台風]
disaster: true
start: hello
steps:
  - id: hello
    kind: end
    text: {ja: 台風の被害にあった方へ、いま開いている窓口をご案内します。}
"""


def mode(on: bool) -> None:
    DisasterMode.objects.update_or_create(pk=1, defaults={"is_on": on})


def say(sim: Sim, text: str) -> list[dict[str, Any]]:
    before = len(sim.messages(USER))
    sim.text(USER, text)
    run_tasks()
    return sim.messages(USER)[before:]


@pytest.fixture
def resident(sim: Sim, channel: Channel) -> None:
    sim.send(USER, {"type": "follow"})
    run_tasks()


@pytest.fixture
def flows(transactional_db: None) -> None:
    scenario_import(EVERYDAY.encode(), publish=True)
    scenario_import(DISASTER.encode(), publish=True)
    Keyword.objects.create(phrase="台風", reply_text="台風の情報は市のホームページをご覧ください。")


@pytest.fixture
def faq(transactional_db: None) -> None:
    FaqEntry.objects.create(
        external_id="W001",
        category="上下水道",
        question="水道の水が出ません。",
        variants=["水が出ない", "断水しています"],
        answer="水道局(0000-00-0000)へご連絡ください。",
    )
    FaqEntry.objects.create(
        external_id="D001",
        category="防災",
        question="災害で断水したとき、給水所はどこですか。",
        variants=["災害で水が出ない", "給水車はどこに来ますか"],
        answer="給水所は市のホームページと防災無線でお知らせします。",
    )


def test_disaster_scenarios_go_before_keywords_and_other_scenarios_only_in_disaster_mode(
    sim, resident, flows
):
    assert "市のホームページ" in say(sim, "台風")[0]["text"]  # staff's keyword, as always
    mode(True)
    assert "いま開いている窓口" in say(sim, "台風")[0]["text"]
    mode(False)
    assert "市のホームページ" in say(sim, "台風")[0]["text"]


def test_disaster_faq_answers_first_only_in_disaster_mode(sim, resident, faq):
    assert "水道局" in say(sim, "水が出ない")[0]["text"]
    mode(True)
    assert "給水所" in say(sim, "水が出ない")[0]["text"]
    mode(False)
    assert "水道局" in say(sim, "水が出ない")[0]["text"]


def test_a_disaster_faq_that_does_not_fit_lets_the_turn_go_on(sim, resident, faq):
    mode(True)
    answer = say(sim, "ヘルプ")  # staff's keyword (tests/conftest.py)
    assert answer[0]["text"] == "知りたいことを短い言葉で送ってください。"


def test_the_banner_is_on_every_console_page_while_disaster_mode_is_on(make_staff, transactional_db):
    client = signed_in(make_staff(Role.DELIVERY))
    pages = ["/console/", "/console/safety/", "/console/shelters/", "/console/deliveries/"]
    for page in pages:
        assert 'data-testid="disaster-banner"' not in client.get(page).content.decode(), page
    mode(True)
    for page in pages:
        assert 'data-testid="disaster-banner"' in client.get(page).content.decode(), page
