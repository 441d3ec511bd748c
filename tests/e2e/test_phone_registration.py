"""A resident on linesim's phone page registers through the LIFF form the welcome offers; the bot
confirms in the chat; staff see the registration on the resident's page (real browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.residents.models import Resident
from tests.conftest import LIFF_ID, LOGIN_CHANNEL_ID

pytestmark = pytest.mark.browser

USER = "U" + "e" * 32
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))
TIMEOUT = 20_000


def test_a_resident_registers_on_the_phone_and_staff_see_it(
    browser: Browser, page: Page, sim, live_server, liff_channel, background_worker
):
    sim.liff_app(LIFF_ID, LOGIN_CHANNEL_ID, f"{live_server.url}/liff/")
    sim.set_profile(USER, displayName="みどり 花子", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.last).to_contain_text("登録すると、あなたに合ったお知らせが届きます", timeout=TIMEOUT)

    # One tap on the welcome card opens the form over the chat, signed in as this resident.
    bot.last.get_by_role("button", name="登録する").click()
    expect(page.get_by_test_id("liff-view")).to_be_visible()
    form = page.frame_locator("[data-testid=liff-frame]")
    expect(form.get_by_role("heading", name="お知らせの登録")).to_be_visible(timeout=TIMEOUT)

    form.get_by_text("市民", exact=True).click()
    form.get_by_text("北地区", exact=True).click()
    form.get_by_text("70歳以上", exact=True).click()
    form.get_by_text("防災", exact=True).click()
    form.get_by_text("ごみ", exact=True).click()
    form.get_by_test_id("child-birthdate").first.fill("2020-04-01")
    form.get_by_role("button", name="お子さまを追加").click()
    expect(form.get_by_test_id("child-birthdate")).to_have_count(2)
    form.get_by_role("button", name="この行を消す").last.click()
    expect(form.get_by_test_id("child-birthdate")).to_have_count(1)

    # Forgetting the consent: a plain Japanese error, and nothing chosen is lost.
    form.get_by_test_id("submit").click()
    expect(form.get_by_test_id("errors")).to_contain_text("利用規約への同意が必要です", timeout=TIMEOUT)
    expect(form.get_by_label("北地区")).to_be_checked()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "liff-register-error.png"))

    form.get_by_text("利用規約に同意します", exact=True).click()
    form.get_by_test_id("submit").click()
    expect(form.get_by_role("heading", name="登録しました")).to_be_visible(timeout=TIMEOUT)
    expect(form.get_by_test_id("summary")).to_contain_text("北地区")
    page.screenshot(path=str(SHOTS / "liff-registered.png"))

    # Back in the chat, the bot's confirmation has arrived.
    form.get_by_role("button", name="LINE に戻る").click()
    expect(page.get_by_test_id("liff-view")).to_be_hidden()
    expect(bot.last).to_contain_text("登録しました", timeout=TIMEOUT)
    expect(bot.last).to_contain_text("防災、ごみ")

    resident = Resident.objects.get(line_user_id=USER)
    assert resident.district.code == "kita" and resident.age_band == "70plus"
    assert [str(child.birthdate) for child in resident.children.all()] == ["2020-04-01"]

    # Staff see the registration and the tag it earned.
    staff_create(
        username="madoguchi-sato",
        password=PASSWORD,
        role=Role.DEPT_STAFF,
        department=Department.objects.create(code="shimin", name="市民課"),
    )
    console = browser.new_context(locale="ja-JP").new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("madoguchi-sato")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="住民", exact=True).click()
    console.get_by_role("link", name="みどり 花子").click()
    registration = console.get_by_test_id("registration")
    for shown in ("市民", "北地区", "70歳以上", "防災、ごみ", "2020-04-01"):
        expect(registration).to_contain_text(shown)
    expect(console.get_by_test_id("tags")).to_contain_text("子育て世帯")
    console.get_by_label("タグを付ける").fill("見守り")
    console.get_by_role("button", name="付ける").click()
    expect(console.get_by_test_id("tags")).to_contain_text("見守り")
    console.set_viewport_size({"width": 1200, "height": 1000})
    console.screenshot(path=str(SHOTS / "resident-registration.png"), full_page=True)
    console.context.close()


def test_the_form_speaks_english_to_an_english_speaking_resident(page: Page, sim, live_server, liff_channel):
    sim.liff_app(LIFF_ID, LOGIN_CHANNEL_ID, f"{live_server.url}/liff/")
    Resident.objects.create(channel=liff_channel, line_user_id=USER, language="en", display_name="Alex")
    page.goto(f"{sim.url}/phone?user={USER}")
    # A LIFF link in a message opens in the phone's web view, as in LINE.
    page.evaluate("url => openLiff(url)", f"https://liff.line.me/{LIFF_ID}/register/?channel=main")
    form = page.frame_locator("[data-testid=liff-frame]")
    expect(form.get_by_role("heading", name="Register for notices")).to_be_visible(timeout=TIMEOUT)
    expect(form.get_by_text("Kita", exact=True)).to_be_visible()
    form.get_by_role("link", name="やさしい にほんご").click()
    expect(form.get_by_role("heading", name="おしらせの とうろく")).to_be_visible(timeout=TIMEOUT)
    page.get_by_test_id("liff-close").click()
    expect(page.get_by_test_id("liff-view")).to_be_hidden()
