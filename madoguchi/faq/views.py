"""The FAQ's public pictures: what LINE fetches to show an entry's image to residents."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from madoguchi.faq.images import EXTENSIONS
from madoguchi.faq.models import FaqImage


def _served(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    # The URL changes with every upload, so what was fetched once never changes.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_safe
def image(request: HttpRequest, key: str, ext: str) -> HttpResponse:
    shown = FaqImage.objects.filter(key=key[:40]).only("data", "content_type").first()
    if shown is None or EXTENSIONS.get(shown.content_type) != ext:
        raise Http404
    return _served(bytes(shown.data), shown.content_type)


@require_safe
def image_preview(request: HttpRequest, key: str) -> HttpResponse:
    shown = FaqImage.objects.filter(key=key[:40]).only("preview").first()
    if shown is None:
        raise Http404
    return _served(bytes(shown.preview), "image/jpeg")
