"""A delivery from start to finish in a real browser: 広報 builds a segment (the count follows the
conditions), composes, previews, submits; a second staff member approves; the worker sends it; the
progress shows it done; the resident in the segment receives it on the phone, the one outside
does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.messaging.models import Delivery
from madoguchi.residents.models import District, Resident
from tests.e2e.conftest import staff_page

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))
NORTH = ["U" + f"{i:032x}" for i in range(1, 3)]
SOUTH = "U" + "5" * 32
BLOCKED = "U" + "6" * 32


def test_compose_approve_and_send_a_segment_delivery(
    browser: Browser, page: Page, sim, live_server, channel, background_worker
):
    kita = District.objects.create(code="kita", name="北地区")
    minami = District.objects.create(code="minami", name="南地区")
    for user_id, district, status in (
        (NORTH[0], kita, Resident.Status.ACTIVE),
        (NORTH[1], kita, Resident.Status.ACTIVE),
        (SOUTH, minami, Resident.Status.ACTIVE),
        (BLOCKED, kita, Resident.Status.BLOCKED),
    ):
        Resident.objects.create(
            channel=channel,
            line_user_id=user_id,
            display_name=f"住民{user_id[-2:]}",
            district=district,
            status=status,
            followed_at=timezone.now(),
        )
    sim.http.put("/_sim/users", json={"userIds": [*NORTH, SOUTH, BLOCKED]}).raise_for_status()
    staff_create(username="kouhou-sato", password=PASSWORD, role=Role.DELIVERY)
    staff_create(username="kouhou-chief", password=PASSWORD, role=Role.DELIVERY)

    # The segment: the count starts at every friend (3: the blocked one never counts), then
    # follows the district chosen.
    author = staff_page(browser, live_server.url, "kouhou-sato")
    author.get_by_role("link", name="セグメント").first.click()
    author.get_by_role("link", name="新しいセグメント").click()
    author.get_by_label("名称").fill("北地区の皆さん")
    count = author.locator("[data-count]")
    expect(count).to_have_text("3")
    rows = author.locator("[data-row]")
    expect(rows.locator("visible=true")).to_have_count(4)
    author.get_by_role("button", name="条件を追加").click()
    expect(rows.locator("visible=true")).to_have_count(5)
    expect(rows.nth(4).get_by_label("項目")).to_be_focused()
    author.get_by_label("項目").first.select_option("district")
    author.locator("[data-row]").first.get_by_label("北地区").check()
    expect(count).to_have_text("2")
    expect(author.locator("[data-count-districts]")).to_contain_text("北地区: 2")
    SHOTS.mkdir(parents=True, exist_ok=True)
    author.screenshot(path=str(SHOTS / "segment-edit.png"), full_page=True)
    author.get_by_role("button", name="保存").click()
    expect(author.get_by_role("cell", name="2 人")).to_be_visible()

    # The composer: a text with the district placeholder, previewed in the phone frame.
    author.get_by_role("link", name="配信", exact=True).click()
    author.get_by_role("link", name="新しい配信").click()
    author.get_by_label("件名（職員用）").fill("北地区 清掃のお知らせ")
    author.get_by_label("配信するセグメント").select_option(label="北地区の皆さん")
    author.get_by_label("メッセージ 1").first.select_option("text")
    body = author.locator("#c-ja-0-text")
    body.fill("あす9時から")
    author.locator("button[data-target='c-ja-0-text'][data-placeholder='{district}']").click()
    body.press("End")
    body.type("の一斉清掃です。")
    author.get_by_role("button", name="プレビュー").click()
    phone = author.get_by_test_id("phone-preview").first
    expect(phone).to_contain_text("あす9時から北地区の一斉清掃です。")
    expect(author.get_by_test_id("estimate")).to_have_text("2 人")
    author.screenshot(path=str(SHOTS / "delivery-compose.png"), full_page=True)
    author.get_by_role("button", name="下書きを保存").click()
    expect(author.get_by_test_id("delivery-status")).to_have_text("下書き")
    author.get_by_role("button", name="承認に回す").click()
    expect(author.get_by_test_id("delivery-status")).to_have_text("承認待ち")
    delivery = Delivery.objects.get()

    # A second staff member approves; the worker sends; the progress bar reaches the end.
    chief = staff_page(browser, live_server.url, "kouhou-chief")
    chief.get_by_role("link", name="配信", exact=True).click()
    chief.get_by_role("link", name="北地区 清掃のお知らせ").click()
    chief.get_by_role("button", name="承認する").click()
    expect(chief.get_by_test_id("delivery-status")).to_have_text("配信完了", timeout=30_000)
    expect(chief.get_by_test_id("progress-text")).to_contain_text("2 / 2")
    expect(chief.locator("progress")).to_have_attribute("value", "100")
    chief.screenshot(path=str(SHOTS / "delivery-done.png"), full_page=True)
    delivery.refresh_from_db()
    assert delivery.approved_by.get_username() == "kouhou-chief"

    # In the segment: received, on the phone page too. Outside it, and blocked: nothing.
    for user_id in NORTH:
        texts = [m.get("text") for m in sim.messages(user_id)]
        assert texts == ["あす9時から北地区の一斉清掃です。"]
    assert sim.messages(SOUTH) == [] and sim.messages(BLOCKED) == []
    page.goto(f"{sim.url}/phone?user={NORTH[0]}")
    expect(page.get_by_test_id("bot-message").last).to_contain_text("北地区の一斉清掃です", timeout=15_000)
    author.context.close()
    chief.context.close()
