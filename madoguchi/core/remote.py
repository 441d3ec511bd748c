"""Who is on the other end of a request: the client's address, and a brake on one address that
keeps failing."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind our own TLS proxy (MADOGUCHI_BEHIND_TLS_PROXY) REMOTE_ADDR is
    the proxy; the client is the last X-Forwarded-For entry, the one the proxy added (entries
    before it are whatever the client claimed)."""
    if settings.MADOGUCHI_BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:45]
    return request.META.get("REMOTE_ADDR")


class FailureBrake:
    """At most `limit` failures per client address in `window` seconds; past that, the caller
    refuses before doing the costly or outward part (counted per process, in Django's cache)."""

    def __init__(self, name: str, *, limit: int, window: int):
        self.name, self.limit, self.window = name, limit, window

    def _key(self, request: HttpRequest) -> str:
        return f"madoguchi:brake:{self.name}:{client_ip(request) or '-'}"

    def engaged(self, request: HttpRequest) -> bool:
        return int(cache.get(self._key(request), 0)) >= self.limit

    def failed(self, request: HttpRequest) -> None:
        key = self._key(request)
        if not cache.add(key, 1, self.window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, self.window)
