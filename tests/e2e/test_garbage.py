"""A resident on linesim's phone page asks 明日のごみは? and gets their district's collection,
asks how to put out a spray can, and opens the sorting guide's LIFF page (real browser).

MADOGUCHI_SCREENSHOTS=docs/screenshots writes the pictures the docs show."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

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


def test_staff_change_a_rule_and_see_the_month_with_the_new_year_closure(browser: Browser, live_server, db):
    from datetime import date

    from madoguchi.accounts.models import Department
    from madoguchi.accounts.roles import Role
    from madoguchi.accounts.services import staff_create
    from madoguchi.garbage.models import Center

    center = Center.objects.create(
        name="東部管理センター", closed_from=date(2025, 12, 30), closed_until=date(2026, 1, 3)
    )
    burnable = Category.objects.create(name="燃やすごみ", sort_order=1)
    resource = Category.objects.create(name="資源", sort_order=2)
    area = Area.objects.create(name="浅野川", slug="asanogawa", center=center)
    AreaRule.objects.create(area=area, category=burnable, rule="月 木")
    AreaRule.objects.create(area=area, category=resource, rule="火1 火3 火5")
    staff_create(
        username="madoguchi-gomi",
        password="correct horse battery",
        role=Role.DEPT_STAFF,
        department=Department.objects.create(code="gomi", name="ごみ減量課"),
    )
    console = browser.new_context(locale="ja-JP").new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("madoguchi-gomi")
    console.get_by_label("パスワード").fill("correct horse battery")
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="ごみ", exact=True).click()
    console.get_by_role("link", name="収集地区とカレンダー").click()
    console.get_by_role("link", name="浅野川").click()
    # A rule that does not parse is refused with the reason, and nothing changes.
    console.get_by_label("資源").fill("毎月第一火曜")
    console.get_by_label("資源").press("Enter")
    expect(console.get_by_role("alert").first).to_contain_text("読めません", timeout=TIMEOUT)
    console.get_by_label("資源").fill("火1 火3")
    console.get_by_label("資源").press("Enter")
    expect(console.get_by_text("第1・第3 火曜日")).to_be_visible(timeout=TIMEOUT)
    console.goto(f"{live_server.url}/console/garbage/areas/{area.pk}/?month=2026-01")
    month = console.locator("table.month")
    # Thursday 1/1 is inside the closure: moved a week, to 1/8 (shown as 1/1's collection).
    expect(month).to_contain_text("1/1分")
    expect(month).to_contain_text("資源")
    console.set_viewport_size({"width": 1200, "height": 1100})
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "console-garbage-area.png"), full_page=True)
    console.context.close()
