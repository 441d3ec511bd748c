"""linesim answers as LINE does: spec checks, limits, retry keys, faults, recording."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException
from openapi_core import OpenAPI

from linesim.tests.conftest import SECRET, TOKEN

USER = "U" + "c" * 32
TEXT = {"type": "text", "text": "こんにちは"}


def follow(sim, user=USER):
    assert sim.post(f"/_sim/users/{user}/send", json={"type": "follow"}).status_code == 200


def reply_token(bot):
    return bot.events()[-1]["replyToken"]


def test_send_posts_a_signed_envelope_that_matches_the_webhook_spec(sim, bot):
    answer = sim.post(
        f"/_sim/users/{USER}/send", json={"type": "message", "message": {"type": "text", "text": "粗大ごみ"}}
    )
    assert answer.json()["status"] == 200
    body, headers = bot.received[-1]
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-line-signature"] == expected
    envelope = json.loads(body)
    event = envelope["events"][0]
    assert event["webhookEventId"] == answer.json()["webhookEventId"] and len(event["webhookEventId"]) == 26
    assert event["source"] == {"type": "user", "userId": USER}
    assert event["message"]["text"] == "粗大ごみ" and event["message"]["id"] and event["replyToken"]
    spec = yaml.safe_load((Path(__file__).parents[1] / "specs" / "webhook.yml").read_text())
    schema_errors = list(
        OpenAPI.from_dict(spec).iter_request_errors(
            __import__("openapi_core.testing", fromlist=["MockRequest"]).MockRequest(
                "https://example.com", "post", "/callback", data=body, headers={"x-line-signature": expected}
            )
        )
    )
    assert not schema_errors or all(
        type(e).__name__ in {"PathNotFound", "ServerNotFound"} for e in schema_errors
    )


def test_redeliver_posts_the_same_event_again_marked_as_redelivery(sim, bot):
    answer = sim.post(f"/_sim/users/{USER}/send", json={"type": "follow", "redeliver": True}).json()
    assert answer["status"] == 200 and answer["redeliveryStatus"] == 200
    first, second = bot.events()
    assert first["webhookEventId"] == second["webhookEventId"]
    assert (
        first["deliveryContext"]["isRedelivery"] is False
        and second["deliveryContext"]["isRedelivery"] is True
    )


def test_reply_is_recorded_and_the_token_is_single_use(sim, line, bot):
    follow(sim)
    token = reply_token(bot)
    assert (
        line.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [TEXT]}).status_code == 200
    )
    again = line.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [TEXT]})
    assert again.status_code == 400 and again.json()["message"] == "Invalid reply token"
    [message] = sim.get(f"/_sim/users/{USER}/messages").json()
    assert message["text"] == "こんにちは" and message["via"] == "reply" and message["at"]


def test_an_expired_reply_token_is_refused(sim, line, bot):
    sim.post("/_sim/config", json={"replyTokenTtl": 0.2})
    follow(sim)
    time.sleep(0.3)
    response = line.post("/v2/bot/message/reply", json={"replyToken": reply_token(bot), "messages": [TEXT]})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"to": USER, "messages": [TEXT] * 6},
        {"to": USER, "messages": []},
        {"to": USER, "messages": [{"type": "text"}]},
        {"to": USER, "messages": [{"type": "nonsense"}]},
        {"messages": [TEXT]},
    ],
    ids=["six-messages", "none", "text-without-text", "unknown-type", "no-recipient"],
)
def test_requests_the_spec_forbids_get_lines_400_with_details(line, body):
    response = line.post("/v2/bot/message/push", json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body has") and response.json()["details"]


def test_unknown_token_is_401(sim):
    response = sim.post(
        "/v2/bot/message/push",
        json={"to": USER, "messages": [TEXT]},
        headers={"Authorization": "Bearer nope"},
    )
    assert response.status_code == 401 and "Authentication failed" in response.json()["message"]


def test_multicast_allows_500_recipients_not_501(sim, line):
    ok = line.post(
        "/v2/bot/message/multicast", json={"to": [f"U{n:032x}" for n in range(500)], "messages": [TEXT]}
    )
    assert ok.status_code == 200
    too_many = line.post(
        "/v2/bot/message/multicast", json={"to": [f"U{n:032x}" for n in range(501)], "messages": [TEXT]}
    )
    assert too_many.status_code == 400


def test_a_retry_key_accepted_once_answers_409_after(sim, line):
    follow(sim)
    key = str(uuid.uuid4())
    body = {"to": USER, "messages": [TEXT]}
    first = line.post("/v2/bot/message/push", json=body, headers={"X-Line-Retry-Key": key})
    second = line.post("/v2/bot/message/push", json=body, headers={"X-Line-Retry-Key": key})
    assert first.status_code == 200 and second.status_code == 409
    assert second.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert second.json()["sentMessages"] == first.json()["sentMessages"]
    assert len(sim.get(f"/_sim/users/{USER}/messages").json()) == 1


@pytest.mark.parametrize(
    ("path", "key"), [("/v2/bot/message/reply", str(uuid.uuid4())), ("/v2/bot/message/push", "not-a-uuid")]
)
def test_a_retry_key_where_line_refuses_it_is_400(line, path, key):
    body = (
        {"replyToken": "x", "messages": [TEXT]}
        if path.endswith("reply")
        else {"to": USER, "messages": [TEXT]}
    )
    assert line.post(path, json=body, headers={"X-Line-Retry-Key": key}).status_code == 400


def test_faults_answer_as_told_and_after_means_carried_out(sim, line):
    follow(sim)
    sim.post("/_sim/faults", json={"path": "/v2/bot/message/push", "status": 500, "count": 1, "after": True})
    sim.post("/_sim/faults", json={"path": "/v2/bot/message/push", "status": 429, "count": 1})
    body = {"to": USER, "messages": [TEXT]}
    assert line.post("/v2/bot/message/push", json=body).status_code == 500  # carried out, answer lost
    assert line.post("/v2/bot/message/push", json=body).status_code == 429  # refused
    assert line.post("/v2/bot/message/push", json=body).status_code == 200
    assert len(sim.get(f"/_sim/users/{USER}/messages").json()) == 2
    stats = sim.get("/_sim/stats").json()
    assert stats["endpoints"]["POST /v2/bot/message/push"]["statuses"] == {"500": 1, "429": 1, "200": 1}
    assert stats["users"][USER]["received"] == 2


def test_a_slow_fault_delays_the_answer(sim, line):
    follow(sim)
    sim.post(
        "/_sim/faults", json={"path": "/v2/bot/profile/" + USER, "method": "GET", "count": 1, "delay": 0.5}
    )
    started = time.monotonic()
    assert line.get(f"/v2/bot/profile/{USER}").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_rate_limit_answers_429_when_exceeded(sim, line):
    messages = {"messages": [TEXT]}
    statuses = [line.post("/v2/bot/message/broadcast", json=messages).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    sim.post("/_sim/config", json={"rateLimits": False})
    assert line.post("/v2/bot/message/broadcast", json=messages).status_code == 200


def test_monthly_quota_is_enforced(sim, line):
    follow(sim)
    sim.post("/_sim/config", json={"quota": 1})
    assert line.post("/v2/bot/message/push", json={"to": USER, "messages": [TEXT]}).status_code == 200
    over = line.post("/v2/bot/message/push", json={"to": USER, "messages": [TEXT]})
    assert over.status_code == 429 and "monthly limit" in over.json()["message"]
    assert line.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 1}


def test_profile_is_404_for_non_friends_and_follows_the_put_profile(sim, line):
    user = "U" + uuid.uuid4().hex
    assert line.get(f"/v2/bot/profile/{user}").status_code == 404
    sim.put(f"/_sim/users/{user}", json={"displayName": "山田 花子", "language": "en"})
    follow(sim, user)
    assert line.get(f"/v2/bot/profile/{user}").json() == {
        "userId": user,
        "displayName": "山田 花子",
        "language": "en",
    }
    sim.post(f"/_sim/users/{user}/send", json={"type": "unfollow"})
    assert line.get(f"/v2/bot/profile/{user}").status_code == 404


def test_an_image_a_user_sent_is_served_as_content(sim, line, bot):
    photo = b"\xff\xd8\xff\xe0 a jpeg"
    sim.post(
        f"/_sim/users/{USER}/send",
        json={"type": "message", "message": {"type": "image"}, "content": base64.b64encode(photo).decode()},
    )
    message_id = bot.events()[-1]["message"]["id"]
    assert line.get(f"/v2/bot/message/{message_id}/content").content == photo


def test_the_official_sdk_talks_to_linesim(sim, sim_url):
    follow(sim)
    with ApiClient(Configuration(host=sim_url, access_token=TOKEN)) as client:
        api = MessagingApi(client)
        response = api.push_message_with_http_info(
            PushMessageRequest(to=USER, messages=[TextMessage(text="SDK から")]),
            x_line_retry_key=str(uuid.uuid4()),
        )
        assert response.status_code == 200 and response.data.sent_messages
        assert api.get_profile(USER).user_id == USER
        with pytest.raises(ApiException) as refused:
            api.reply_message(
                ReplyMessageRequest(reply_token="never-issued", messages=[TextMessage(text="x")])
            )
        assert refused.value.status == 400


def test_rich_menu_upload_link_and_what_the_user_sees(sim, line):
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "住民向け",
        "chatBarText": "メニュー",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "message", "text": "ごみ"},
            }
        ],
    }
    menu_id = line.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
    png = _png(2500, 843)
    assert (
        line.post(
            f"/v2/bot/richmenu/{menu_id}/content", content=png, headers={"content-type": "image/png"}
        ).status_code
        == 200
    )
    assert sim.get(f"/_sim/users/{USER}/richmenu").status_code == 404
    assert line.post(f"/v2/bot/user/all/richmenu/{menu_id}").status_code == 200
    seen = sim.get(f"/_sim/users/{USER}/richmenu").json()
    assert seen["richMenuId"] == menu_id and seen["chatBarText"] == "メニュー"
    assert sim.get(seen["imageUrl"]).content == png


def _png(width: int, height: int, padding: int = 0) -> bytes:
    """A real (blank) PNG, built by hand: linesim's tests need no imaging library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + (chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b"")
        + chunk(b"IEND", b"")
    )


