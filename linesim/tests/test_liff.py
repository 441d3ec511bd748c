"""LIFF on linesim: registering apps, ID tokens LINE Login's verify endpoint accepts or refuses,
and the phone page opening a LIFF URL in its web view with the SDK stand-in (real browser)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

USER = "U" + "7" * 32
LOGIN_CHANNEL = "1600000001"
LIFF_ID = "1600000001-abcd1234"


def test_liff_apps_are_registered_and_looked_up(sim: httpx.Client):
    app = sim.post(
        "/_sim/liff/apps", json={"channelId": LOGIN_CHANNEL, "endpointUrl": "https://city.example/liff/"}
    ).json()
    assert app["liffId"].startswith(f"{LOGIN_CHANNEL}-") and app["viewType"] == "full"
    assert sim.get(f"/_sim/liff/apps/{app['liffId']}").json() == app
    assert sim.get("/_sim/liff/apps/nope").status_code == 404
    for bad in (
        {"endpointUrl": "https://city.example/"},
        {"channelId": LOGIN_CHANNEL, "endpointUrl": "javascript:alert(1)"},
        {"channelId": LOGIN_CHANNEL, "endpointUrl": "https://city.example/", "viewType": "huge"},
        {"channelId": LOGIN_CHANNEL, "endpointUrl": "https://city.example/", "liffId": "a/b"},
    ):
        assert sim.post("/_sim/liff/apps", json=bad).status_code == 400, bad
    sim.post("/_sim/reset")
    assert sim.get(f"/_sim/liff/apps/{app['liffId']}").status_code == 200  # kept, as channels are


def verify(sim: httpx.Client, token: str, client_id: str = LOGIN_CHANNEL, **extra: str) -> httpx.Response:
    return sim.post("/oauth2/v2.1/verify", data={"id_token": token, "client_id": client_id, **extra})


def test_verify_answers_as_line_login_does(sim: httpx.Client):
    sim.put(f"/_sim/users/{USER}", json={"displayName": "みどり 花子"})
    token = sim.post(f"/_sim/users/{USER}/id-token", json={"clientId": LOGIN_CHANNEL}).json()["idToken"]
    claims = verify(sim, token).json()
    assert claims["sub"] == USER and claims["aud"] == LOGIN_CHANNEL and claims["name"] == "みどり 花子"
    assert claims["iss"] == "https://access.line.me" and claims["exp"] > claims["iat"]
    expired = sim.post(f"/_sim/users/{USER}/id-token", json={"clientId": LOGIN_CHANNEL, "expiresIn": -1})
    for answer, description in (
        (verify(sim, "forged"), "Invalid IdToken."),
        (verify(sim, expired.json()["idToken"]), "IdToken expired."),
        (verify(sim, token, "1600000002"), "Invalid IdToken Audience."),
        (verify(sim, token, user_id="U" + "8" * 32), "Invalid IdToken Subject Identifier."),
    ):
        assert answer.status_code == 400
        assert answer.json() == {"error": "invalid_request", "error_description": description}
    assert sim.post(f"/_sim/users/{USER}/id-token", json={"clientId": ""}).status_code == 400
    assert (
        sim.post(f"/_sim/users/{USER}/id-token", json={"clientId": "1", "expiresIn": 10**9}).status_code
        == 400
    )


class LiffApp:
    """A LIFF app's endpoint: a page that loads linesim's SDK and shows what LIFF told it."""

    def __init__(self, sim_url: str):
        self.sim_url = sim_url
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = app.page().encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/app/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self) -> str:
        return f"""<!doctype html><meta charset="utf-8"><title>app</title>
