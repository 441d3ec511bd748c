"""LINE's Messaging API paths, as linesim answers them (docs/linesim.md lists them).

Each handler gets a `Call` whose request already passed authentication, faults, rate limits
and the OpenAPI check, and returns (status, body, extra headers).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt
from starlette.responses import Response

from linesim.state import request_id

if TYPE_CHECKING:
    from linesim.app import Call

Result = tuple[int, Any, dict[str, str]]
RETRYABLE = {"push", "multicast", "narrowcast", "broadcast"}


def _error(status: int, message: str, **extra: Any) -> Result:
    return status, {"message": message, **extra}, {}


def _retry_key(call: Call, kind: str) -> tuple[str | None, Result | None]:
    """The request's retry key, or the answer LINE gives for a bad or repeated one."""
    key = call.request.headers.get("x-line-retry-key")
    if key is None:
        return None, None
    if kind not in RETRYABLE:
        return None, _error(400, "X-Line-Retry-Key is not supported for this endpoint")
    try:
        uuid.UUID(key)
    except ValueError:
        return None, _error(400, "The value of the X-Line-Retry-Key header is invalid")
    assert call.channel is not None
    accepted = call.state.retry_keys.get((call.channel.channel_id, key.lower()))
    if accepted is not None:
        accepted_id, sent = accepted
        body: dict[str, Any] = {"message": "The retry key is already accepted"}
        if kind == "push":
            body["sentMessages"] = sent
        return None, (409, body, {"x-line-accepted-request-id": accepted_id})
    return key.lower(), None


def _accept(call: Call, key: str | None, sent: list[dict[str, str]]) -> dict[str, str]:
    rid = request_id()
    assert call.channel is not None
    if key is not None:
        call.state.retry_keys[(call.channel.channel_id, key)] = (rid, sent)
    call.state.requests[rid] = {"sent": len(sent), "at": time.time()}
    return {"x-line-request-id": rid}


def _friends(call: Call) -> list[str]:
    return [user.user_id for user in call.state.users.values() if user.friend]


def _over_quota(call: Call, count: int) -> bool:
    """LINE counts pushes, multicasts and broadcasts per recipient (5 bubbles to one user = 1)."""
    return call.state.sent_this_month + count > call.state.quota


async def reply(call: Call) -> Result:
    _, refused = _retry_key(call, "reply")
    if refused:
        return refused
    assert call.channel is not None
    user_id = call.state.use_reply_token(call.channel.channel_id, call.json["replyToken"])
    if user_id is None:
        return _error(400, "Invalid reply token")
    sent = call.state.deliver(user_id, call.json["messages"], "reply")
    return 200, {"sentMessages": sent}, {}


async def push(call: Call) -> Result:
    key, refused = _retry_key(call, "push")
    if refused:
        return refused
    messages = call.json["messages"]
    if _over_quota(call, 1):
        return _error(429, "You have reached your monthly limit.")
    user = call.state.users.get(call.json["to"])
    units = call.json.get("customAggregationUnits") or []
    if user and user.friend:
        sent = call.state.deliver(user.user_id, messages, "push")
        for unit in units:
            call.state.aggregate(unit, 1)
    else:
        # LINE accepts a push to someone who blocked the account, and delivers nothing.
        sent = [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages]
    headers = _accept(call, key, sent)
    if user and user.friend:
        call.state.track([m["id"] for m in sent], headers["x-line-request-id"], units[0] if units else None)
    return 200, {"sentMessages": sent}, headers


async def multicast(call: Call) -> Result:
    key, refused = _retry_key(call, "multicast")
    if refused:
        return refused
    recipients = [
        uid
        for uid in dict.fromkeys(call.json["to"])
        if uid in call.state.users and call.state.users[uid].friend
    ]
    if _over_quota(call, len(recipients)):
        return _error(429, "You have reached your monthly limit.")
    count, ids = call.state.deliver_many(recipients, call.json["messages"], "multicast")
    units = call.json.get("customAggregationUnits") or []
    for unit in units:
        call.state.aggregate(unit, count)
    headers = _accept(call, key, [{} for _ in range(count)])
    call.state.track(ids, headers["x-line-request-id"], units[0] if units else None)
    return 200, {}, headers


