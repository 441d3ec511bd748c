"""Channel access tokens: the long-lived one staff entered, or v2.1 tokens issued on demand.

A v2.1 token is issued with a JWT signed by the channel's assertion key (RS256, its `kid` in
the header) and cached, encrypted, on the Channel until shortly before it expires.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings
from django.utils import timezone
from linebot.v3.oauth import ApiClient, ChannelAccessToken, Configuration
from linebot.v3.oauth.exceptions import ApiException

from madoguchi.channels.base import ChannelError
from madoguchi.core.models import Channel

# A token is renewed when less than this is left, so no call goes out with a dying token.
RENEW_BEFORE = timedelta(minutes=30)
# Lifetime asked for a v2.1 token (LINE allows up to 30 days).
V21_TOKEN_SECONDS = 7 * 24 * 60 * 60


def _assertion(channel: Channel) -> str:
    if not channel.assertion_private_key or not channel.assertion_kid:
        raise ChannelError(
            f"channel {channel.slug} uses v2.1 tokens but has no assertion key", permanent=True
        )
    key = jwt.algorithms.RSAAlgorithm.from_jwk(channel.assertion_private_key)
    if not isinstance(key, RSAPrivateKey):
        raise ChannelError(f"channel {channel.slug}'s assertion key is not a private RSA key", permanent=True)
    now = int(time.time())
    claims = {
        "iss": channel.provider_channel_id,
        "sub": channel.provider_channel_id,
        "aud": "https://api.line.me/",
        "exp": now + 30 * 60,
        "token_exp": V21_TOKEN_SECONDS,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": channel.assertion_kid, "typ": "JWT"})


def token_issue_v21(channel: Channel) -> str:
    """Issue a fresh v2.1 token and keep it on the channel."""
    configuration = Configuration(host=settings.LINE_API_HOST)
    with ApiClient(configuration) as api_client:
        try:
            issued = ChannelAccessToken(api_client).issue_channel_token_by_jwt(
                grant_type="client_credentials",
                client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                client_assertion=_assertion(channel),
            )
        except ApiException as exc:
            permanent = exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
            raise ChannelError(
                f"issuing a v2.1 token failed with HTTP {exc.status}",
                permanent=permanent,
                status=exc.status,
            ) from None
    channel.access_token = issued.access_token
    channel.access_token_expires_at = timezone.now() + timedelta(seconds=issued.expires_in)
    channel.save(update_fields=["access_token", "access_token_expires_at"])
    return issued.access_token


def token_for(channel: Channel) -> str:
    """The access token to call LINE with now."""
    if channel.token_kind == Channel.TokenKind.LONG_LIVED:
        if not channel.access_token:
            raise ChannelError(f"channel {channel.slug} has no access token", permanent=True)
        return channel.access_token
    expires_at = channel.access_token_expires_at
    if channel.access_token and expires_at and expires_at - timezone.now() > RENEW_BEFORE:
        return channel.access_token
    return token_issue_v21(channel)


def tokens_refresh_expiring() -> None:
    """Periodic: renew v2.1 tokens before they expire, so no send waits for one."""
    soon = timezone.now() + RENEW_BEFORE * 2
    for channel in Channel.objects.filter(is_active=True, token_kind=Channel.TokenKind.V2_1):
        if channel.access_token_expires_at is None or channel.access_token_expires_at < soon:
            token_issue_v21(channel)


def describe_key(jwk_json: str) -> str:
    """The public half of an assertion key, as LINE's console asks for it."""
    private = json.loads(jwk_json)
    return json.dumps({k: private[k] for k in ("kty", "e", "n", "alg", "use") if k in private})
