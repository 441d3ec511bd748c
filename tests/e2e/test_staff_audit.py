"""In a real browser: sign in with a TOTP code, be refused a view outside the role, open a
resident, and find that view in the audit log as the auditor."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident

pytestmark = pytest.mark.browser

PASSWORD = "Shinkansen-Nozomi-700"
# MADOGUCHI_SCREENSHOTS=docs/screenshots writes the pictures the docs show.
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


def sign_in(page: Page, base: str, username: str, secret: str | None) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if secret is not None:
        page.get_by_label("確認コード").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()


def test_totp_login_refusal_resident_view_and_audit_trail(browser: Browser, live_server, transactional_db):
    SHOTS.mkdir(parents=True, exist_ok=True)
    welfare = Department.objects.create(code="fukushi", name="福祉課")
    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    resident = Resident.objects.create(
        channel=channel, line_user_id="U" + "7" * 32, display_name="高橋 よしこ"
    )
    counselor = staff_create(username="soudan", password=PASSWORD, role=Role.COUNSELOR, department=welfare)
    auditor = staff_create(username="kansa", password=PASSWORD, role=Role.AUDITOR)
    for profile in (counselor, auditor):
        profile.totp_secret = pyotp.random_base32()
        profile.totp_confirmed = True
        profile.save()

    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP").new_page()
    sign_in(page, live_server.url, "soudan", counselor.totp_secret)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # The counselor may not read the audit log: refused, in Japanese.
    response = page.goto(f"{live_server.url}/console/audit/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("この画面を表示する権限がありません")

    # The counselor opens the resident.
    page.get_by_role("link", name="住民").first.click()
    page.get_by_test_id("resident-link").filter(has_text="高橋 よしこ").click()
    expect(page.get_by_role("heading", name="高橋 よしこ")).to_be_visible()
    page.get_by_role("button", name="ログアウト").click()

    # The auditor signs in with their own code and finds that view.
    sign_in(page, live_server.url, "kansa", auditor.totp_secret)
    page.get_by_role("navigation").get_by_role("link", name="監査ログ").click()
    page.get_by_label("操作").fill("residents.resident.viewed")
    page.get_by_role("button", name="絞り込む").click()
    row = page.get_by_test_id("audit-table").locator("tbody tr").first
    expect(row).to_contain_text("soudan")
    expect(row).to_contain_text(f"residents.Resident {resident.pk}")
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    # ...and the refused attempt is there too.
    page.get_by_label("操作").fill("console.access.denied")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.get_by_test_id("audit-table").locator("tbody tr").first).to_contain_text("soudan")
    page.context.close()
