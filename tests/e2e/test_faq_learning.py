"""The learning loop in real browsers: a resident asks what the bot cannot answer on the phone
page, staff see the question grouped in the console and add it as a variant in one click, and
the resident asks again and gets the answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.faq.models import FaqEntry, Question
from madoguchi.faq.services import faq_import

pytestmark = pytest.mark.browser

USER = "U" + "f" * 32
PASSWORD = "correct horse battery"
MIDORI = Path(__file__).parents[2] / "madoguchi" / "faq" / "data" / "midori-faq.csv"
# MADOGUCHI_SCREENSHOTS=docs/screenshots writes the pictures the docs show.
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS", "test-results/screenshots"))


def test_staff_teach_the_bot_a_question_it_could_not_answer(
    browser: Browser, page: Page, sim, live_server, background_worker
):
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    staff_create(
        username="gomi-tanaka",
        password=PASSWORD,
        role=Role.DEPT_STAFF,
        department=Department.objects.create(code="suido", name="上下水道局"),
    )

    # The resident asks twice, in two wordings; the bot cannot answer and offers the menu.
    sim.set_profile(USER, displayName="中村 陽子", language="ja")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    expect(bot.first).to_contain_text("友だち追加ありがとうございます", timeout=15_000)
    # Under the greeting, the offer to register.
    expect(bot).to_have_count(2, timeout=15_000)
    for number, wording in enumerate(["水道止めたい", "水道を止めたいです"], start=3):
        page.get_by_test_id("composer").fill(wording)
        page.get_by_test_id("send").click()
        expect(bot).to_have_count(number, timeout=15_000)
        expect(bot.last).to_contain_text("うまくお答えできませんでした")

    # Staff: one group of two, and one click makes the wording a variant of F105.
    console = browser.new_context(locale="ja-JP", viewport={"width": 1200, "height": 900}).new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("gomi-tanaka")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.get_by_role("link", name="よくある質問").click()
    console.get_by_role("link", name="答えられなかった質問 (2)").click()
    group = console.get_by_test_id("question-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("2 回")
    # Asked once each: the latest wording is the group's title and the one a click adds.
    expect(group.get_by_label("水道を止めたいです")).to_be_checked()
    expect(group.get_by_label("水道止めたい")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "faq-learning.png"), full_page=True)
    group.get_by_role("button", name="F105").click()
    expect(console.get_by_text("「水道を止めたいです」を F105 の言い換えに追加しました。")).to_be_visible()
    expect(console.get_by_text("答えられなかった質問はありません。")).to_be_visible()
    assert FaqEntry.objects.get(external_id="F105").variants == ["水道を止めたいです"]
    assert set(Question.objects.filter(text__contains="水道").values_list("resolution", flat=True)) == {
        Question.Resolution.VARIANT
    }

    # The resident asks again, in the other wording: the bot answers, and asks whether it helped.
    page.get_by_test_id("composer").fill("水道止めたい")
    page.get_by_test_id("send").click()
    expect(bot).to_have_count(5, timeout=15_000)
    expect(bot.last).to_contain_text("上下水道局お客さまセンター")
    expect(bot.last).to_contain_text("解決しましたか?")
    page.get_by_test_id("quick-reply").filter(has_text="解決した").first.click()
    expect(bot.last).to_contain_text("よかったです", timeout=15_000)
    console.context.close()


def test_staff_write_an_easy_japanese_answer_and_a_resident_who_chose_it_gets_it(
    browser: Browser, page: Page, sim, live_server, background_worker
):
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    staff_create(username="shimin-ito", password=PASSWORD, role=Role.DEPT_MANAGER, department=None)
    console = browser.new_context(locale="ja-JP", viewport={"width": 1200, "height": 1400}).new_page()
    console.goto(f"{live_server.url}/console/login/")
    console.get_by_label("ユーザー名").fill("shimin-ito")
    console.get_by_label("パスワード").fill(PASSWORD)
    console.get_by_role("button", name="ログイン").click()
    console.goto(f"{live_server.url}/console/faq/?q=F018")
    console.get_by_role("link", name="住民票の写しをコンビニで取ることはできますか。").click()
    console.get_by_label("回答 (やさしい にほんご)").fill(
        "マイナンバーカードが あれば、コンビニで とれます。"
    )
    console.get_by_label("リンク (1 行に 1 つ: 表示名 https://…、4 つまで)").fill(
        "コンビニ交付 https://www.city.midori.example.jp/konbini"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "faq-edit.png"), full_page=True)
    console.get_by_role("button", name="保存").click()
    expect(console.get_by_text("よくある質問を保存しました。")).to_be_visible()
    console.context.close()

    sim.set_profile(USER, displayName="グエン ミン", language="vi")
    page.goto(f"{sim.url}/phone?user={USER}")
    page.get_by_test_id("follow").click()
    bot = page.get_by_test_id("bot-message")
    # The greeting, then the offer to register.
    expect(bot).to_have_count(2, timeout=15_000)
    expect(bot.last).to_contain_text("登録")
    page.get_by_test_id("quick-reply").filter(has_text="Language").click()
    expect(bot).to_have_count(3, timeout=15_000)
    page.get_by_test_id("quick-reply").filter(has_text="やさしい にほんご").click()
    expect(bot).to_have_count(4, timeout=15_000)
    page.get_by_test_id("composer").fill("住民票 コンビニ")
    page.get_by_test_id("send").click()
    expect(bot.filter(has_text="マイナンバーカードが あれば、コンビニで とれます。")).to_have_count(
        1, timeout=15_000
    )
    expect(page.get_by_role("button", name="コンビニ交付")).to_be_visible()
