"""Channel access tokens v2.1: issued from a signed JWT at linesim, cached, renewed."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from madoguchi.channels.base import ChannelError, Text, transport_for
from madoguchi.channels.line.models import OutboundRequest
from madoguchi.channels.line.tokens import token_for, tokens_refresh_expiring
from madoguchi.core.models import Channel

USER = "U" + "d" * 32


def test_a_v21_channel_gets_a_token_from_its_assertion_key_and_sends(sim, transactional_db, live_server):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    sim.http.post(
        "/_sim/channels",
        json={
            "channelId": "2000000777",
            "channelSecret": "counsel-secret",
            "webhookUrl": f"{live_server.url}/line/counsel/webhook",
            "publicKey": public_jwk,
            "kid": "kid-1",
        },
    ).raise_for_status()
    channel = Channel.objects.create(
        slug="counsel",
        name="相談",
        provider_channel_id="2000000777",
        channel_secret="counsel-secret",
        token_kind=Channel.TokenKind.V2_1,
        assertion_private_key=private_jwk,
        assertion_kid="kid-1",
    )
    sim.send(USER, {"type": "follow", "channel": "2000000777"})

    transport_for(channel).push(channel, user_id=USER, messages=[Text("v2.1 で送信")], dedupe_key="v21")
    assert OutboundRequest.objects.get().status == OutboundRequest.Status.SENT
    assert [m["text"] for m in sim.messages(USER)] == ["v2.1 で送信"]
    channel.refresh_from_db()
    first = channel.access_token
    assert first and channel.access_token_expires_at > timezone.now() + timedelta(days=6)
    assert token_for(channel) == first  # cached, not issued again

    Channel.objects.filter(pk=channel.pk).update(
        access_token_expires_at=timezone.now() + timedelta(minutes=5)
    )
    tokens_refresh_expiring()
    channel.refresh_from_db()
    assert channel.access_token != first  # renewed before it expired


def test_a_wrong_key_is_a_permanent_failure(sim, transactional_db):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sim.http.post(
        "/_sim/channels",
        json={
            "channelId": "2000000778",
            "channelSecret": "s",
            "webhookUrl": "http://127.0.0.1:9/none",
            "publicKey": json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other.public_key())),
            "kid": "kid-2",
        },
    ).raise_for_status()
    channel = Channel.objects.create(
        slug="bus",
        name="バス",
        provider_channel_id="2000000778",
        channel_secret="s",
        token_kind=Channel.TokenKind.V2_1,
        assertion_private_key=jwt.algorithms.RSAAlgorithm.to_jwk(key),
        assertion_kid="kid-2",
    )
    with pytest.raises(ChannelError) as refused:
        token_for(channel)
    assert refused.value.permanent and refused.value.status == 400
