"""What every LIFF page shares: the channel it serves, its language, the SDK it loads, its headers.

LIFF pages are the residents' own (pretix's presale to the console's control): large text, one
tap per choice, plain Japanese (やさしい日本語 and English too), and no staff session involved.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import urlencode

from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident

# LINE's LIFF SDK, loaded from LINE in production.
LINE_SDK = "https://static.line-scdn.net/liff/edge/2/sdk.js"
LINE_API_HOST = "https://api.line.me"
# The languages the pages are written in; a resident of another language reads English.
PAGE_LANGUAGES = [("ja", "日本語"), ("ja-easy", "やさしい にほんご"), ("en", "English")]


def sdk_url() -> str:
    """LINE's SDK against LINE; linesim's stand-in (which plays the LINE app) against linesim."""
    if settings.LIFF_SDK_URL:
        return str(settings.LIFF_SDK_URL)
    host = settings.LINE_API_HOST.rstrip("/")
    return LINE_SDK if host == LINE_API_HOST else f"{host}/liff/sdk.js"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _from_line(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "line-scdn.net" or host.endswith(".line-scdn.net")


def content_security_policy() -> tuple[str, bool]:
    """The pages' CSP, and whether another site may frame them.

    LINE's SDK talks to LINE's hosts, and LINE opens pages in its own browser (never a frame).
    A stand-in SDK is linesim's: its phone page shows LIFF pages in a frame, as its web view.
    """
    sdk = sdk_url()
    if _from_line(sdk):
        connect, ancestors = "'self' https://*.line.me https://*.line-scdn.net", "'none'"
    else:
        connect, ancestors = "'self'", _origin(sdk)
    policy = (
        f"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' {_origin(sdk)}; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    return policy, ancestors != "'none'"


def liff_channel(slug: str) -> Channel | None:
    """The channel a page serves: named (`channel=`), else the first with a LIFF app."""
    channels = Channel.objects.filter(is_active=True).exclude(liff_id="").exclude(login_channel_id="")
    if slug:
        return channels.filter(slug=slug[:40]).first()
    return channels.order_by("pk").first()


def page_language(request: HttpRequest, resident: Resident | None) -> str:
    """The language chosen on the page, else the resident's, else Japanese."""
    languages = dict(PAGE_LANGUAGES)
    chosen = request.GET.get("lang") or request.POST.get("lang") or ""
    if chosen in languages:
        return chosen
    if resident is not None and resident.language:
        own = resident.reply_language
        return own if own in languages else "en"
    return "ja"


def _language_links(request: HttpRequest) -> list[dict[str, str]]:
    """The page again in each language (the channel it serves kept)."""
    links = []
    for code, label in PAGE_LANGUAGES:
        query = {"channel": request.GET.get("channel", ""), "lang": code}
        if not query["channel"]:
            del query["channel"]
        links.append({"code": code, "label": label, "url": f"{request.path}?{urlencode(query)}"})
    return links


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    language: str,
    channel: Channel | None,
    status: int = 200,
) -> HttpResponse:
    """A LIFF page in `language`, loading the SDK for `channel`'s LIFF app."""
    with translation.override(language):
        response = render(
            request,
            template,
            {
                **context,
                "page_language": language,
                "html_lang": "ja" if language == "ja-easy" else language,
                "page_languages": _language_links(request),
                "liff_sdk_url": sdk_url(),
                "channel": channel,
                "city": settings.MADOGUCHI_CITY_NAME,
            },
            status=status,
        )
    policy, framed = content_security_policy()
    response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a cache
    if framed:
        response.xframe_options_exempt = True
    return response
