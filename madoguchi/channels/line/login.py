"""LINE Login: who opened a LIFF page, from the ID token the page sent.

The browser's word is never taken for who it is: the token goes to LINE's own verify endpoint
(`POST /oauth2/v2.1/verify` with the channel's LINE Login channel id as `client_id`), which
checks its signature, expiry and audience; we check the answer again before trusting `sub`.
"""

from __future__ import annotations

import logging
import string
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from madoguchi.channels.base import ChannelError
from madoguchi.core.models import Channel

logger = logging.getLogger(__name__)

ISSUER = "https://access.line.me"
# A LINE ID token is a JWT of well under 2 KB; anything far longer is not one.
MAX_ID_TOKEN = 4096


class IdTokenRejected(Exception):
    """The token is not a valid ID token for this channel (forged, expired, another audience)."""


@dataclass(frozen=True)
class LineLogin:
    user_id: str
    name: str
    expires_at: int


_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")


def _jwt_shaped(token: str) -> bool:
    """Three non-empty base64url parts joined by dots (header.payload.signature)."""
    parts = token.split(".")
    return len(parts) == 3 and all(part and _BASE64URL.issuperset(part) for part in parts)


def _valid_user_id(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 64 and value.isascii() and value.isalnum()


def id_token_verify(channel: Channel, id_token: str) -> LineLogin:
    """The LINE user behind `id_token`, as LINE vouches for it.

    Raises IdTokenRejected when LINE (or our own check of its answer) refuses the token, and a
    transient ChannelError when LINE cannot be asked right now.
    """
    if not channel.login_channel_id:
        raise ChannelError(f"channel {channel.slug} has no LINE Login channel", permanent=True)
    if not id_token or len(id_token) > MAX_ID_TOKEN or not _jwt_shaped(id_token):
        raise IdTokenRejected("malformed")  # never worth asking LINE about
    try:
        response = httpx.post(
            f"{settings.LINE_API_HOST.rstrip('/')}/oauth2/v2.1/verify",
            data={"id_token": id_token, "client_id": channel.login_channel_id},
            timeout=settings.LINE_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        logger.warning("LINE Login verify unreachable: %s", type(exc).__name__)
        raise ChannelError("LINE Login verify unreachable") from None
    if response.status_code == 400:
        raise IdTokenRejected(_error_description(response))
    if response.status_code != 200:
        logger.warning("LINE Login verify answered %s", response.status_code)
        raise ChannelError(f"LINE Login verify answered {response.status_code}", status=response.status_code)
    try:
        claims = response.json()
    except ValueError:
        raise ChannelError("LINE Login verify answered something other than JSON") from None
    if not isinstance(claims, dict):
        raise ChannelError("LINE Login verify answered something other than an object")
    # LINE has checked all this; a second look costs nothing and guards against a wrong host.
    if claims.get("aud") != channel.login_channel_id:
        raise IdTokenRejected("audience")
    if claims.get("iss") != ISSUER:
        raise IdTokenRejected("issuer")
    expires_at = claims.get("exp")
    if not isinstance(expires_at, int) or expires_at <= time.time():
        raise IdTokenRejected("expired")
    if not _valid_user_id(claims.get("sub")):
        raise IdTokenRejected("subject")
    name = claims.get("name")
    return LineLogin(
        user_id=claims["sub"], name=name[:100] if isinstance(name, str) else "", expires_at=expires_at
    )


def _error_description(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "rejected"
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("message") or "rejected")[:200]
    return "rejected"
