"""Staff build a scenario from nothing with the console's forms (a question that takes a number,
a branch on the answer, two messages), publish it, and a resident on linesim's phone page starts
it by its trigger word and gets the branch's answer (real browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.scenarios.models import Scenario
from tests.e2e.conftest import staff_page

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
USER = "U" + "e" * 32
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


def field(page: Page, name: str) -> Locator:
    return page.locator(f"[name='{name}']")


def test_staff_build_a_scenario_with_forms_and_a_resident_runs_it(
    browser: Browser, page: Page, sim, live_server, channel, background_worker
):
    gomi = Department.objects.create(code="gomi", name="ごみ減量課")
    staff_create(username="gomi-kanri", password=PASSWORD, role=Role.DEPT_MANAGER, department=gomi)
    console = staff_page(browser, live_server.url, "gomi-kanri")
    console.get_by_role("link", name="シナリオ", exact=True).first.click()
    console.get_by_role("link", name="新しいシナリオ").click()
    expect(console.get_by_role("link", name="フォームで作る")).to_have_attribute("aria-current", "page")

    # From nothing: the starter's two steps go.
    steps = console.get_by_test_id("step")
    expect(steps).to_have_count(2)
    console.get_by_role("button", name="ステップ 2 を削除").click()
    console.get_by_role("button", name="ステップ 1 を削除").click()
    expect(steps).to_have_count(0)
    console.get_by_label("名称 (職員向け。「最初から」ボタンの文字にもなります)").fill("粗大ごみの数")
    console.get_by_label("識別名 (slug: 半角英小文字・数字・-、50 文字まで)").fill("sodai-count")
    console.get_by_label("開始する言葉 (「、」で区切る。住民がこの言葉を送ると始まります)").fill("粗大ごみ数")
    for kind, count in (("質問", 1), ("分岐", 2), ("メッセージ (文だけ)", 3), ("メッセージ (文だけ)", 4)):
        console.get_by_label("追加するステップ").select_option(label=kind)
        console.get_by_role("button", name="ステップを追加").click()
        expect(steps).to_have_count(count)

    # The question: a number from 1 to 10, kept as `count`.
    question = console.locator("#step-0")
    field(question, "s-0-id").fill("count")
    field(question, "s-0-text-ja").fill("いくつ出しますか。数字で送ってください。")
    field(question, "s-0-var").fill("count")
    field(question, "s-0-capture").select_option(label="数")  # the form comes back with min / max
    expect(field(console, "s-0-min")).to_be_visible()
    field(console, "s-0-min").fill("1")
    field(console, "s-0-max").fill("10")
    field(console, "s-0-error-ja").fill("1 から 10 までの数字で送ってください。")
    field(console, "s-0-next").select_option("branch-2")

    # The messages the branch leads to.
    field(console, "s-2-id").fill("truck")
    field(console, "s-2-text-ja").fill("{count} 個ですね。3 個以上はトラックで伺います。")
    field(console, "s-3-id").fill("self")
    field(console, "s-3-text-ja").fill("{count} 個ですね。収集日の朝に出してください。")

    # The branch: 3 or more goes to the truck; anything else, to the plain answer.
    field(console, "s-1-r-0-0-subject").select_option("var:count")  # comes back again
    expect(field(console, "s-1-r-0-0-subject")).to_have_value("var:count")
    field(console, "s-1-r-0-0-op").select_option("ge")
    field(console, "s-1-r-0-0-value").fill("3")
    field(console, "s-1-r-0-next").select_option("truck")
    field(console, "s-1-else").select_option("self")

    console.get_by_role("button", name="確認する").first.click()
    expect(console.get_by_role("status")).to_contain_text("問題はありません。")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "scenario-form.png"), full_page=True)
    console.get_by_role("button", name="下書きを保存").first.click()
    expect(console.get_by_role("status")).to_contain_text("下書きを保存しました。")
    expect(console.get_by_role("heading", name="粗大ごみの数")).to_be_visible()
    console.get_by_role("button", name="第 1 版 (下書き) を公開").click()
    expect(console.get_by_role("status")).to_contain_text("第 1 版を公開しました。")
    definition = Scenario.objects.get(slug="sodai-count").published.definition
    assert [step["kind"] for step in definition["steps"]] == ["ask", "branch", "message", "message"]

    # A resident on the phone.
    sim.set_profile(USER, displayName="佐藤 一郎", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加ありがとうございます", timeout=15_000)
    page.get_by_test_id("composer").fill("粗大ごみ数")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("いくつ出しますか。", timeout=15_000)
    page.get_by_test_id("composer").fill("20")
    page.get_by_test_id("send").click()
    expect(bot.nth(-2)).to_contain_text("1 から 10 までの数字で送ってください。", timeout=15_000)
    page.get_by_test_id("composer").fill("4")
    page.get_by_test_id("send").click()
    expect(bot.last).to_contain_text("4 個ですね。3 個以上はトラックで伺います。", timeout=15_000)
    console.context.close()