MENU = {
    "size": {"width": 2500, "height": 843},
    "selected": False,
    "name": "m",
    "chatBarText": "menu",
    "areas": [
        {"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843}, "action": {"type": "message", "text": "a"}}
    ],
}


@pytest.mark.parametrize(
    ("image", "media_type", "problem"),
    [
        (_png(2500, 843, padding=1_000_001), "image/png", "less than 1MB"),
        (_png(700, 300), "image/png", "size is invalid"),
        (_png(1000, 1000), "image/png", "size is invalid"),
        (b"GIF89a" + b"\x00" * 100, "image/png", "not a valid PNG"),
        (_png(2500, 843), "image/jpeg", "not a valid JPEG"),
        (_png(2500, 843), "image/gif", "PNG or JPEG"),
    ],
)
def test_rich_menu_images_that_line_refuses(sim, line, image, media_type, problem):
    menu_id = line.post("/v2/bot/richmenu", json=MENU).json()["richMenuId"]
    refused = line.post(
        f"/v2/bot/richmenu/{menu_id}/content", content=image, headers={"content-type": media_type}
    )
    assert refused.status_code == 400 and problem in refused.json()["message"]


def test_a_richmenuswitch_tap_links_the_user_to_the_alias_menu(sim, line):
    follow(sim)
    first = line.post("/v2/bot/richmenu", json=MENU).json()["richMenuId"]
    second = line.post("/v2/bot/richmenu", json=MENU).json()["richMenuId"]
    line.post("/v2/bot/richmenu/alias", json={"richMenuAliasId": "tab-2", "richMenuId": second})
    line.post(f"/v2/bot/user/all/richmenu/{first}")
    assert sim.get(f"/_sim/users/{USER}/richmenu").json()["richMenuId"] == first
    tap = {
        "type": "postback",
        "postback": {"data": "a=tab", "params": {"newRichMenuAliasId": "tab-2", "status": "SUCCESS"}},
    }
    assert sim.post(f"/_sim/users/{USER}/send", json=tap).status_code == 200
    assert sim.get(f"/_sim/users/{USER}/richmenu").json()["richMenuId"] == second
    # Deleting the menu takes it away from the user (the default shows again).
    assert line.delete(f"/v2/bot/richmenu/{second}").status_code == 200
    assert sim.get(f"/_sim/users/{USER}/richmenu").json()["richMenuId"] == first


def test_id_token_from_the_control_api_verifies(sim):
    token = sim.post(f"/_sim/users/{USER}/id-token", json={"clientId": "1234", "nonce": "n1"}).json()[
        "idToken"
    ]
    claims = sim.post("/oauth2/v2.1/verify", data={"id_token": token, "client_id": "1234"}).json()
    assert claims["sub"] == USER and claims["aud"] == "1234" and claims["nonce"] == "n1"
    assert sim.post("/oauth2/v2.1/verify", data={"id_token": token, "client_id": "9999"}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"/_sim/users/{USER}/send", b"not json"),
        ("POST", f"/_sim/users/{USER}/send", b"[]"),
        ("POST", f"/_sim/users/{USER}/send", b"{}"),
        ("POST", f"/_sim/users/{USER}/send", b'{"type": "message", "message": {"type": "text"}}'),
        (
            "POST",
            f"/_sim/users/{USER}/send",
            b'{"type": "message", "message": {"type": "image"}, "content": "%%%"}',
        ),
        ("POST", "/_sim/users/bad%20id!/send", b'{"type": "follow"}'),
        ("POST", "/_sim/faults", b'{"path": "x", "status": 200}'),
        ("POST", "/_sim/faults", b'{"path": "/v2/bot/message/push", "delay": 999}'),
        ("POST", "/_sim/channels", b'{"channelId": 5}'),
        ("POST", "/_sim/config", b'{"quota": "lots"}'),
        ("PUT", f"/_sim/users/{USER}", b'{"displayName": 42}'),
    ],
)
def test_hostile_control_requests_get_a_clear_400(sim, method, path, body):
    response = sim.request(method, path, content=body)
    assert response.status_code == 400 and response.json()["message"]


