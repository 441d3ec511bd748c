"""The webhook: signatures, storage once per event, hostile input, LINE's own samples."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from madoguchi.channels.line.models import InboundEvent
from madoguchi.residents.models import Resident
from tests.conftest import post_webhook, run_tasks, sign

SAMPLES = Path(__file__).parent.parent / "fixtures" / "line-webhook-samples" / "webhook.json"


def nothing_stored() -> bool:
    return (
        not InboundEvent.objects.exists()
        and not DBTaskResult.objects.exists()
        and not Resident.objects.exists()
    )


def text_event(text: str = "粗大ごみ", event_id: str | None = None) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1_760_000_000_000,
        "source": {"type": "user", "userId": "U" + "1" * 32},
        "webhookEventId": event_id or uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "x" * 32,
        "message": {"id": "1", "type": "text", "text": text, "quoteToken": "q"},
    }


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", sign(b"another body"), sign(b'{"events": []}', "wrong-secret")],
    ids=["missing", "empty", "garbage", "other-body", "wrong-secret"],
)
def test_forged_or_missing_signature_is_refused_and_leaves_nothing(live_server, channel, signature):
    body = json.dumps({"destination": "U0", "events": [text_event()]}).encode()
    response = post_webhook(f"{live_server.url}/line/main/webhook", body, signature=signature)
    assert response.status_code == 401
    assert nothing_stored()


def test_signature_is_checked_on_the_raw_bytes(live_server, channel):
    # The same JSON re-serialised differently has a different signature: we must not re-encode.
    raw = b'{"destination":"U0",  "events":[]}'
    assert post_webhook(f"{live_server.url}/line/main/webhook", raw).status_code == 200
    forged = post_webhook(
        f"{live_server.url}/line/main/webhook", raw, signature=sign(b'{"destination":"U0","events":[]}')
    )
    assert forged.status_code == 401


def test_empty_events_answer_200_and_store_nothing(live_server, channel):
    # LINE's console "Verify" button sends exactly this.
    response = post_webhook(f"{live_server.url}/line/main/webhook", {"destination": "U0", "events": []})
    assert response.status_code == 200
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"events": {"type": "follow"}}', 400),
        (b'{"events": ["follow"]}', 400),
        (b'{"destination": "U0"}', 400),
        ("\udcff".encode("utf-8", "surrogatepass"), 400),
    ],
    ids=["not-json", "array", "events-object", "events-strings", "no-events", "bad-utf8"],
)
def test_signed_but_malformed_bodies_get_400_and_leave_nothing(live_server, channel, body, status):
    assert post_webhook(f"{live_server.url}/line/main/webhook", body).status_code == status
    assert nothing_stored()


def test_oversized_body_is_refused(live_server, channel, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    body = json.dumps({"events": [text_event("あ" * 2000)]}).encode()
    assert post_webhook(f"{live_server.url}/line/main/webhook", body).status_code == 413
    assert nothing_stored()


def test_unknown_or_inactive_channel_is_404(live_server, channel):
    body = {"events": [text_event()]}
    assert post_webhook(f"{live_server.url}/line/nosuch/webhook", body).status_code == 404
    channel.is_active = False
    channel.save()
    assert post_webhook(f"{live_server.url}/line/main/webhook", body).status_code == 404
    assert nothing_stored()


def test_get_is_not_allowed(live_server, channel):
    import httpx

    assert httpx.get(f"{live_server.url}/line/main/webhook").status_code == 405


def test_odd_events_are_stored_not_rejected(live_server, channel):
    odd = [
        {"type": "brandNewType", "webhookEventId": "01ODD", "timestamp": "yesterday", "extra": {"a": [1]}},
        {"type": "message", "source": "nope", "message": {"type": "text", "text": 42}},  # no id at all
        {"type": "follow", "webhookEventId": "x" * 500, "source": {"type": "user", "userId": "U" + "9" * 32}},
        {
            "type": "message\u0000",
            "webhookEventId": "01NUL\u0000",
            "source": {"type": "user", "userId": "U\u0000"},
        },
    ]
    response = post_webhook(f"{live_server.url}/line/main/webhook", {"destination": "U0", "events": odd})
    assert response.status_code == 200
    assert InboundEvent.objects.count() == 4
    stored = InboundEvent.objects.get(webhook_event_id="01ODD")
    assert stored.payload["extra"] == {"a": [1]}  # unknown fields kept as LINE sent them
    assert stored.event_type == "brandNewType"


def test_the_same_event_posted_twice_is_stored_once(live_server, channel):
    event = text_event(event_id="01SAMEEVENT")
    url = f"{live_server.url}/line/main/webhook"
    assert post_webhook(url, {"events": [event]}).status_code == 200
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert post_webhook(url, {"events": [redelivered, redelivered]}).status_code == 200
    assert InboundEvent.objects.count() == 1
    assert InboundEvent.objects.get().status == InboundEvent.Status.QUEUED  # waits once, for a worker


def test_every_sdk_webhook_sample_is_accepted_and_stored(sim, channel, live_server):
    samples = json.loads(SAMPLES.read_text())
    # The file as the SDK ships it: one envelope, 28 events, all with one placeholder id.
    assert sim.http.post("/_sim/webhook", json={"body": samples}).json()["status"] == 200
    InboundEvent.objects.all().delete()
    # Each event on its own, with the unique id LINE would give it.
    for number, event in enumerate(samples["events"]):
        event = {**event, "webhookEventId": f"01SAMPLE{number:018d}"}
        answer = sim.http.post(
            "/_sim/webhook", json={"body": {"destination": samples["destination"], "events": [event]}}
        )
        assert answer.json()["status"] == 200, event["type"]
    stored = InboundEvent.objects.order_by("webhook_event_id")
    assert [row.event_type for row in stored] == [event["type"] for event in samples["events"]]
    assert {"messageEdited", "undefined"} <= {row.event_type for row in stored}
    run_tasks()
    # Processed: none left waiting; the samples' users are unknown to LINE, so a failure to
    # answer is recorded on the event, never lost.
    assert not InboundEvent.objects.filter(status__in=["queued", "processing", "retrying"]).exists()
