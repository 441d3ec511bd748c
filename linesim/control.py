"""linesim's control API (`/_sim/...`): tests, benchmarks and the phone page drive it.

The contract is in docs/linesim.md; keep it stable.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from linesim import webhooks
from linesim.state import Fault, SimChannel, State

# A photo or file sent as base64: room for a 30 MB one (phones send files that size; LINE keeps
# files up to 300 MB), so tests can send what Madoguchi must refuse at its real limits.
MAX_CONTROL_BODY = 48_000_000


def _state(request: Request) -> State:
    state: State = request.app.state.sim
    return state


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    body = await request.body()
    if len(body) > MAX_CONTROL_BODY:
        return _bad("body too large", 413)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(data, dict):
        return _bad("body must be a JSON object")
    return data


def _valid_user_id(user_id: str) -> bool:
    return 1 <= len(user_id) <= 64 and user_id.isascii() and user_id.isalnum()


def _channel(state: State, channel_id: Any) -> SimChannel | None:
    return state.channels.get(str(channel_id) if channel_id else state.default_channel_id)


async def send(request: Request) -> Response:
    state = _state(request)
    user_id = request.path_params["userId"]
    if not _valid_user_id(user_id):
        return _bad("userId must be 1-64 letters and digits")
    spec = await _json_object(request)
    if isinstance(spec, JSONResponse):
        return spec
    channel = _channel(state, spec.get("channel"))
    if channel is None:
        return _bad("unknown channel", 404)
    try:
        event = webhooks.build_event(state, channel, user_id, spec)
    except webhooks.BadEvent as exc:
        return _bad(str(exc))
    user = state.user(user_id)
    if event["type"] == "follow":
        user.friend = True
    elif event["type"] == "unfollow":
        user.friend = False
    elif event["type"] == "postback":
        # A richmenuswitch tap: LINE links the user to the alias's menu, then tells the bot.
        params = event.get("postback", {}).get("params") or {}
        alias_menu = state.rich_menu_aliases.get(str(params.get("newRichMenuAliasId", "")))
        if alias_menu is not None and alias_menu in state.rich_menus:
            user.rich_menu_id = alias_menu
    client = request.app.state.http
    status = await webhooks.post(client, channel, webhooks.envelope(channel, [event]))
    answer: dict[str, Any] = {"webhookEventId": event["webhookEventId"], "status": status}
    if spec.get("redeliver") is True:
        again = {**event, "deliveryContext": {"isRedelivery": True}}
        answer["redeliveryStatus"] = await webhooks.post(client, channel, webhooks.envelope(channel, [again]))
    return JSONResponse(answer)


async def messages(request: Request) -> Response:
    """What the user received; with `?seen=1` (the phone page) they are displayed, so LINE's
    insight counts the user as having opened them."""
    state = _state(request)
    if request.query_params.get("seen") in ("1", "true"):
        state.seen(request.path_params["userId"])
    user = state.users.get(request.path_params["userId"])
    received = [{k: v for k, v in m.items() if k != "id"} for m in (user.received if user else [])]
    return JSONResponse(received)


async def put_user(request: Request) -> Response:
    user_id = request.path_params["userId"]
    if not _valid_user_id(user_id):
        return _bad("userId must be 1-64 letters and digits")
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    user = _state(request).user(user_id)
    for field, attribute in (
        ("displayName", "display_name"),
        ("language", "language"),
        ("pictureUrl", "picture_url"),
    ):
        if field in data:
            if not isinstance(data[field], str) or len(data[field]) > 500:
                return _bad(f"{field} must be a string")
            setattr(user, attribute, data[field])
    return JSONResponse({"userId": user.user_id, "displayName": user.display_name, "language": user.language})


async def user_richmenu(request: Request) -> Response:
    state = _state(request)
    user = state.users.get(request.path_params["userId"])
    menu_id = (user.rich_menu_id if user else None) or state.default_rich_menu.get(state.default_channel_id)
    menu = state.rich_menus.get(menu_id or "")
    if menu is None:
        return _bad("no rich menu", 404)
    return JSONResponse({**menu, "richMenuId": menu_id, "imageUrl": f"/_sim/richmenus/{menu_id}/image"})


async def richmenu_image(request: Request) -> Response:
    image = _state(request).rich_menu_images.get(request.path_params["richMenuId"])
    if image is None:
        return _bad("no image", 404)
    return Response(image[0], media_type=image[1])


async def id_token(request: Request) -> Response:
    """An ID token for this user, as LINE Login issues one to a LIFF app (`clientId` is the LINE
    Login channel's id); `expiresIn` (seconds, default 3600, may be negative) makes short-lived
    or already expired tokens for tests."""
    state = _state(request)
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    user_id = request.path_params["userId"]
    if not _valid_user_id(user_id):
        return _bad("userId must be 1-64 letters and digits")
    client_id = data.get("clientId")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return _bad("clientId is required")
    expires_in = data.get("expiresIn", 3600)
    if not isinstance(expires_in, int) or not -86400 <= expires_in <= 86400:
        return _bad("expiresIn must be whole seconds within a day")
    now = int(time.time())
    user = state.user(user_id)
    claims = {
        "iss": "https://access.line.me",
        "sub": user_id,
        "aud": client_id,
        "exp": now + expires_in,
        "iat": now,
        "amr": ["linesso"],
        "name": user.display_name,
    }
    if user.picture_url:
        claims["picture"] = user.picture_url
    if isinstance(data.get("nonce"), str):
        claims["nonce"] = data["nonce"]
    # Shaped like LINE's (a JWT: header.payload.signature, base64url); linesim's verify endpoint
    # looks the whole token up, so the signature is random rather than signed.
    token = ".".join(
        [
            _base64url({"typ": "JWT", "alg": "HS256"}),
            _base64url(claims),
            secrets.token_urlsafe(32),
        ]
    )
    state.id_tokens[token] = claims
    return JSONResponse({"idToken": token})


def _base64url(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


LIFF_VIEW_TYPES = ("full", "tall", "compact")


async def add_liff_app(request: Request) -> Response:
    """Registers a LIFF app: where LINE opens it (`endpointUrl`) and the LINE Login channel it
    belongs to (`channelId`, the audience of its ID tokens)."""
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    channel_id, endpoint = data.get("channelId"), data.get("endpointUrl")
    if not isinstance(channel_id, str) or not channel_id.isascii() or not channel_id.isalnum():
        return _bad("channelId (the LINE Login channel's id) is required")
    if (
        not isinstance(endpoint, str)
        or not endpoint.startswith(("http://", "https://"))
        or len(endpoint) > 1000
    ):
        return _bad("endpointUrl must be an http(s) URL")
    view_type = data.get("viewType", "full")
    if view_type not in LIFF_VIEW_TYPES:
        return _bad("viewType must be full, tall or compact")
    liff_id = data.get("liffId") or f"{channel_id}-{secrets.token_hex(4)}"
    if not isinstance(liff_id, str) or not 1 <= len(liff_id) <= 64 or not liff_id.replace("-", "").isalnum():
        return _bad("liffId must be letters, digits and hyphens")
    app = {"liffId": liff_id, "channelId": channel_id, "endpointUrl": endpoint, "viewType": view_type}
    _state(request).liff_apps[liff_id] = app
    return JSONResponse(app)


async def get_liff_app(request: Request) -> Response:
    app = _state(request).liff_apps.get(request.path_params["liffId"])
    if app is None:
        return _bad("no such LIFF app", 404)
    return JSONResponse(app)


async def add_fault(request: Request) -> Response:
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    path, method = data.get("path"), str(data.get("method", "POST")).upper()
    status, count, delay = data.get("status"), data.get("count", 1), data.get("delay", 0.0)
    if not isinstance(path, str) or not path.startswith("/"):
        return _bad("path must be a LINE API path")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        return _bad("status must be an HTTP error status")
    if not isinstance(count, int) or count < 1 or not isinstance(delay, int | float) or not 0 <= delay <= 60:
        return _bad("count must be >= 1 and delay between 0 and 60 seconds")
    _state(request).faults.append(Fault(path, method, status, count, float(delay), bool(data.get("after"))))
    return JSONResponse({"ok": True})


async def clear_faults(request: Request) -> Response:
    _state(request).faults.clear()
    return JSONResponse({"ok": True})


async def add_channel(request: Request) -> Response:
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    if not all(
        isinstance(data.get(k), str) and data[k] for k in ("channelId", "channelSecret", "webhookUrl")
    ):
        return _bad("channelId, channelSecret and webhookUrl are required")
    state = _state(request)
    existing = state.channels.get(data["channelId"])
    channel = SimChannel(
        channel_id=data["channelId"],
        secret=data["channelSecret"],
        webhook_url=data["webhookUrl"],
        bot_user_id=data.get("botUserId") or "U" + secrets.token_hex(16),
        access_tokens=(existing.access_tokens if existing else set())
        | ({data["accessToken"]} if isinstance(data.get("accessToken"), str) else set()),
        public_key=data.get("publicKey") if isinstance(data.get("publicKey"), dict) else None,
        kid=data.get("kid") if isinstance(data.get("kid"), str) else None,
    )
    state.add_channel(channel)
    return JSONResponse({"channelId": channel.channel_id, "botUserId": channel.bot_user_id})


async def post_webhook(request: Request) -> Response:
    """Sign and post an exact envelope (LINE's own samples)."""
    state = _state(request)
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    if "body" in data:
        channel, body = _channel(state, data.get("channel")), data["body"]
    else:
        channel, body = _channel(state, request.query_params.get("channel")), data
    if channel is None:
        return _bad("unknown channel", 404)
    raw = json.dumps(body, ensure_ascii=False).encode()
    status = await webhooks.post_raw(request.app.state.http, channel, raw)
    return JSONResponse({"status": status})


async def stats(request: Request) -> Response:
    state = _state(request)
    if request.query_params.get("summary"):
        return JSONResponse({**state.received_summary(), "endpoints": state.stats()["endpoints"]})
    return JSONResponse(state.stats())


MAX_BULK_USERS = 100_000


async def put_users(request: Request) -> Response:
    """Make many users friends at once (benchmarks with a million residents)."""
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    user_ids = data.get("userIds")
    if not isinstance(user_ids, list) or len(user_ids) > MAX_BULK_USERS:
        return _bad(f"userIds must be a list of at most {MAX_BULK_USERS}")
    if not all(isinstance(uid, str) and _valid_user_id(uid) for uid in user_ids):
        return _bad("userIds must be 1-64 letters and digits")
    state = _state(request)
    with state.lock:
        for user_id in user_ids:
            state.user(user_id).friend = bool(data.get("friend", True))
    return JSONResponse({"users": len(user_ids)})


async def reset(request: Request) -> Response:
    data = await request.json() if await request.body() else {}
    _state(request).reset(users=isinstance(data, dict) and data.get("users") is True)
    return JSONResponse({"ok": True})


async def config(request: Request) -> Response:
    data = await _json_object(request)
    if isinstance(data, JSONResponse):
        return data
    state = _state(request)
    if "replyTokenTtl" in data:
        if not isinstance(data["replyTokenTtl"], int | float) or data["replyTokenTtl"] < 0:
            return _bad("replyTokenTtl must be a number of seconds")
        state.reply_token_ttl = float(data["replyTokenTtl"])
    if "rateLimits" in data:
        state.rate_limits = bool(data["rateLimits"])
    if "quota" in data:
        if not isinstance(data["quota"], int) or data["quota"] < 0:
            return _bad("quota must be a whole number")
        state.quota = data["quota"]
    return JSONResponse(
        {"replyTokenTtl": state.reply_token_ttl, "rateLimits": state.rate_limits, "quota": state.quota}
    )


def routes() -> list[Route]:
    return [
        Route("/_sim/users", put_users, methods=["PUT"]),
        Route("/_sim/users/{userId}/send", send, methods=["POST"]),
        Route("/_sim/users/{userId}/messages", messages, methods=["GET"]),
        Route("/_sim/users/{userId}", put_user, methods=["PUT"]),
        Route("/_sim/users/{userId}/richmenu", user_richmenu, methods=["GET"]),
        Route("/_sim/users/{userId}/id-token", id_token, methods=["POST"]),
        Route("/_sim/liff/apps", add_liff_app, methods=["POST"]),
        Route("/_sim/liff/apps/{liffId}", get_liff_app, methods=["GET"]),
        Route("/_sim/richmenus/{richMenuId}/image", richmenu_image, methods=["GET"]),
        Route("/_sim/faults", add_fault, methods=["POST"]),
        Route("/_sim/faults", clear_faults, methods=["DELETE"]),
        Route("/_sim/channels", add_channel, methods=["POST"]),
        Route("/_sim/webhook", post_webhook, methods=["POST"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/config", config, methods=["POST"]),
    ]
