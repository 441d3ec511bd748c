"""Who is on a LIFF page: a short signed session, begun only after LINE vouched for the resident.

The page sends the ID token the LIFF SDK gave it; the server has LINE verify it
(`channels.line.login.id_token_verify`) and then keeps, in a signed cookie, the channel and the
resident it found. Nothing the browser says about who it is (a user id in a form, a query) is
ever read. The cookie lives `LIFF_SESSION_SECONDS`, is limited to `/liff/`, and is dropped each
time LINE opens the LIFF app again (`views.index`), so a page always belongs to whoever opened it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident

COOKIE = "madoguchi_liff"
SALT = "madoguchi.liff.session"
PATH = "/liff/"


@dataclass(frozen=True)
class LiffVisitor:
    channel: Channel
    resident: Resident


def session_begin(response: HttpResponse, resident: Resident) -> None:
    value = signing.dumps({"c": resident.channel_id, "r": resident.pk, "u": resident.line_user_id}, salt=SALT)
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.LIFF_SESSION_SECONDS,
        path=PATH,
        secure=settings.SECURE_COOKIES,
        httponly=True,
        samesite="Lax",
    )


def session_end(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE, path=PATH, samesite="Lax")


def session_visitor(request: HttpRequest) -> LiffVisitor | None:
    """The resident this browser was verified as, or None (no, expired or tampered session; or a
    resident since anonymised, whose LINE user id is gone)."""
    value = request.COOKIES.get(COOKIE)
    if not value or len(value) > 1000:
        return None
    try:
        data: Any = signing.loads(value, salt=SALT, max_age=settings.LIFF_SESSION_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int | str) for k in ("c", "r", "u")):
        return None
    resident = (
        Resident.objects.select_related("channel", "district")
        .filter(pk=data["r"], channel_id=data["c"], line_user_id=data["u"], anonymised_at=None)
        .first()
    )
    if resident is None or not resident.channel.is_active:
        return None
    return LiffVisitor(channel=resident.channel, resident=resident)
