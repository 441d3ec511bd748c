"""A resident on linesim's phone page asks 明日のごみは? and gets their district's collection,
asks how to put out a spray can, and opens the sorting guide's LIFF page (real browser).

MADOGUCHI_SCREENSHOTS=docs/screenshots writes the pictures the docs show."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from madoguchi.garbage.models import Area, AreaRule, Category, DistrictArea
from madoguchi.garbage.services import sorting_import
from madoguchi.residents.models import District, Resident
from tests.conftest import LIFF_ID, LOGIN_CHANNEL_ID
from tests.garbage.conftest import DATA, weekday_of

pytestmark = pytest.mark.browser

USER = "U" + "a" * 31 + "9"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))
TIMEOUT = 20_000


def test_a_resident_asks_for_tomorrows_garbage_and_searches_the_guide(
    page: Page, sim, live_server, liff_channel, background_worker
):
    burnable = Category.objects.create(name="燃やすごみ", sort_order=1)
    area = Area.objects.create(name="粟崎", slug="awagasaki")
    AreaRule.objects.create(area=area, category=burnable, rule=weekday_of(1))
    DistrictArea.objects.create(district=District.objects.get(code="kita"), area=area)
    sorting_import((DATA / "kanazawa" / "target.csv").read_bytes(), "target.csv")
    sim.liff_app(LIFF_ID, LOGIN_CHANNEL_ID, f"{live_server.url}/liff/")
    sim.set_profile(USER, displayName="みどり 太郎", language="ja")

    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.last).to_contain_text("登録", timeout=TIMEOUT)

    # Not registered yet: the bot asks for the district instead of guessing.
    page.get_by_test_id("composer").fill("明日のごみは?")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("お住まいの地区を登録すると", timeout=TIMEOUT)

    Resident.objects.filter(line_user_id=USER).update(district=District.objects.get(code="kita"))
    page.get_by_test_id("composer").fill("明日のごみは?")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("粟崎のごみ", timeout=TIMEOUT)
    expect(bot.last).to_contain_text("・燃やすごみ")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "garbage-tomorrow.png"))

    page.get_by_test_id("quick-reply").filter(has_text="前日にお知らせ").click()
    expect(bot.last).to_contain_text("前の日の夕方", timeout=TIMEOUT)

    page.get_by_test_id("composer").fill("スプレー缶の捨て方")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("分別: 資源", timeout=TIMEOUT)
    expect(bot.last).to_contain_text("穴をあける")
    page.screenshot(path=str(SHOTS / "garbage-item.png"))

    # The sorting guide's page: no sign-in needed; results with their category, and credits.
    page.goto(f"{live_server.url}/liff/garbage/?area=awagasaki")
    page.get_by_label("品目の名前(ひらがな・カタカナ・漢字どれでも)").fill("れいぞうこ")
    page.get_by_role("button", name="調べる").click()
    results = page.locator(".garbage-results li")
    expect(results.first).to_contain_text("冷蔵庫")
    expect(page.locator(".garbage-days")).to_contain_text("燃やすごみ")
    expect(page.locator(".credits")).to_contain_text("金沢市オープンデータ")
    page.set_viewport_size({"width": 400, "height": 900})
    page.screenshot(path=str(SHOTS / "liff-garbage.png"), full_page=True)