async def broadcast(call: Call, via: str = "broadcast") -> Result:
    key, refused = _retry_key(call, via)
    if refused:
        return refused
    friends = _friends(call)
    if _over_quota(call, len(friends)):
        return _error(429, "You have reached your monthly limit.")
    count, ids = call.state.deliver_many(friends, call.json["messages"], via)
    headers = _accept(call, key, [{} for _ in range(count)])
    call.state.track(ids, headers["x-line-request-id"], None)
    return (202 if via == "narrowcast" else 200), {}, headers


async def narrowcast(call: Call) -> Result:
    # linesim does not model audiences or demographics: every friend receives a narrowcast.
    return await broadcast(call, via="narrowcast")


async def narrowcast_progress(call: Call) -> Result:
    entry = call.state.requests.get(call.request.query_params.get("requestId", ""))
    if entry is None:
        return _error(404, "Not found")
    return (
        200,
        {
            "phase": "succeeded",
            "successCount": entry["sent"],
            "failureCount": 0,
            "targetCount": entry["sent"],
        },
        {},
    )


async def validate(call: Call) -> Result:
    return 200, {}, {}


async def quota(call: Call) -> Result:
    return 200, {"type": "limited", "value": call.state.quota}, {}


async def consumption(call: Call) -> Result:
    return 200, {"totalUsage": call.state.sent_this_month}, {}


async def profile(call: Call) -> Result:
    user = call.state.users.get(call.request.path_params["userId"])
    if user is None or not user.friend:
        return _error(404, "Not found")
    body = {"userId": user.user_id, "displayName": user.display_name, "language": user.language}
    if user.picture_url:
        body["pictureUrl"] = user.picture_url
    return 200, body, {}


async def bot_info(call: Call) -> Result:
    assert call.channel is not None
    return (
        200,
        {
            "userId": call.channel.bot_user_id,
            "basicId": "@linesim",
            "displayName": "linesim",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        },
        {},
    )


async def content(call: Call) -> Result:
    data = call.state.contents.get(call.request.path_params["messageId"])
    if data is None:
        return _error(404, "Not found")
    return 200, Response(data, media_type="image/jpeg"), {}


async def accepted(call: Call) -> Result:
    return 200, {}, {}


async def loading(call: Call) -> Result:
    return 202, {}, {}


async def insight_event(call: Call) -> Result:
    # Opened (uniqueImpression) is how many recipients' phone pages displayed the request's
    # messages; linesim does not see taps on links, so clicks stay null (LINE's "no figure").
    request_id = call.request.query_params.get("requestId", "")
    entry = call.state.requests.get(request_id)
    delivered = entry["sent"] if entry else 0
    return (
        200,
        {
            "overview": {
                "requestId": request_id,
                "timestamp": int(time.time()),
                "delivered": delivered,
                "uniqueImpression": call.state.opened_count("request:" + request_id) if entry else None,
                "uniqueClick": None,
                "uniqueMediaPlayed": None,
                "uniqueMediaPlayed100Percent": None,
            },
            "messages": [],
            "clicks": [],
        },
        {},
    )


async def insight_unit(call: Call) -> Result:
    # What was sent under the unit: opened (uniqueImpression) is how many of its recipients'
    # phone pages displayed its messages; linesim does not see taps on links, so clicks stay null.
    unit = call.request.query_params.get("customAggregationUnit", "")
    if unit not in call.state.units:
        return _error(404, "Not found")
    overview = {
        "uniqueImpression": call.state.opened_count("unit:" + unit),
        "uniqueClick": None,
        "uniqueMediaPlayed": None,
        "uniqueMediaPlayed100Percent": None,
    }
    return 200, {"overview": overview, "messages": [], "clicks": []}, {}


# Rich menus


async def richmenu_create(call: Call) -> Result:
    menu_id = "richmenu-" + uuid.uuid4().hex
    call.state.rich_menus[menu_id] = {**call.json, "richMenuId": menu_id}
    return 200, {"richMenuId": menu_id}, {}


def _menu(call: Call) -> dict[str, Any] | None:
    return call.state.rich_menus.get(call.request.path_params["richMenuId"])