def test_rich_menu_aliases_and_batch(sim, line):
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "m",
        "chatBarText": "menu",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
                "action": {"type": "postback", "data": "a=x"},
            }
        ],
    }
    first = line.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
    second = line.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
    assert (
        line.post(
            "/v2/bot/richmenu/alias", json={"richMenuAliasId": "resident", "richMenuId": first}
        ).status_code
        == 200
    )
    assert line.post("/v2/bot/richmenu/alias/resident", json={"richMenuId": second}).status_code == 200
    assert line.get("/v2/bot/richmenu/alias/resident").json() == {
        "richMenuAliasId": "resident",
        "richMenuId": second,
    }
    assert line.get("/v2/bot/richmenu/alias/list").json()["aliases"] == [
        {"richMenuAliasId": "resident", "richMenuId": second}
    ]
    line.post(f"/v2/bot/user/{USER}/richmenu/{first}")
    batch = line.post(
        "/v2/bot/richmenu/batch", json={"operations": [{"type": "link", "from": first, "to": second}]}
    )
    assert batch.status_code == 202
    assert line.get(f"/v2/bot/user/{USER}/richmenu").json() == {"richMenuId": second}
    progress = line.get(
        "/v2/bot/richmenu/progress/batch", params={"requestId": batch.headers["x-line-request-id"]}
    )
    assert progress.json()["phase"] == "succeeded"
    bad = line.post("/v2/bot/richmenu/batch", json={"operations": [{"type": "link", "from": first}]})
    assert bad.status_code == 400  # "to" is required for link
    assert line.delete("/v2/bot/richmenu/alias/resident").status_code == 200


