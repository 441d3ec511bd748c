"""A resident books 粗大ごみ collection from the rich menu on linesim's phone page: the cell opens
the booking page in the web view, they choose items and a day, review the fee, book, and the
bot's confirmation (number, day, fee, what to do) arrives in the chat (real browser)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.bulky.models import Booking
from madoguchi.demo.bulky import demo_bulky
from madoguchi.demo.richmenus import demo_richmenus_setup
from madoguchi.residents.models import District, Resident
from madoguchi.residents.services import resident_register
from madoguchi.richmenus.models import PlatformMenu, SyncJob
from tests.conftest import LIFF_ID, LOGIN_CHANNEL_ID, wait_for

pytestmark = pytest.mark.browser

USER = "U" + "8" * 32
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))
TIMEOUT = 20_000


def open_menu(page: Page) -> None:
    """The menu shows closed (LINE's `selected: false`): open it."""
    toggle = page.get_by_test_id("richmenu-toggle")
    if toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    expect(page.locator("#richmenu-body")).to_be_visible()


def test_a_resident_books_from_the_rich_menu_and_gets_the_confirmation(
    browser, page: Page, sim, live_server, liff_channel, background_worker, settings
):
    settings.MADOGUCHI_RICHMENU_POLL_SECONDS = 0
    sim.liff_app(LIFF_ID, LOGIN_CHANNEL_ID, f"{live_server.url}/liff/")
    sim.set_profile(USER, displayName="みどり 花子", language="ja")
    sim.send(USER, {"type": "follow"})
    resident = wait_for(lambda: Resident.objects.filter(line_user_id=USER).first(), what="the resident")
    resident_register(
        resident, terms_version="2026-04", audience="resident", district=District.objects.get(code="kita")
    )
    demo_bulky()
    demo_richmenus_setup()
    wait_for(
        lambda: SyncJob.objects.filter(status="done").exists(), timeout=30, what="the rich menus on LINE"
    )
    home = PlatformMenu.objects.get(menu__slug="resident-home").line_id

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{sim.url}/phone?user={USER}")
    image = page.locator("#richmenu-image")
    expect(image).to_have_attribute("src", re.compile(f"/_sim/richmenus/{home}/image$"), timeout=TIMEOUT)
    more = PlatformMenu.objects.get(menu__slug="resident-more").line_id
    areas = page.locator("#richmenu-areas")
    open_menu(page)
    areas.get_by_role("button", name="手続き・通報 ▶").click()  # the tab
    expect(image).to_have_attribute("src", re.compile(f"/_sim/richmenus/{more}/image$"), timeout=TIMEOUT)
    open_menu(page)
    page.screenshot(path=str(SHOTS / "phone-bulky-richmenu.png"))
    areas.get_by_role("button", name="粗大ごみ").click()

    expect(page.get_by_test_id("liff-view")).to_be_visible()
    form = page.frame_locator("[data-testid=liff-frame]")
    expect(form.get_by_role("heading", name="粗大ごみの収集の申し込み")).to_be_visible(timeout=TIMEOUT)
    expect(form.get_by_label("北地区")).to_be_checked()  # from the registration
    form.get_by_label("いす 数").select_option("2")
    form.get_by_label("ソファー 数").select_option("1")
    form.locator("input[name=day]").first.check()
    form.get_by_label("お名前", exact=True).fill("みどり 花子")
    form.get_by_label("収集にうかがう住所", exact=True).fill("みどり市北町1-2-3")
    form.get_by_label("電話番号", exact=True).fill("045-123-4567")
    form.get_by_role("checkbox", name=re.compile("^次回も使う")).check()
    page.screenshot(path=str(SHOTS / "liff-bulky-form.png"))
    form.get_by_test_id("review").click()

    expect(form.get_by_role("heading", name="申し込み内容の確認")).to_be_visible(timeout=TIMEOUT)
    expect(form.get_by_test_id("fee-total")).to_contain_text("1,600円")
    page.screenshot(path=str(SHOTS / "liff-bulky-review.png"))
    form.get_by_test_id("book").click()

    expect(form.get_by_role("heading", name="申し込みました")).to_be_visible(timeout=TIMEOUT)
    booking = Booking.objects.get()
    expect(form.get_by_test_id("booking-number")).to_have_text(booking.number)
    page.screenshot(path=str(SHOTS / "liff-bulky-booked.png"))

    form.get_by_role("button", name="LINE に戻る").click()
    expect(page.get_by_test_id("liff-view")).to_be_hidden()
    bot = page.get_by_test_id("bot-message")
    expect(bot.last).to_contain_text(booking.number, timeout=TIMEOUT)
    expect(bot.last).to_contain_text("手数料: 1,600円")
    expect(bot.last).to_contain_text("処理券を購入し、収集日の朝8時までに出してください。")
    page.screenshot(path=str(SHOTS / "phone-bulky-confirmation.png"))

    # The garbage department sees it on the day's list, ready for the route export.
    staff_create(
        username="gomi-tanaka",
        password="correct horse battery",
        role=Role.DEPT_STAFF,
        department=Department.objects.create(code="gomi", name="ごみ減量課"),
    )
    console = browser.new_context(locale="ja-JP", viewport={"width": 1200, "height": 800}).new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("gomi-tanaka")
    console.get_by_label("パスワード").fill("correct horse battery")
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="粗大ごみ", exact=True).click()
    console.get_by_label("収集日").fill(booking.day.date.isoformat())
    console.get_by_role("button", name="表示").click()
    day_list = console.get_by_test_id("bulky-bookings")
    for shown in (booking.number, "みどり市北町1-2-3", "いす×2、ソファー×1", "1600円"):
        expect(day_list).to_contain_text(shown)
    console.screenshot(path=str(SHOTS / "console-bulky-day.png"), full_page=True)
    console.context.close()