async def richmenu_get(call: Call) -> Result:
    menu = _menu(call)
    return (200, menu, {}) if menu else _error(404, "Not found")


async def richmenu_list(call: Call) -> Result:
    return 200, {"richmenus": list(call.state.rich_menus.values())}, {}


async def richmenu_delete(call: Call) -> Result:
    menu_id = call.request.path_params["richMenuId"]
    if call.state.rich_menus.pop(menu_id, None) is None:
        return _error(404, "Not found")
    # A deleted menu is no longer shown to anyone it was linked to, nor as the default.
    call.state.rich_menu_images.pop(menu_id, None)
    for user in call.state.users.values():
        if user.rich_menu_id == menu_id:
            user.rich_menu_id = None
    for channel_id, default_id in list(call.state.default_rich_menu.items()):
        if default_id == menu_id:
            del call.state.default_rich_menu[channel_id]
    return 200, {}, {}


async def richmenu_upload(call: Call) -> Result:
    menu_id = call.request.path_params["richMenuId"]
    if menu_id not in call.state.rich_menus:
        return _error(404, "Not found")
    if menu_id in call.state.rich_menu_images:
        return _error(400, "An image has already been uploaded to the richmenu")
    media_type = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in {"image/png", "image/jpeg"} or not call.body:
        return _error(400, "The image must be a PNG or JPEG")
    problem = _rich_menu_image_problem(call.body, media_type)
    if problem:
        return _error(400, problem)
    call.state.rich_menu_images[menu_id] = (call.body, media_type)
    return 200, {}, {}


RICH_MENU_IMAGE_MAX = 1_000_000  # 1 MB


def _image_size(data: bytes, media_type: str) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR or a JPEG's frame header; None when it is neither."""
    if media_type == "image/png":
        if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        at += 2 + length
    return None


def _rich_menu_image_problem(data: bytes, media_type: str) -> str:
    """LINE's rules for a rich menu image: ≤1 MB, 800–2500 px wide, ≥250 px high, ratio ≥1.45."""
    if len(data) > RICH_MENU_IMAGE_MAX:
        return "The image size must be less than 1MB"
    size = _image_size(data, media_type)
    if size is None:
        return "The image is not a valid " + ("PNG" if media_type == "image/png" else "JPEG")
    width, height = size
    if not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
        return "The image size is invalid (width 800-2500, height >= 250, width/height >= 1.45)"
    return ""


async def richmenu_download(call: Call) -> Result:
    image = call.state.rich_menu_images.get(call.request.path_params["richMenuId"])
    if image is None:
        return _error(404, "Not found")
    return 200, Response(image[0], media_type=image[1]), {}


async def default_set(call: Call) -> Result:
    if _menu(call) is None:
        return _error(404, "Not found")
    assert call.channel is not None
    call.state.default_rich_menu[call.channel.channel_id] = call.request.path_params["richMenuId"]
    return 200, {}, {}


async def default_get(call: Call) -> Result:
    assert call.channel is not None
    menu_id = call.state.default_rich_menu.get(call.channel.channel_id)
    return (200, {"richMenuId": menu_id}, {}) if menu_id else _error(404, "Not found")


async def default_delete(call: Call) -> Result:
    assert call.channel is not None
    call.state.default_rich_menu.pop(call.channel.channel_id, None)
    return 200, {}, {}


async def user_menu_link(call: Call) -> Result:
    if _menu(call) is None:
        return _error(404, "Not found")
    call.state.user(call.request.path_params["userId"]).rich_menu_id = call.request.path_params["richMenuId"]
    return 200, {}, {}


async def user_menu_get(call: Call) -> Result:
    user = call.state.users.get(call.request.path_params["userId"])
    return (
        (200, {"richMenuId": user.rich_menu_id}, {})
        if user and user.rich_menu_id
        else _error(404, "Not found")
    )


async def user_menu_unlink(call: Call) -> Result:
    user = call.state.users.get(call.request.path_params["userId"])
    if user:
        user.rich_menu_id = None
    return 200, {}, {}


async def bulk_link(call: Call) -> Result:
    for user_id in call.json["userIds"]:
        call.state.user(user_id).rich_menu_id = call.json["richMenuId"]
    return 202, {}, {}


