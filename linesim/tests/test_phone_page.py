"""linesim's phone page in a real browser (Debian's chromium, never a downloaded one).

A tiny bot answers each webhook through linesim's reply endpoint, as a real bot would, so the
page is exercised end to end: follow, chat, quick replies, cards, rich menu, location, photo.
"""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from linesim.app import Config, create_app
from linesim.tests.conftest import free_port

pytestmark = pytest.mark.browser

CHANNEL_ID = "2000000042"
SECRET = "phone-secret"
TOKEN = "phone-token"
HOSTILE = "<img src=x onerror=alert(1)>"
TIMEOUT = 10_000


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = (b"\x00" + bytes(rgb) * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def text(value: str, quick: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "text", "text": value}
    if quick:
        message["quickReply"] = {"items": [{"type": "action", "action": action} for action in quick]}
    return message


class ReplyingBot:
    """Answers each webhook 200 at once, then replies through linesim (as a real bot does)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.status = 200
        self.sim_url = ""
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = png(600, 390, (120, 190, 140))  # the Flex hero image
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(bot.status)
                self.send_header("content-length", "0")
                self.end_headers()
                if bot.status == 200:
                    events = json.loads(body)["events"]
                    bot.events.extend(events)
                    threading.Thread(target=bot.answer, args=(events,), daemon=True).start()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.sim_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)

    def answer(self, events: list[dict[str, Any]]) -> None:
        with self.api() as api:
            for event in events:
                if "replyToken" not in event:
                    continue
                messages = self.messages_for(event, api)
                answer = api.post(
                    "/v2/bot/message/reply", json={"replyToken": event["replyToken"], "messages": messages}
                )
                assert answer.status_code == 200, answer.text

    def messages_for(self, event: dict[str, Any], api: httpx.Client) -> list[dict[str, Any]]:
        kind = event["type"]
        if kind == "follow":
            return [
                text(
                    "友だち追加ありがとうございます！\nみどり市の窓口です。",
                    [
                        {"type": "message", "label": "ごみの日", "text": "ごみの日"},
                        {
                            "type": "postback",
                            "label": "相談する",
                            "data": "action=consult",
                            "displayText": "相談したい",
                        },
                        {"type": "location", "label": "位置を送る"},
                    ],
                )
            ]
        if kind == "postback":
            params = event["postback"].get("params")
            suffix = " " + json.dumps(params, ensure_ascii=False, sort_keys=True) if params else ""
            return [text(f"postback: {event['postback']['data']}{suffix}")]
        message = event["message"]
        if message["type"] == "location":
            return [text(f"位置: {message['latitude']}, {message['longitude']} {message.get('address', '')}")]
        if message["type"] == "image":
            content = api.get(f"/v2/bot/message/{message['id']}/content")
            return [text(f"写真を受け取りました ({len(content.content)} バイト)")]
        said = message.get("text", "")
        if said == "ごみの日":
            return [text("燃えるごみは月曜と木曜です。\n詳しくは https://example.com/gomi をご覧ください。")]
        if said == "カード":
            return self.cards()
        return [
            text(
                f"「{said}」を受け取りました", [{"type": "message", "label": "ごみの日", "text": "ごみの日"}]
            )
        ]

    def cards(self) -> list[dict[str, Any]]:
        flex = {
            "type": "flex",
            "altText": "粗大ごみの受付",
            "contents": {
                "type": "bubble",
                "hero": {
                    "type": "image",
                    "url": f"{self.base}/hero.png",
                    "size": "full",
                    "aspectRatio": "20:13",
                    "aspectMode": "cover",
                },
                "body": {
                    "type": "box",
                    "layout": "vertical",
                    "spacing": "md",
                    "contents": [
                        {"type": "text", "text": "粗大ごみ受付", "weight": "bold", "size": "xl"},
                        {
                            "type": "box",
                            "layout": "baseline",
                            "contents": [
                                {"type": "text", "text": "受付", "color": "#888888", "size": "sm", "flex": 1},
                                {"type": "text", "text": "平日 9:00〜17:00", "wrap": True, "flex": 3},
                            ],
                        },
                        {"type": "separator"},
                        {
                            "type": "box",
                            "layout": "horizontal",
                            "contents": [
                                {"type": "text", "text": "料金", "color": "#888888", "size": "sm", "flex": 1},
                                {"type": "text", "text": HOSTILE, "wrap": True, "flex": 3},
                            ],
                        },
                    ],
                },
                "footer": {
                    "type": "box",
                    "layout": "vertical",
                    "spacing": "sm",
                    "contents": [
                        {
                            "type": "button",
                            "style": "primary",
                            "action": {
                                "type": "postback",
                                "label": "申し込む",
                                "data": "action=apply",
                                "displayText": "申し込みます",
                            },
                        },
                        {
                            "type": "button",
                            "style": "link",
                            "action": {"type": "uri", "label": "詳しく", "uri": "https://example.com/sodai"},
                        },
                    ],
                },
            },
        }
        buttons = {
            "type": "template",
            "altText": "収集日の予約",
            "template": {
                "type": "buttons",
                "title": "収集日の予約",
                "text": "ご希望の日を選んでください",
                "actions": [
                    {"type": "datetimepicker", "label": "日付を選ぶ", "data": "action=date", "mode": "date"},
                    {"type": "message", "label": "ごみの日", "text": "ごみの日"},
                ],
            },
        }
        confirm = {
            "type": "template",
            "altText": "通知の確認",
            "template": {
                "type": "confirm",
                "text": "お知らせを受け取りますか？",
                "actions": [
                    {"type": "postback", "label": "はい", "data": "notify=yes", "displayText": "はい"},
                    {"type": "message", "label": "いいえ", "text": "いいえ"},
                ],
            },
        }
        return [flex, buttons, confirm]


@pytest.fixture(scope="module")
def bot() -> Iterator[ReplyingBot]:
    bot = ReplyingBot()
    yield bot
    bot.server.shutdown()


@pytest.fixture(scope="module")
def sim(bot: ReplyingBot) -> Iterator[httpx.Client]:
    port = free_port()
    config = Config(
        port=port, channel_id=CHANNEL_ID, channel_secret=SECRET, access_token=TOKEN, webhook_url=bot.url
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=10)
    for _ in range(200):
        try:
            client.get("/_sim/stats")
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    # The default channel's webhook goes to the replying bot (set through the control API too).
    client.post(
        "/_sim/channels",
        json={"channelId": CHANNEL_ID, "channelSecret": SECRET, "accessToken": TOKEN, "webhookUrl": bot.url},
    ).raise_for_status()
    bot.sim_url = url
    yield client
    client.close()
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def page(browser: Browser, sim: httpx.Client, bot: ReplyingBot) -> Iterator[Page]:
    sim.post("/_sim/reset")
    bot.status = 200
    bot.events.clear()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not alerts, f"the page ran a script from a message: {alerts}"
    assert not errors, errors


def bot_messages(page: Page):
    return page.get_by_test_id("bot-message")


def test_the_page_and_its_assets_are_served(sim: httpx.Client) -> None:
    answer = sim.get("/phone")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert 'data-testid="composer"' in answer.text
    for asset in ("phone.js", "phone.css"):
        assert sim.get(f"/phone/assets/{asset}").status_code == 200


def test_follow_chat_and_quick_replies(page: Page, sim: httpx.Client) -> None:
    user = "U" + "a1" * 16
    page.goto(f"{sim.base_url}/phone?user={user}")
    # The resident's settings fold away when the user comes from the address.
    expect(page.get_by_test_id("user-id")).to_be_hidden()
    page.get_by_test_id("settings-toggle").click()
    expect(page.get_by_test_id("user-id")).to_have_value(user)
    page.get_by_test_id("display-name").fill("みどり 花子")
    page.get_by_test_id("display-name").press("Tab")
    expect(page.get_by_test_id("status")).to_have_text("表示名を変えました", timeout=TIMEOUT)
    expect(page.get_by_test_id("settings-toggle")).to_contain_text("みどり 花子")
    page.get_by_test_id("settings-toggle").click()

    page.get_by_test_id("follow").click()
    expect(bot_messages(page)).to_have_count(1, timeout=TIMEOUT)
    expect(bot_messages(page).first).to_contain_text("友だち追加ありがとうございます")
    with httpx.Client(base_url=str(sim.base_url), headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        assert api.get(f"/v2/bot/profile/{user}").json()["displayName"] == "みどり 花子"
    expect(page.get_by_test_id("quick-reply")).to_have_count(3)

    # Enter sends; the resident's own words show at once, the bot's answer follows.
    page.get_by_test_id("composer").fill("こんにちは")
    page.get_by_test_id("composer").press("Enter")
    expect(page.get_by_test_id("user-message").last).to_have_text("こんにちは")
    expect(page.get_by_test_id("composer")).to_have_value("")
    expect(bot_messages(page)).to_have_count(2, timeout=TIMEOUT)
    expect(bot_messages(page).last).to_contain_text("「こんにちは」を受け取りました")

    # A quick reply acts once and goes away; the answer has none, so none come back.
    page.get_by_test_id("quick-reply").filter(has_text="ごみの日").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("ごみの日")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)
    expect(bot_messages(page)).to_have_count(3, timeout=TIMEOUT)
    expect(bot_messages(page).last).to_contain_text("燃えるごみは月曜と木曜です。")
    link = bot_messages(page).last.get_by_role("link")
    expect(link).to_have_attribute("href", "https://example.com/gomi")

    # Hostile text stays text: no element is made of it and no script runs.
    page.get_by_test_id("composer").fill(HOSTILE)
    page.get_by_test_id("send").click()
    expect(bot_messages(page)).to_have_count(4, timeout=TIMEOUT)
    expect(bot_messages(page).last).to_contain_text(f"「{HOSTILE}」を受け取りました")
    expect(page.get_by_test_id("user-message").last).to_have_text(HOSTILE)
    assert page.locator("#chat img").count() == 0
    page.screenshot(path="/tmp/phone-chat.png")

    # A postback quick reply shows its displayText and sends only the data.
    sim.post(f"/_sim/users/{user}/send", json={"type": "follow"})  # fresh chips from the greeting
    page.get_by_test_id("quick-reply").filter(has_text="相談する").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("相談したい")
    expect(bot_messages(page).last).to_contain_text("postback: action=consult", timeout=TIMEOUT)


def test_cards_rich_menu_location_and_photo(page: Page, sim: httpx.Client, bot: ReplyingBot) -> None:
    user = "U" + "b2" * 16
    with bot.api() as api:
        menu = {
            "size": {"width": 2500, "height": 843},
            "selected": True,
            "name": "main",
            "chatBarText": "メニューを開く",
            "areas": [
                {
                    "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                    "action": {"type": "message", "label": "ごみの日", "text": "ごみの日"},
                },
                {
                    "bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
                    "action": {
                        "type": "postback",
                        "label": "相談",
                        "data": "menu=consult",
                        "displayText": "相談",
                    },
                },
            ],
        }
        menu_id = api.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
        image = menu_image(page)
        api.post(
            f"/v2/bot/richmenu/{menu_id}/content", content=image, headers={"content-type": "image/png"}
        ).raise_for_status()
        api.post(f"/v2/bot/user/all/richmenu/{menu_id}").raise_for_status()

    page.goto(f"{sim.base_url}/phone?user={user}")
    page.get_by_test_id("follow").click()
    expect(bot_messages(page)).to_have_count(1, timeout=TIMEOUT)

    # The rich menu: image, chat bar label, one labelled button per area.
    expect(page.get_by_test_id("richmenu")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("richmenu-toggle")).to_contain_text("メニューを開く")
    page.locator("#richmenu-areas").get_by_role("button", name="ごみの日").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("ごみの日")
    expect(bot_messages(page)).to_have_count(2, timeout=TIMEOUT)
    page.get_by_test_id("richmenu-toggle").click()
    expect(page.locator("#richmenu-body")).to_be_hidden()
    page.get_by_test_id("richmenu-toggle").click()

    # Flex and template cards; a Flex button's postback shows its displayText.
    page.get_by_test_id("composer").fill("カード")
    page.get_by_test_id("send").click()
    expect(bot_messages(page)).to_have_count(5, timeout=TIMEOUT)
    flex = bot_messages(page).nth(2)
    expect(flex).to_have_attribute("aria-label", "粗大ごみの受付")
    expect(flex).to_contain_text("粗大ごみ受付")
    expect(flex).to_contain_text(HOSTILE)  # as text, inside a Flex card too
    assert page.locator("#chat img[src='x']").count() == 0
    page.screenshot(path="/tmp/phone-cards.png")
    flex.get_by_role("button", name="申し込む").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("申し込みます")
    expect(bot_messages(page).last).to_contain_text("postback: action=apply", timeout=TIMEOUT)

    # A uri action opens a new tab (the address is answered locally: this machine has no internet).
    page.context.route("https://example.com/**", lambda route: route.fulfill(body="ok"))
    with page.context.expect_page() as opened:
        flex.get_by_role("button", name="詳しく").click()
    assert opened.value.url == "https://example.com/sodai"
    opened.value.close()

    # Confirm template: a postback button.
    bot_messages(page).nth(4).get_by_role("button", name="はい").click()
    expect(bot_messages(page).last).to_contain_text("postback: notify=yes", timeout=TIMEOUT)

    # A datetimepicker opens a native date input and posts its value as params.
    bot_messages(page).nth(3).get_by_role("button", name="日付を選ぶ").click()
    expect(page.locator("#picker-dialog")).to_be_visible()
    page.get_by_test_id("picker-input").fill("2026-04-01")
    page.get_by_test_id("picker-ok").click()
    expect(bot_messages(page).last).to_contain_text(
        'postback: action=date {"date": "2026-04-01"}', timeout=TIMEOUT
    )

    # A location from the form.
    page.get_by_test_id("attach-location").click()
    page.get_by_test_id("location-address").fill("みどり市役所")
    page.get_by_test_id("location-send").click()
    expect(bot_messages(page).last).to_contain_text("位置: 35.4037, 139.3459 みどり市役所", timeout=TIMEOUT)

    # A photo: the bot fetches the bytes from linesim's content endpoint.
    photo = png(64, 48, (250, 180, 60))
    page.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "gomi.png", "mimeType": "image/png", "buffer": photo}]
    )
    expect(bot_messages(page).last).to_contain_text(
        f"写真を受け取りました ({len(photo)} バイト)", timeout=TIMEOUT
    )
    expect(page.get_by_test_id("user-message").last.locator("img")).to_be_visible()

    page.screenshot(path="/tmp/phone.png")


def test_every_message_type_is_drawn(page: Page, sim: httpx.Client, bot: ReplyingBot) -> None:
    user = "U" + "d4" * 16
    sim.post(f"/_sim/users/{user}/send", json={"type": "follow"}).raise_for_status()
    for _ in range(100):  # the greeting first, so the pushed messages follow it in order
        if sim.get(f"/_sim/users/{user}/messages").json():
            break
        time.sleep(0.05)
    hero = f"{bot.base}/hero.png"
    column = {
        "thumbnailImageUrl": hero,
        "title": "燃えるごみ",
        "text": "月・木",
        "actions": [{"type": "message", "label": "詳しく", "text": "燃えるごみ"}],
    }
    small_bubble = {
        "type": "bubble",
        "size": "micro",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": "資源ごみ", "weight": "bold"},
                {"type": "filler"},
                {
                    "type": "button",
                    "style": "secondary",
                    "height": "sm",
                    "action": {"type": "clipboard", "label": "コピー", "clipboardText": "0120-000-000"},
                },
            ],
        },
    }
    batches = [
        [
            {"type": "sticker", "packageId": "446", "stickerId": "1988"},
            {"type": "image", "originalContentUrl": hero, "previewImageUrl": hero},
            {
                "type": "location",
                "title": "みどり市役所",
                "address": "みどり市中央1-1",
                "latitude": 35.4,
                "longitude": 139.3,
            },
            {
                "type": "imagemap",
                "baseUrl": f"{bot.base}/imagemap",
                "altText": "地図",
                "baseSize": {"width": 1040, "height": 520},
                "actions": [
                    {
                        "type": "message",
                        "text": "北地区",
                        "area": {"x": 0, "y": 0, "width": 520, "height": 520},
                    }
                ],
            },
        ],
        [
            {
                "type": "template",
                "altText": "ごみの種類",
                "template": {"type": "carousel", "columns": [column, column]},
            },
            {
                "type": "template",
                "altText": "写真で選ぶ",
                "template": {
                    "type": "image_carousel",
                    "columns": [
                        {"imageUrl": hero, "action": {"type": "message", "label": "家具", "text": "家具"}},
                        {"imageUrl": hero, "action": {"type": "message", "label": "家電", "text": "家電"}},
                    ],
                },
            },
            {
                "type": "flex",
                "altText": "資源ごみ",
                "contents": {"type": "carousel", "contents": [small_bubble] * 2},
            },
        ],
    ]
    with bot.api() as api:
        for messages in batches:
            api.post("/v2/bot/message/push", json={"to": user, "messages": messages}).raise_for_status()

    page.goto(f"{sim.base_url}/phone?user={user}")
    expect(bot_messages(page)).to_have_count(8, timeout=TIMEOUT)
    expect(bot_messages(page).nth(1)).to_have_text("[スタンプ 446/1988]")
    expect(bot_messages(page).nth(2).locator("img")).to_have_attribute("src", hero)
    expect(bot_messages(page).nth(3)).to_contain_text("みどり市役所")
    expect(bot_messages(page).nth(4)).to_have_attribute("aria-label", "地図")
    expect(bot_messages(page).nth(5).locator(".card")).to_have_count(2)
    expect(bot_messages(page).nth(6)).to_contain_text("家電")
    expect(bot_messages(page).nth(7).locator(".fx-bubble")).to_have_count(2)
    page.screenshot(path="/tmp/phone-types.png")  # the newest message in view
    bot_messages(page).nth(1).scroll_into_view_if_needed()
    page.screenshot(path="/tmp/phone-types-top.png")

    # An imagemap area acts like any other action.
    bot_messages(page).nth(4).get_by_role("button", name="北地区").click()
    expect(page.get_by_test_id("user-message").last).to_have_text("北地区")
    expect(bot_messages(page).last).to_contain_text("「北地区」を受け取りました", timeout=TIMEOUT)


def test_a_failing_bot_is_shown_in_the_status_line(page: Page, sim: httpx.Client, bot: ReplyingBot) -> None:
    page.goto(f"{sim.base_url}/phone?user=U{'c3' * 16}")
    bot.status = 500
    page.get_by_test_id("composer").fill("もしもし")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("status")).to_have_text("ボットの応答: 500", timeout=TIMEOUT)


def menu_image(page: Page) -> bytes:
    """A rich menu image drawn by the browser itself (labels need fonts; chromium has them)."""
    page.set_viewport_size({"width": 1250, "height": 422})
    page.set_content(
        "<body style='margin:0;display:flex;height:422px;font:bold 64px sans-serif'>"
        "<div style='flex:1;background:#2e9e5b;color:#fff;display:grid;place-items:center'>ごみの日</div>"
        "<div style='flex:1;background:#2b6cb0;color:#fff;display:grid;place-items:center'>相談</div>"
        "</body>"
    )
    image = page.screenshot(type="png")
    page.set_viewport_size({"width": 390, "height": 844})
    return image
