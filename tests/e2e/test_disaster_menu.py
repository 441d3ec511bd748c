"""Staff switch disaster mode on in the console; the resident's phone shows the disaster menu,
and their own menu again when it is switched off (real browser, linesim's phone page)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.demo.richmenus import demo_richmenus_setup
from madoguchi.residents.models import Resident
from madoguchi.residents.services import resident_register
from madoguchi.richmenus.models import PlatformMenu, SyncJob
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

USER = "U" + "e" * 32


def test_disaster_mode_changes_the_residents_menu_and_back(
    browser: Browser, live_server, sim, background_worker, settings
):
    settings.MADOGUCHI_RICHMENU_POLL_SECONDS = 0
    staff_create(username="koho", password="correct horse battery", role=Role.DELIVERY)
    sim.set_profile(USER, displayName="佐藤 花子", language="ja")
    sim.send(USER, {"type": "follow"})
    resident = wait_for(lambda: Resident.objects.filter(line_user_id=USER).first(), what="the resident")
    resident_register(resident, terms_version="2026-04", audience="resident")
    demo_richmenus_setup()
    wait_for(lambda: SyncJob.objects.filter(status="done").exists(), timeout=30, what="the first sync")
    home = PlatformMenu.objects.get(menu__slug="resident-home").line_id
    disaster = PlatformMenu.objects.get(menu__slug="disaster", audience="resident").line_id

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP").new_page()
    phone.goto(f"{sim.url}/phone?user={USER}")
    image = phone.locator("#richmenu-image")
    expect(image).to_have_attribute("src", re.compile(f"/_sim/richmenus/{home}/image$"), timeout=20_000)
    expect(phone.get_by_test_id("richmenu")).to_be_visible()

    console = browser.new_context(locale="ja-JP").new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("koho")
    console.get_by_label("パスワード").fill("correct horse battery")
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="リッチメニュー").first.click()
    console.get_by_role("link", name="災害モードを開始する…").click()
    console.get_by_label("理由 (記録に残ります)").fill("台風 10 号 接近")
    console.get_by_label("全員のメニューを災害時のメニューに切り替えることを確認しました").check()
    console.get_by_role("button", name="災害モードを開始").click()
    expect(console.get_by_test_id("disaster-banner")).to_contain_text("災害モード中")

    expect(image).to_have_attribute("src", re.compile(f"/_sim/richmenus/{disaster}/image$"), timeout=30_000)
    expect(phone.locator("#richmenu-label")).to_have_text("災害情報")

    console.get_by_role("link", name="災害モードを終了する…").click()
    console.get_by_label("災害モードを終了し、全員のメニューを元に戻すことを確認しました").check()
    console.get_by_role("button", name="災害モードを終了").click()
    expect(console.get_by_test_id("disaster-banner")).to_have_count(0)
    expect(image).to_have_attribute("src", re.compile(f"/_sim/richmenus/{home}/image$"), timeout=30_000)
    expect(phone.locator("#richmenu-label")).to_have_text("メニュー")
    phone.context.close()
    console.context.close()