<script src="{self.sim_url}/liff/sdk.js"></script>
<p id="where"></p><p id="out">…</p><button id="close" type="button">close</button>
<button id="say" type="button">say</button>
<script>
document.getElementById("where").textContent = location.search;
const state = new URLSearchParams(location.search).get("liff.state") || "";
const liffId = new URLSearchParams(state.split("?")[1] || "").get("as") || "{LIFF_ID}";
liff.init({{liffId}}).then(() => {{
  document.getElementById("out").textContent = JSON.stringify({{
    token: liff.getIDToken(), inClient: liff.isInClient(), loggedIn: liff.isLoggedIn(),
    context: liff.getContext()
  }});
}}).catch((e) => {{ document.getElementById("out").textContent = "error " + e.code; }});
document.getElementById("close").onclick = () => liff.closeWindow();
document.getElementById("say").onclick = () => liff.sendMessages([{{type: "text", text: "フォームから"}}]);
</script>"""


@pytest.fixture
def liff_app(sim_url: str, sim: httpx.Client) -> Iterator[LiffApp]:
    app = LiffApp(sim_url)
    sim.post("/_sim/liff/apps", json={"liffId": LIFF_ID, "channelId": LOGIN_CHANNEL, "endpointUrl": app.url})
    yield app
    app.server.shutdown()


@pytest.fixture
def phone(browser: Browser, sim_url: str, sim: httpx.Client) -> Iterator[Page]:
    sim.post(f"/_sim/users/{USER}/send", json={"type": "follow"})  # a friend receives pushes
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{sim_url}/phone?user={USER}")
    yield page
    context.close()


def push_link(line: httpx.Client, uri: str) -> None:
    message = {
        "type": "text",
        "text": "フォームはこちら",
        "quickReply": {"items": [{"type": "action", "action": {"type": "uri", "label": "開く", "uri": uri}}]},
    }
    assert line.post("/v2/bot/message/push", json={"to": USER, "messages": [message]}).status_code == 200


@pytest.mark.browser
def test_a_liff_url_opens_in_the_web_view_with_an_id_token_of_the_resident(
    phone: Page, sim: httpx.Client, line: httpx.Client, liff_app: LiffApp
):
    push_link(line, f"https://liff.line.me/{LIFF_ID}/form/?x=1")
    phone.get_by_test_id("quick-reply").filter(has_text="開く").click()
    expect(phone.get_by_test_id("liff-view")).to_be_visible()
    frame = phone.frame_locator("[data-testid=liff-frame]")
    # LINE's way: the endpoint URL, with the rest of the LIFF URL in liff.state.
    expect(frame.locator("#where")).to_have_text("?liff.state=%2Fform%2F%3Fx%3D1")
    expect(frame.locator("#out")).to_contain_text("token", timeout=10_000)
    told = json.loads(frame.locator("#out").inner_text())
    assert told["inClient"] and told["loggedIn"]
    assert told["context"] == {
        "type": "utou",
        "userId": USER,
        "liffId": LIFF_ID,
        "viewType": "full",
        "endpointUrl": liff_app.url,
    }
    assert verify(sim, told["token"]).json()["sub"] == USER

    frame.locator("#say").click()  # liff.sendMessages: sent as the resident
    expect(phone.get_by_test_id("user-message").last).to_have_text("フォームから")
    frame.locator("#close").click()  # liff.closeWindow
    expect(phone.get_by_test_id("liff-view")).to_be_hidden()


@pytest.mark.browser
def test_a_page_of_another_app_or_site_gets_no_token(
    phone: Page, sim: httpx.Client, line: httpx.Client, liff_app: LiffApp
):
    push_link(line, f"https://liff.line.me/{LIFF_ID}/?as=1600000001-other")
    phone.get_by_test_id("quick-reply").filter(has_text="開く").click()
    frame = phone.frame_locator("[data-testid=liff-frame]")
    expect(frame.locator("#out")).to_have_text("error INIT_FAILED", timeout=10_000)
    phone.get_by_test_id("liff-close").click()

    # The registered endpoint is on 127.0.0.1; the same page reached as localhost is another site.
    sim.post(
        "/_sim/liff/apps",
        json={"liffId": LIFF_ID, "channelId": LOGIN_CHANNEL, "endpointUrl": liff_app.url},
    )
    phone.evaluate(f"openLiff('https://liff.line.me/{LIFF_ID}/')")
    phone.locator("[data-testid=liff-frame]").evaluate(
        f"frame => {{ frame.src = 'http://localhost:{liff_app.port}/app/'; }}"
    )
    expect(frame.locator("#out")).to_have_text("error TIMEOUT", timeout=15_000)


@pytest.mark.browser
def test_outside_the_phone_the_sdk_is_logged_out(browser: Browser, liff_app: LiffApp):
    page = browser.new_page()
    page.goto(liff_app.url)
    expect(page.locator("#out")).to_contain_text('"loggedIn":false')
    assert '"inClient":false' in page.locator("#out").inner_text()
    page.close()


@pytest.mark.browser
def test_an_unregistered_liff_app_is_said_so(phone: Page, line: httpx.Client):
    push_link(line, "https://liff.line.me/1600000009-nothere/x")
    phone.get_by_test_id("quick-reply").filter(has_text="開く").click()
    expect(phone.get_by_test_id("status")).to_contain_text("登録されていない LIFF アプリです")
    expect(phone.get_by_test_id("liff-view")).to_be_hidden()