async def bulk_unlink(call: Call) -> Result:
    for user_id in call.json["userIds"]:
        call.state.user(user_id).rich_menu_id = None
    return 202, {}, {}


async def alias_create(call: Call) -> Result:
    alias_id, menu_id = call.json["richMenuAliasId"], call.json["richMenuId"]
    if menu_id not in call.state.rich_menus:
        return _error(400, "richmenu not found")
    if alias_id in call.state.rich_menu_aliases:
        return _error(400, "conflict richmenu alias id")
    call.state.rich_menu_aliases[alias_id] = menu_id
    return 200, {}, {}


async def alias_get(call: Call) -> Result:
    alias_id = call.request.path_params["richMenuAliasId"]
    menu_id = call.state.rich_menu_aliases.get(alias_id)
    return (
        (200, {"richMenuAliasId": alias_id, "richMenuId": menu_id}, {})
        if menu_id
        else _error(404, "Not found")
    )


async def alias_update(call: Call) -> Result:
    alias_id = call.request.path_params["richMenuAliasId"]
    if alias_id not in call.state.rich_menu_aliases:
        return _error(404, "Not found")
    if call.json["richMenuId"] not in call.state.rich_menus:
        return _error(400, "richmenu not found")
    call.state.rich_menu_aliases[alias_id] = call.json["richMenuId"]
    return 200, {}, {}


async def alias_delete(call: Call) -> Result:
    if call.state.rich_menu_aliases.pop(call.request.path_params["richMenuAliasId"], None) is None:
        return _error(404, "Not found")
    return 200, {}, {}


async def alias_list(call: Call) -> Result:
    aliases = [{"richMenuAliasId": a, "richMenuId": m} for a, m in call.state.rich_menu_aliases.items()]
    return 200, {"aliases": aliases}, {}


async def richmenu_batch(call: Call) -> Result:
    """Link, unlink or unlink-all across every user, carried out at once (LINE does it later)."""
    for operation in call.json["operations"]:
        for user in call.state.users.values():
            if operation["type"] == "link" and user.rich_menu_id == operation["from"]:
                user.rich_menu_id = operation["to"]
            elif operation["type"] == "unlinkAll" or (
                operation["type"] == "unlink" and user.rich_menu_id == operation["from"]
            ):
                user.rich_menu_id = None
    rid = request_id()
    call.state.requests[rid] = {"sent": 0, "at": time.time()}
    return 202, {}, {"x-line-request-id": rid}