def test_insight_counts_what_was_sent_under_a_unit_or_request_and_opened_on_the_phone(sim, line):
    sim.post("/_sim/reset", json={"users": True})  # the broadcast reaches only these five
    users = [f"U{n:032x}" for n in range(1, 6)]
    for user in users:
        follow(sim, user)
    body = {"to": users, "messages": [TEXT, TEXT], "customAggregationUnits": ["week_1"]}
    assert line.post("/v2/bot/message/multicast", json=body).status_code == 200
    broadcast = line.post("/v2/bot/message/broadcast", json={"messages": [TEXT]})
    request_id = broadcast.headers["x-line-request-id"]
    period = {"from": "20260101", "to": "20260131"}

    def unit(name):
        return line.get(
            "/v2/bot/insight/message/event/aggregation", params={"customAggregationUnit": name, **period}
        )

    assert unit("week_1").json()["overview"]["uniqueImpression"] == 0
    assert unit("week_2").status_code == 404
    for user in users[:3]:
        sim.get(f"/_sim/users/{user}/messages", params={"seen": 1})  # as the phone page asks
    sim.get(f"/_sim/users/{users[4]}/messages")  # read without being displayed
    assert unit("week_1").json()["overview"] == {
        "uniqueImpression": 3,
        "uniqueClick": None,
        "uniqueMediaPlayed": None,
        "uniqueMediaPlayed100Percent": None,
    }
    event = line.get("/v2/bot/insight/message/event", params={"requestId": request_id}).json()["overview"]
    assert event["delivered"] == 5 and event["uniqueImpression"] == 3
    # Quota counts recipients: the multicast of two bubbles to five and the broadcast to five are 10.
    assert line.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 10}
