"""`POST /line/<channel>/webhook`: where LINE posts events.

The signature is checked on the raw bytes, in constant time, before anything is parsed or
stored. The view only stores (one INSERT: the stored events are the workers' queue); answering a
resident happens in a worker, so LINE gets its 200 well inside its 2-second limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from madoguchi.channels.line.inbound import events_store
from madoguchi.core.models import Channel

logger = logging.getLogger(__name__)


def signature_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.encode())


# Each web process keeps channel secrets it has read for a short while: the webhook is the hottest
# path and a channel changes rarely. A changed secret takes effect within this many seconds.
SECRET_CACHE_SECONDS = 30
_secrets: dict[str, tuple[float, int, str, bool]] = {}


def _channel_secret(slug: str) -> tuple[int, str, bool] | None:
    """(channel id, secret, is confidential) of an active LINE channel, or None."""
    cached = _secrets.get(slug)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2], cached[3]
    row = (
        Channel.objects.filter(slug=slug, kind=Channel.Kind.LINE, is_active=True)
        .values_list("pk", "channel_secret", "is_confidential")
        .first()
    )
    if row is None:
        _secrets.pop(slug, None)
        return None
    _secrets[slug] = (time.monotonic() + SECRET_CACHE_SECONDS, row[0], row[1], row[2])
    return row


def channel_cache_clear(**kwargs: object) -> None:
    """Forget cached secrets (connected to Channel saves and deletes in this process)."""
    _secrets.clear()


def _refuse(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, channel_slug: str) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "bad Content-Length")
    if length > settings.WEBHOOK_MAX_BODY_BYTES:
        return _refuse(413, "body too large")
    found = _channel_secret(channel_slug)
    if found is None:
        return _refuse(404, "unknown channel")
    channel_id, secret, confidential = found
    signature = request.headers.get("x-line-signature", "")
    body = request.body
    if not signature or not signature_valid(secret, body, signature):
        # Never log the body: it may be a resident's message to a counselor.
        logger.warning("webhook for %s refused: bad signature", channel_slug)
        return _refuse(401, "invalid signature")
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "body is not JSON")
    events = envelope.get("events") if isinstance(envelope, dict) else None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return _refuse(400, "events must be a list of objects")
    if events:
        events_store(channel_id, events, confidential=confidential)
    return HttpResponse(status=200)
