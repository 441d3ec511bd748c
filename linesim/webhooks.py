"""Webhook events as LINE builds them, signed with the channel secret and posted to the bot."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx

from linesim.state import SimChannel, State, ulid

# Event types LINE gives a reply token.
REPLYABLE = {"message", "follow", "join", "postback", "beacon", "memberJoined", "accountLink", "things"}


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class BadEvent(ValueError):
    """The control API was asked for an event LINE could not send."""


def build_event(state: State, channel: SimChannel, user_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Complete an event given without its envelope fields, as LINE would send it."""
    event_type = spec.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise BadEvent("type is required")
    event: dict[str, Any] = {
        key: value for key, value in spec.items() if key not in {"redeliver", "channel", "content"}
    }
    event.update(
        {
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": ulid(),
            "deliveryContext": {"isRedelivery": False},
        }
    )
    if event_type in REPLYABLE:
        event["replyToken"] = state.issue_reply_token(channel.channel_id, user_id)
    if event_type == "message":
        message = spec.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise BadEvent("message.type is required")
        message = dict(message)
        message_id = str(secrets.randbelow(10**17) + 10**17)
        message["id"] = message_id
        message.setdefault("quoteToken", secrets.token_urlsafe(24))
        message.setdefault("markAsReadToken", secrets.token_urlsafe(24))
        if message["type"] in {"image", "video", "audio", "file"}:
            content = spec.get("content", "")
            try:
                data = base64.b64decode(content or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise BadEvent("content must be base64") from None
            state.contents[message_id] = data
            message.setdefault("contentProvider", {"type": "line"})
        if message["type"] == "text" and not isinstance(message.get("text"), str):
            raise BadEvent("message.text is required")
        event["message"] = message
    if event_type == "postback" and not isinstance((spec.get("postback") or {}).get("data"), str):
        raise BadEvent("postback.data is required")
    return event


async def post(client: httpx.AsyncClient, channel: SimChannel, envelope: dict[str, Any]) -> int:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return await post_raw(client, channel, body)


async def post_raw(client: httpx.AsyncClient, channel: SimChannel, body: bytes) -> int:
    headers = {"content-type": "application/json", "x-line-signature": signature(channel.secret, body)}
    try:
        response = await client.post(channel.webhook_url, content=body, headers=headers)
    except httpx.HTTPError:
        return 0  # the bot did not answer at all
    return response.status_code


def envelope(channel: SimChannel, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"destination": channel.bot_user_id, "events": events}
