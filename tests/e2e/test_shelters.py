"""A resident asks for shelters on the phone page, sends a location and gets the nearest open
ones; staff open one more from the phone-sized console page and the resident finds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.disaster.services import shelter_import
from tests.disaster.conftest import NANAO, NANAO_CITY_HALL, open_sites

pytestmark = pytest.mark.browser

USER = "U" + "6" * 32
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


def ask(page: Page, hazard: str) -> None:
    bot = page.get_by_test_id("bot-message")
    page.get_by_test_id("composer").fill("避難所")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("どの災害から避難しますか", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text=hazard).click()
    expect(bot.last).to_contain_text("位置情報を送る", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="位置情報を送る").click()
    page.get_by_test_id("location-lat").fill(str(NANAO_CITY_HALL[0]))
    page.get_by_test_id("location-lng").fill(str(NANAO_CITY_HALL[1]))
    page.get_by_test_id("location-address").fill("七尾市役所の前")
    page.get_by_test_id("location-send").click()


def test_a_resident_finds_the_nearest_open_shelters_for_an_earthquake(
    browser: Browser, page: Page, sim, live_server, background_worker
):
    shelter_import(NANAO.read_bytes(), NANAO.name)
    open_sites("七尾市役所(4F)", "山王小学校", "県立七尾高等学校")
    sim.set_profile(USER, displayName="能登 花子", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加", timeout=15_000)

    ask(page, "地震")
    answer = bot.filter(has_text="開設中の避難所です(近い順)")
    expect(answer).to_contain_text("1. 山王小学校 (約 590 m)", timeout=15_000)
    expect(answer).to_contain_text("2. 県立七尾高等学校")
    expect(answer).not_to_contain_text("七尾市役所")  # a tsunami building: not for an earthquake
    expect(bot.last).to_contain_text("地図で見る")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "shelters-phone.png"), full_page=True)

    # 防災 staff open 七尾中学校 from the console on a phone; the resident asks again and sees it.
    staff_create(username="bosai-ito", password=PASSWORD, role=Role.DEPT_STAFF)
    console = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844}).new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("bosai-ito")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.goto(f"{live_server.url}/console/shelters/?q=七尾中学校")
    card = console.get_by_test_id("shelter").filter(has_text="七尾中学校")
    expect(card.get_by_test_id("shelter-status")).to_have_text("未開設")
    card.get_by_role("button", name="開設", exact=True).click()
    expect(
        console.get_by_test_id("shelter").filter(has_text="七尾中学校").get_by_test_id("shelter-status")
    ).to_have_text("開設")
    console.screenshot(path=str(SHOTS / "shelters-console.png"), full_page=True)
    console.context.close()

    ask(page, "地震")
    expect(bot.filter(has_text="開設中の避難所です(近い順)").last).to_contain_text(
        "七尾中学校", timeout=15_000
    )
