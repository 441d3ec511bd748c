"""安否確認 in two browsers: staff start one for 北地区 from the console (the confirmation step
first), a resident answers 支援が必要 on linesim's phone page, and staff watch the roll-up by
district update itself and find the resident under 支援が必要な方 and in the inbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.residents.models import District, Resident
from tests.e2e.conftest import staff_page

pytestmark = pytest.mark.browser

USER = "U" + "5" * 32
NEIGHBOUR = "U" + "4" * 32  # 北地区 too, never answers
SOUTH = "U" + "3" * 32  # 南地区: not asked
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


@pytest.fixture(autouse=True)
def counter_open(settings, monkeypatch):
    settings.MADOGUCHI_OFFICE_HOURS = "mon-sun 00:00-24:00"
    monkeypatch.setattr("madoguchi.inbox.hours.jpholiday.is_holiday", lambda day: False)


def test_staff_start_a_safety_confirmation_and_see_who_needs_help(
    browser: Browser, page: Page, sim, live_server, channel, background_worker
):
    sim.http.post("/_sim/reset", json={"users": True}).raise_for_status()
    kita = District.objects.create(code="kita", name="北地区", sort_order=1)
    minami = District.objects.create(code="minami", name="南地区", sort_order=2)
    # The resident follows on the phone; two neighbours are friends already.
    sim.set_profile(USER, displayName="北村 はな", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加", timeout=15_000)
    Resident.objects.filter(line_user_id=USER).update(district=kita)
    for user_id, district in ((NEIGHBOUR, kita), (SOUTH, minami)):
        Resident.objects.create(
            channel=channel,
            line_user_id=user_id,
            display_name=f"住民{user_id[-2:]}",
            district=district,
            status=Resident.Status.ACTIVE,
            followed_at=timezone.now(),
        )
    sim.http.put("/_sim/users", json={"userIds": [USER, NEIGHBOUR, SOUTH]}).raise_for_status()

    # 防災 staff (課の管理者: starts confirmations and handles the inbox) start one for 北地区.
    staff_create(
        username="bosai-kato",
        password=PASSWORD,
        role=Role.DEPT_MANAGER,
        department=Department.objects.create(code="bosai", name="危機管理課"),
    )
    console = staff_page(browser, live_server.url, "bosai-kato")
    console.get_by_role("link", name="安否確認").first.click()
    console.get_by_test_id("safety-new").click()
    console.get_by_label("件名 (住民にも表示されます)").fill("12月7日 地震")
    console.get_by_label("北地区").check()
    console.get_by_role("button", name="確認へ").click()
    preview = console.get_by_test_id("safety-preview")
    expect(preview).to_contain_text("送信先: 2 人")
    expect(preview).to_contain_text("北地区")
    console.get_by_label("この内容で安否確認をすぐに送ることを確認しました").check()
    console.get_by_role("button", name="送信する").click()
    expect(console.get_by_role("heading", name="安否確認: 12月7日 地震")).to_be_visible()
    north = console.get_by_test_id("rollup-row").filter(has_text="北地区")
    expect(north).to_contain_text("2")
    expect(console.get_by_test_id("rollup")).not_to_contain_text("南地区")
    expect(console.get_by_test_id("safety-help")).to_contain_text("いまはいません。")

    # The resident gets the question with three buttons and taps 支援が必要.
    question = bot.filter(has_text="無事").last
    expect(question).to_be_visible(timeout=20_000)
    expect(bot.filter(has_text="【安否確認】12月7日 地震")).to_have_count(1)
    question.get_by_role("button", name="支援が必要").click()
    expect(bot.last).to_contain_text("「支援が必要」と受け付けました", timeout=15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "safety-phone.png"), full_page=True)

    # The roll-up refreshes itself: in 北地区, one needs help and one has not answered (50%).
    expect(north.locator("td").nth(2)).to_have_text("1", timeout=20_000)  # 支援が必要
    expect(north).to_contain_text("50%")
    console.reload()
    helped = console.get_by_test_id("safety-help")
    expect(helped).to_contain_text("北村 はな")
    expect(helped).to_contain_text("北地区")
    console.screenshot(path=str(SHOTS / "safety-rollup.png"), full_page=True)
    helped.get_by_role("link", name="会話を開く").click()
    expect(console.get_by_role("heading", name="北村 はな")).to_be_visible()
    expect(console.get_by_text("機能から (安否確認など)")).to_be_visible()

    # The inbox lists the conversation too, and what the resident writes next reaches it.
    page.get_by_test_id("composer").fill("足をけがして動けません")
    page.get_by_test_id("send").click()
    console.get_by_role("link", name="問い合わせ").first.click()
    expect(console.get_by_role("link", name="北村 はな")).to_be_visible(timeout=20_000)
    console.get_by_role("link", name="北村 はな").click()
    expect(console.get_by_text("足をけがして動けません")).to_be_visible(timeout=20_000)
    console.context.close()
