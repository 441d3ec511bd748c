"""A resident on linesim's phone page runs through part of the 台風被災者支援 scenario (real browser)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from madoguchi.scenarios.services import scenario_import
from tests.scenarios.conftest import DATA

pytestmark = pytest.mark.browser

USER = "U" + "d" * 32


def test_a_resident_asks_about_the_typhoon_relief_payment(page: Page, sim, background_worker):
    scenario_import((DATA / "typhoon-support.yaml").read_bytes(), publish=True)
    sim.set_profile(USER, displayName="高橋 真理", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加ありがとうございます", timeout=15_000)

    page.get_by_test_id("composer").fill("台風")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("台風で被害を受けた方へ", timeout=15_000)

    page.get_by_test_id("quick-reply").filter(has_text="見舞金").click()
    expect(bot.last).to_contain_text("被害の程度を選んでください", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="床上浸水").click()
    expect(bot.last).to_contain_text("世帯の人数を数字で送ってください", timeout=15_000)

    # An answer that does not fit: a Japanese error, and the question again.
    page.get_by_test_id("composer").fill("たくさん")
    page.get_by_test_id("send").click()
    expect(bot.nth(-2)).to_contain_text("1 から 20 までの数字で送ってください", timeout=15_000)
    expect(bot.last).to_contain_text("世帯の人数を数字で送ってください")

    page.get_by_test_id("composer").fill("3")
    page.get_by_test_id("send").click()
    expect(bot.filter(has_text="床上浸水の世帯 (3 人) への見舞金は 5 万円です")).to_have_count(
        1, timeout=15_000
    )
    expect(bot.last).to_contain_text("ほかに知りたいことはありますか")
    expect(page.get_by_test_id("quick-reply").filter(has_text="職員と話す")).to_be_visible()
