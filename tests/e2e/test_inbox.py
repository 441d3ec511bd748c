"""A resident asks for a person on the phone page; staff see it arrive, answer, and the resident
receives the answer on the phone (real browser on both sides, the worker in a thread)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.inbox.models import Conversation

pytestmark = pytest.mark.browser

USER = "U" + "9" * 32
PASSWORD = "correct horse battery"
# MADOGUCHI_SCREENSHOTS=docs/screenshots writes the pictures the docs show.
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


@pytest.fixture(autouse=True)
def counter_open(settings, monkeypatch):
    settings.MADOGUCHI_OFFICE_HOURS = "mon-sun 00:00-24:00"
    monkeypatch.setattr("madoguchi.inbox.hours.jpholiday.is_holiday", lambda day: False)


def test_a_resident_asks_for_a_person_and_staff_answer(
    browser: Browser, page: Page, sim, live_server, background_worker
):
    staff_create(
        username="madoguchi-suzuki",
        password=PASSWORD,
        role=Role.DEPT_STAFF,
        department=Department.objects.create(code="shimin", name="市民課"),
    )
    console = browser.new_context(locale="ja-JP").new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("madoguchi-suzuki")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="問い合わせ").click()
    expect(console.get_by_role("heading", name="問い合わせ")).to_be_visible()
    expect(console.get_by_text("該当する会話はありません")).to_be_visible()

    # The resident, on the phone: follows, then taps 職員と話す under the greeting.
    sim.set_profile(USER, displayName="高橋 さくら", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    expect(page.get_by_test_id("bot-message").first).to_contain_text("友だち追加", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="職員と話す").click()
    expect(page.get_by_test_id("bot-message").last).to_contain_text("職員におつなぎします", timeout=15_000)
    page.get_by_test_id("composer").fill("児童手当の振込日を教えてください")
    page.get_by_test_id("send").click()

    # Staff: the conversation appears in the list without a reload.
    row = console.get_by_role("link", name="高橋 さくら")
    expect(row).to_be_visible(timeout=20_000)
    row.click()
    expect(console.get_by_text("児童手当の振込日を教えてください")).to_be_visible()
    console.get_by_label("住民への返信").fill("市民課の鈴木です。今月は15日に振り込みます。")
    console.get_by_role("button", name="送信").click()
    expect(console.locator(".bubble.out").last).to_contain_text("15日に振り込みます")
    expect(console.locator(".bubble.out").last).to_contain_text("送信済み", timeout=20_000)

    # The resident receives it on the phone; the bot said nothing in between.
    expect(page.get_by_test_id("bot-message").last).to_contain_text("15日に振り込みます", timeout=20_000)
    expect(page.get_by_test_id("bot-message")).to_have_count(4)  # greeting, invitation, hand-off, reply

    # A new message from the resident appears on the staff page by itself.
    page.get_by_test_id("composer").fill("ありがとうございました")
    page.get_by_test_id("send").click()
    expect(console.locator(".bubble.in").last).to_contain_text("ありがとうございました", timeout=20_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.set_viewport_size({"width": 1200, "height": 900})
    console.screenshot(path=str(SHOTS / "inbox-conversation.png"), full_page=True)

    console.get_by_role("button", name="完了にする").click()
    expect(page.get_by_test_id("bot-message").last).to_contain_text("自動応答", timeout=20_000)
    assert Conversation.objects.get().status == Conversation.Status.CLOSED
    console.context.close()
