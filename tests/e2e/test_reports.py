"""The whole loop in real browsers: a resident reports a broken road on the phone page with a
photo and a location; staff see it on the map (tiles unreachable, markers drawn), change its
status with a message, and the resident receives the update on the phone."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.reports.models import Category, Report
from tests.reports.conftest import jpeg

pytestmark = pytest.mark.browser

USER = "U" + "8" * 32
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


def test_a_resident_reports_a_pothole_and_hears_back(
    browser: Browser, page: Page, sim, live_server, background_worker, tmp_path
):
    road = Department.objects.create(code="doro", name="道路維持課")
    Category.objects.create(code="road", name="道路", department=road, order=1)
    Category.objects.create(code="park", name="公園", order=2)
    staff_create(username="doro-sato", password=PASSWORD, role=Role.DEPT_STAFF, department=road)
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(jpeg((1024, 768), (80, 70, 60), gps=True))

    # The resident, on the phone: 不具合 → 道路 → a photo → 次へ → the map's location → words → 送信する.
    sim.set_profile(USER, displayName="松本 陽子", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加", timeout=15_000)
    page.get_by_test_id("composer").fill("不具合")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("どの種類ですか", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="道路").click()
    expect(bot.last).to_contain_text("写真を送ってください", timeout=15_000)
    page.get_by_test_id("photo-input").set_input_files(str(photo))
    expect(bot.last).to_contain_text("写真を受け取りました (1/3 枚)", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="次へ").click()
    expect(bot.last).to_contain_text("場所を教えてください", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="位置情報を送る").click()
    page.get_by_test_id("location-address").fill("みどり市中央1丁目 市役所前")
    page.get_by_test_id("location-send").click()
    expect(bot.last).to_contain_text("どんな状態か", timeout=15_000)
    page.get_by_test_id("composer").fill("歩道に大きな穴があいています")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("次の内容で通報します", timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="送信する").click()
    expect(bot.last).to_contain_text("受付番号は", timeout=15_000)
    report = Report.objects.get()
    expect(bot.last).to_contain_text(report.number)

    # Staff: the report is on the map (the tiles cannot load here; the marker is drawn anyway).
    console = browser.new_context(locale="ja-JP", viewport={"width": 1200, "height": 900}).new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("doro-sato")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="不具合通報").click()
    expect(console.get_by_test_id("report-link")).to_have_text(report.number)
    console.get_by_role("link", name="地図で見る").click()
    marker = console.locator("path.report-marker")
    expect(marker).to_have_count(1, timeout=15_000)
    expect(console.locator("#report-map")).to_have_attribute("data-loaded", "1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "reports-map.png"), full_page=True)
    marker.click()
    console.locator(".leaflet-popup-content a").click()

    # The report: its photo (served to staff), its place; staff set it 完了 with a message.
    expect(console.get_by_test_id("report-description")).to_have_text("歩道に大きな穴があいています")
    expect(console.locator("img.photo")).to_have_count(1)
    assert console.locator("img.photo").evaluate("img => img.naturalWidth") > 0
    console.get_by_label("新しい状態").select_option("done")
    console.get_by_label("住民へのメッセージ (LINE で届きます)").fill("本日、穴を埋めました。")
    console.get_by_role("button", name="状態を変更して知らせる").click()
    expect(console.get_by_test_id("report-status")).to_have_text("完了")
    # The worker may have sent it already: either is right at this moment.
    change = console.get_by_test_id("timeline").locator("li").first
    expect(change).to_contain_text("完了")
    expect(change).to_contain_text(re.compile("送信中|送信済み"))

    # The resident receives the update on the phone; staff see it was sent.
    expect(bot.last).to_contain_text("本日、穴を埋めました。", timeout=20_000)
    expect(bot.last).to_contain_text("状態: 完了")
    # The page does not refresh itself: reload until the worker has recorded the delivery.
    deadline = time.monotonic() + 20
    while "送信済み" not in console.get_by_test_id("timeline").locator("li").first.inner_text():
        assert time.monotonic() < deadline, "the update was never recorded as sent"
        console.wait_for_timeout(300)
        console.reload()
    expect(console.get_by_test_id("timeline").locator("li").first).to_contain_text("送信済み")
    console.screenshot(path=str(SHOTS / "report-detail.png"), full_page=True)
    console.context.close()