async def richmenu_batch_progress(call: Call) -> Result:
    entry = call.state.requests.get(call.request.query_params.get("requestId", ""))
    if entry is None:
        return _error(404, "Not found")
    at = datetime.fromtimestamp(entry["at"], UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return 200, {"phase": "succeeded", "acceptedTime": at, "completedTime": at}, {}


# Tokens and LINE Login


async def issue_token(call: Call) -> Result:
    form = {key: values[0] for key, values in parse_qs(call.body.decode("utf-8", "replace")).items()}
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _error(400, "Invalid client_assertion")
    channel = call.state.channels.get(str(claims.get("iss", "")))
    if channel is None or channel.public_key is None or header.get("kid") != channel.kid:
        return _error(400, "Invalid client_assertion")
    try:
        key = jwt.PyJWK(channel.public_key, algorithm="RS256").key
        jwt.decode(assertion, key, algorithms=["RS256"], audience="https://api.line.me/")
    except jwt.PyJWTError as exc:
        return _error(400, f"Invalid client_assertion: {type(exc).__name__}")
    lifetime = min(int(claims.get("token_exp", 2592000)), 2592000)
    token = "v21-" + uuid.uuid4().hex
    call.state.v21_tokens[token] = (channel.channel_id, time.time() + lifetime)
    return (
        200,
        {"access_token": token, "expires_in": lifetime, "token_type": "Bearer", "key_id": header.get("kid")},
        {},
    )


async def verify_id_token(call: Call) -> Result:
    """LINE Login's ID token check, with LINE Login's error shape (`error`, `error_description`)."""
    form = {key: values[0] for key, values in parse_qs(call.body.decode("utf-8", "replace")).items()}

    def refused(description: str) -> Result:
        return 400, {"error": "invalid_request", "error_description": description}, {}

    claims = call.state.id_tokens.get(form.get("id_token", ""))
    if claims is None:
        return refused("Invalid IdToken.")
    if claims["exp"] < time.time():
        return refused("IdToken expired.")
    if form.get("client_id") != claims["aud"]:
        return refused("Invalid IdToken Audience.")
    if form.get("nonce") and form["nonce"] != claims.get("nonce"):
        return refused("Invalid IdToken Nonce.")
    if form.get("user_id") and form["user_id"] != claims["sub"]:
        return refused("Invalid IdToken Subject Identifier.")
    return 200, claims, {}


M = "/v2/bot/message"
ROUTES: list[tuple[str, str, Any, bool]] = [
    ("POST", f"{M}/reply", reply, True),
    ("POST", f"{M}/push", push, True),
    ("POST", f"{M}/multicast", multicast, True),
    ("POST", f"{M}/narrowcast", narrowcast, True),
    ("POST", f"{M}/broadcast", broadcast, True),
    ("GET", f"{M}/progress/narrowcast", narrowcast_progress, True),
    *(
        ("POST", f"{M}/validate/{kind}", validate, True)
        for kind in ("reply", "push", "multicast", "narrowcast", "broadcast")
    ),
    ("GET", f"{M}/quota", quota, True),
    ("GET", f"{M}/quota/consumption", consumption, True),
    ("GET", f"{M}/{{messageId}}/content", content, True),
    ("GET", "/v2/bot/profile/{userId}", profile, True),
    ("GET", "/v2/bot/info", bot_info, True),
    ("GET", "/v2/bot/insight/message/event", insight_event, True),
    ("GET", "/v2/bot/insight/message/event/aggregation", insight_unit, True),
    ("POST", "/v2/bot/chat/markAsRead", accepted, True),
    ("POST", "/v2/bot/chat/loading/start", loading, True),
    ("POST", "/v2/bot/richmenu", richmenu_create, True),
    ("POST", "/v2/bot/richmenu/validate", validate, True),
    ("GET", "/v2/bot/richmenu/list", richmenu_list, True),
    ("POST", "/v2/bot/richmenu/bulk/link", bulk_link, True),
    ("POST", "/v2/bot/richmenu/bulk/unlink", bulk_unlink, True),
    ("POST", "/v2/bot/richmenu/alias", alias_create, True),
    ("GET", "/v2/bot/richmenu/alias/list", alias_list, True),
    ("GET", "/v2/bot/richmenu/alias/{richMenuAliasId}", alias_get, True),
    ("POST", "/v2/bot/richmenu/alias/{richMenuAliasId}", alias_update, True),
    ("DELETE", "/v2/bot/richmenu/alias/{richMenuAliasId}", alias_delete, True),
    ("POST", "/v2/bot/richmenu/batch", richmenu_batch, True),
    ("POST", "/v2/bot/richmenu/validate/batch", validate, True),
    ("GET", "/v2/bot/richmenu/progress/batch", richmenu_batch_progress, True),
    ("GET", "/v2/bot/richmenu/{richMenuId}", richmenu_get, True),
    ("DELETE", "/v2/bot/richmenu/{richMenuId}", richmenu_delete, True),
    ("POST", "/v2/bot/richmenu/{richMenuId}/content", richmenu_upload, True),
    ("GET", "/v2/bot/richmenu/{richMenuId}/content", richmenu_download, True),
    ("POST", "/v2/bot/user/all/richmenu/{richMenuId}", default_set, True),
    ("GET", "/v2/bot/user/all/richmenu", default_get, True),
    ("DELETE", "/v2/bot/user/all/richmenu", default_delete, True),
    ("POST", "/v2/bot/user/{userId}/richmenu/{richMenuId}", user_menu_link, True),
    ("GET", "/v2/bot/user/{userId}/richmenu", user_menu_get, True),
    ("DELETE", "/v2/bot/user/{userId}/richmenu", user_menu_unlink, True),
    ("POST", "/oauth2/v2.1/token", issue_token, False),
    ("POST", "/oauth2/v2.1/verify", verify_id_token, False),
]
