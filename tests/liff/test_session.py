"""Signing in on LIFF pages: only an ID token LINE (linesim) vouches for makes a session, and the
session names the resident LINE named, whatever the browser says."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client

from madoguchi.core.models import Channel
from madoguchi.liff.session import COOKIE, SALT
from madoguchi.residents.models import Resident
from tests.conftest import LOGIN_CHANNEL_ID, Sim

USER = "U" + "a" * 32
OTHER = "U" + "b" * 32


def client(**meta: str) -> Client:
    return Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True, **meta)


def csrf(browser: Client, path: str = "/liff/register/") -> str:
    """The CSRF token the sign-in page hands out (as the page's script reads it)."""
    response = browser.get(path)
    assert response.status_code == 200
    return str(browser.cookies["csrftoken"].value)


def sign_in(browser: Client, token: str, **extra: Any) -> Any:
    return browser.post(
        "/liff/session/",
        {"id_token": token, "channel": "main", **extra},
        HTTP_X_CSRFTOKEN=csrf(browser),
    )


def test_a_verified_id_token_opens_the_form_for_that_resident(sim: Sim, liff_channel: Channel):
    browser = client()
    answer = sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID))
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    cookie = browser.cookies[COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/liff/" and cookie["samesite"] == "Lax"
    page = browser.get("/liff/register/")
    assert page.status_code == 200
    assert 'name="audience"' in page.content.decode()
    assert Resident.objects.get().line_user_id == USER


def test_the_sign_in_page_loads_linesims_sdk_and_may_be_framed_by_its_phone(sim: Sim, liff_channel: Channel):
    page = client().get("/liff/register/?channel=main")
    body = page.content.decode()
    assert f'src="{sim.url}/liff/sdk.js"' in body
    assert f'data-liff-id="{liff_channel.liff_id}"' in body
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {sim.url}" in policy and f"frame-ancestors {sim.url}" in policy
    assert "X-Frame-Options" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"


def test_against_line_the_pages_load_lines_sdk_and_refuse_frames(settings, liff_channel: Channel):
    settings.LINE_API_HOST = "https://api.line.me"
    page = client().get("/liff/register/")
    assert 'src="https://static.line-scdn.net/liff/edge/2/sdk.js"' in page.content.decode()
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("token_for", "expected"),
    [
        ("forged", 403),
        ("expired", 403),
        ("foreign-audience", 403),
        ("empty", 403),
        ("huge", 403),
        ("not-a-jwt", 403),
        ("two-parts", 403),
    ],
)
def test_tokens_line_does_not_vouch_for_make_no_session(sim: Sim, liff_channel: Channel, token_for, expected):
    token = {
        "forged": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVYWFhYSJ9.forged",
        "expired": sim.id_token(USER, LOGIN_CHANNEL_ID, expiresIn=-10),
        "foreign-audience": sim.id_token(USER, "1999999999"),  # another LINE Login channel's
        "empty": "",
        "huge": "x" * 5000,
        "not-a-jwt": "<script>alert(1)</script>",
        "two-parts": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVYWFhYSJ9",
    }[token_for]
    browser = client()
    answer = sign_in(browser, token)
    assert answer.status_code == expected
    assert "LINE で本人の確認ができませんでした" in answer.json()["error"]
    assert COOKIE not in browser.cookies or not browser.cookies[COOKIE].value
    assert browser.get("/liff/register/").content.decode().count('name="audience"') == 0
    assert not Resident.objects.exists()


def test_a_user_id_sent_by_the_browser_is_never_believed(sim: Sim, liff_channel: Channel):
    Resident.objects.create(channel=liff_channel, line_user_id=OTHER, display_name="別の人")
    browser = client()
    # LINE vouches for USER; the browser claims to be OTHER in every way it can.
    answer = sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID), user_id=OTHER, sub=OTHER)
    assert answer.status_code == 200
    browser.post(
        "/liff/register/?user_id=" + OTHER,
        {"consent": "on", "age_band": "70plus", "user_id": OTHER, "line_user_id": OTHER, "resident": "1"},
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert Resident.objects.get(line_user_id=USER).age_band == "70plus"
    assert Resident.objects.get(line_user_id=OTHER).age_band == ""


def test_a_session_cookie_made_up_or_altered_is_refused(sim: Sim, liff_channel: Channel):
    other = Resident.objects.create(channel=liff_channel, line_user_id=OTHER)
    browser = client()
    sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID))
    value = browser.cookies[COOKIE].value
    # Signed with another key, or edited to name someone else: both are only a sign-in page.
    forged = signing.dumps({"c": liff_channel.pk, "r": other.pk, "u": OTHER}, salt=SALT, key="x" * 50)
    claim = {"c": liff_channel.pk, "r": other.pk, "u": OTHER}
    edited = signing.dumps(claim, salt=SALT).split(":")[0] + ":" + value.split(":", 1)[1]
    for cookie in (forged, edited, value[:-2]):
        browser.cookies[COOKIE] = cookie
        page = browser.get("/liff/register/")
        assert 'id="signin"' in page.content.decode(), cookie


