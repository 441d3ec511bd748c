"""Staff sign in to the console in Japanese and can switch it to English (real browser)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create

pytestmark = pytest.mark.browser


def test_staff_login_dashboard_and_language_switch(browser: Browser, live_server, transactional_db):
    staff_create(username="tanaka", password="correct horse battery", role=Role.DELIVERY)
    # A browser set to English still gets Japanese until the person chooses English.
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{live_server.url}/console/")
    expect(page.get_by_role("heading", name="職員ログイン")).to_be_visible()

    page.get_by_label("ユーザー名").fill("tanaka")
    page.get_by_label("パスワード").fill("wrong password")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_contain_text("正しくありません")

    page.get_by_label("パスワード").fill("correct horse battery")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    expect(page.get_by_test_id("friends")).to_have_text("0")

    page.get_by_label("表示言語").select_option("en")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.reload()  # the choice sticks
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.context.close()


def test_the_console_works_with_the_keyboard_alone(browser: Browser, live_server, transactional_db):
    staff_create(username="keyboard", password="correct horse battery", role=Role.DELIVERY)
    page = browser.new_context(locale="ja-JP").new_page()
    page.goto(f"{live_server.url}/console/login/")
    expect(page.locator("input[name=username]")).to_be_focused()  # the page puts the focus there
    page.keyboard.type("keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    page.keyboard.press("Tab")  # the first stop is the skip link, for screen-reader and keyboard users
    expect(page.get_by_role("link", name="本文へ移動")).to_be_focused()
    page.context.close()
