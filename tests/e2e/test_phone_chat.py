"""A resident follows the city on linesim's phone page and talks to the bot (real browser)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from madoguchi.residents.models import Resident

pytestmark = pytest.mark.browser

USER = "U" + "e" * 32


def test_resident_follows_gets_the_greeting_and_chats(page: Page, sim, background_worker):
    sim.set_profile(USER, displayName="佐藤 一郎", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()

    greeting = page.get_by_test_id("bot-message").first
    expect(greeting).to_contain_text("佐藤 一郎", timeout=15_000)
    expect(greeting).to_contain_text("友だち追加ありがとうございます")
    assert Resident.objects.get(line_user_id=USER).display_name == "佐藤 一郎"

    page.get_by_test_id("composer").fill("ヘルプ")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("ヘルプ")
    expect(page.get_by_test_id("bot-message")).to_have_count(2, timeout=15_000)
    expect(page.get_by_test_id("bot-message").last).to_contain_text("知りたいこと")

    # One tap: the quick reply under the answer opens the language choice.
    page.get_by_test_id("quick-reply").filter(has_text="Language").click()
    expect(page.get_by_test_id("bot-message")).to_have_count(3, timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="English").click()
    expect(page.get_by_test_id("bot-message").last).to_contain_text("English", timeout=15_000)
    assert Resident.objects.get(line_user_id=USER).language == "en"
