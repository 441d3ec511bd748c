"""The FAQ index the bot asks, built from the database and rebuilt when entries change."""

from __future__ import annotations

import threading

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from madoguchi.faq.matcher import Doc, FaqIndex, Synonyms
from madoguchi.faq.models import FaqEntry, Synonym
from madoguchi.faq.synonyms import DEFAULTS

_lock = threading.Lock()
_cached: tuple[tuple[object, ...], FaqIndex] | None = None


def live_queryset() -> QuerySet[FaqEntry]:
    """Entries the bot may show today: active and within 掲載開始日・掲載終了日."""
    today = timezone.localdate()
    return (
        FaqEntry.objects.filter(is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    )


def live_entries() -> list[FaqEntry]:
    return list(live_queryset())


def _version() -> tuple[object, ...]:
    entries = FaqEntry.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    synonyms = Synonym.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    # The date matters too: entries start and stop being shown by date.
    return (entries["n"], entries["at"], synonyms["n"], synonyms["at"], timezone.localdate())


def current_index() -> FaqIndex:
    """The index of the live entries; one small query to see whether it is still current."""
    global _cached
    version = _version()
    if _cached is not None and _cached[0] == version:
        return _cached[1]
    with _lock:
        if _cached is None or _cached[0] != version:
            docs = [
                Doc(e.external_id, e.question, tuple(e.variants), e.category, e.answer)
                for e in live_entries()
            ]
            pairs = list(DEFAULTS) + [
                (s.term, s.means.split()) for s in Synonym.objects.filter(is_active=True)
            ]
            _cached = (version, FaqIndex(docs, Synonyms(pairs), home_places=settings.MADOGUCHI_CITY_PLACES))
        return _cached[1]