def test_the_session_ends_after_its_time(sim: Sim, liff_channel: Channel, settings):
    browser = client()
    sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID))
    settings.LIFF_SESSION_SECONDS = 60
    with time_machine.travel(time.time() + 61, tick=False):
        assert 'id="signin"' in browser.get("/liff/register/").content.decode()


def test_opening_the_liff_app_again_drops_the_previous_session(sim: Sim, liff_channel: Channel):
    browser = client()
    sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID))
    entry = browser.get("/liff/", {"liff.state": "/register/?channel=main"})
    assert entry.status_code == 302 and entry["Location"] == "/liff/register/?channel=main"
    assert browser.cookies[COOKIE].value == ""
    assert 'id="signin"' in browser.get("/liff/register/").content.decode()


@pytest.mark.parametrize(
    "state",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/../console/",
        "/\\evil.example",
        "/x\nLocation: y",
        "a" * 600,
    ],
)
def test_liff_state_never_leads_away_from_the_liff_pages(liff_channel: Channel, state: str):
    entry = client().get("/liff/", {"liff.state": state})
    assert entry.status_code == 302
    assert entry["Location"] == "/liff/register/"


def test_sign_in_needs_the_csrf_token(sim: Sim, liff_channel: Channel):
    browser = client()
    browser.get("/liff/register/")
    answer = browser.post(
        "/liff/session/", {"id_token": sim.id_token(USER, LOGIN_CHANNEL_ID), "channel": "main"}
    )
    assert answer.status_code == 403
    assert COOKIE not in browser.cookies


def test_line_unreachable_is_said_plainly(sim: Sim, liff_channel: Channel):
    sim.fault(path="/oauth2/v2.1/verify", method="POST", status=500)
    answer = sign_in(client(), sim.id_token(USER, LOGIN_CHANNEL_ID))
    assert answer.status_code == 503
    assert "つながりにくく" in answer.json()["error"]


def test_a_channel_without_liff_has_no_pages(channel: Channel):
    page = client().get("/liff/register/")
    assert page.status_code == 404
    assert "このページは、いまは使えません" in page.content.decode()


def verify_calls(sim: Sim) -> int:
    return int(sim.stats()["endpoints"].get("POST /oauth2/v2.1/verify", {}).get("count", 0))


def test_what_is_not_shaped_like_an_id_token_is_refused_without_asking_line(sim: Sim, liff_channel: Channel):
    for token in ("x" * 300, "a.b", "a..c", "a.b.c.d", "ａ.ｂ.ｃ", "a.b.c\n"):
        assert sign_in(client(), token).status_code == 403
    assert verify_calls(sim) == 0


def test_an_address_that_keeps_failing_is_braked_and_others_are_not(
    sim: Sim, liff_channel: Channel, settings
):
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVYWFhYSJ9.forged"
    for _ in range(20):
        assert sign_in(client(REMOTE_ADDR="203.0.113.9"), forged).status_code == 403
    asked = verify_calls(sim)
    # The 21st try from that address is refused before LINE is asked, even with a good token.
    braked = sign_in(client(REMOTE_ADDR="203.0.113.9"), sim.id_token(USER, LOGIN_CHANNEL_ID))
    assert braked.status_code == 429 and "しばらく待って" in braked.json()["error"]
    assert verify_calls(sim) == asked
    # Another resident, from another address, signs in as usual.
    assert (
        sign_in(client(REMOTE_ADDR="198.51.100.7"), sim.id_token(OTHER, LOGIN_CHANNEL_ID)).status_code == 200
    )
    # Behind our TLS proxy, the address is the one the proxy added last to X-Forwarded-For.
    settings.MADOGUCHI_BEHIND_TLS_PROXY = True
    via_proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9"}
    assert sign_in(client(**via_proxy), sim.id_token(USER, LOGIN_CHANNEL_ID)).status_code == 429
    via_proxy["HTTP_X_FORWARDED_FOR"] = "203.0.113.9, 198.51.100.7"  # the claimed first entry is ignored
    assert sign_in(client(**via_proxy), sim.id_token(USER, LOGIN_CHANNEL_ID)).status_code == 200
