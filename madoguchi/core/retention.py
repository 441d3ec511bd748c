"""Retention: every kind of personal data Madoguchi keeps, how long, and the purge that enforces it.

One list, so the IT section can read in one place what is kept and for how long. Feature apps
that keep personal data (consultations, report photos) add their kind here when they arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    name: str
    setting: str  # the setting holding the number of days
    purge: str  # dotted path of a function(cutoff) -> number removed


RETENTION: list[Kind] = [
    Kind(
        "inbound events (webhook payloads)",
        "RETAIN_INBOUND_EVENTS_DAYS",
        "madoguchi.channels.line.inbound.events_purge_before",
    ),
    Kind(
        "outbound requests (messages sent)",
        "RETAIN_OUTBOUND_REQUESTS_DAYS",
        "madoguchi.channels.line.client.requests_purge_before",
    ),
    Kind(
        "counseling conversations (after they closed)",
        "RETAIN_COUNSELING_DAYS",
        "madoguchi.inbox.services.counseling_purge_before",
    ),
    Kind(
        "inquiry conversations and residents' images (after they closed)",
        "RETAIN_INBOX_DAYS",
        "madoguchi.inbox.services.inquiries_purge_before",
    ),
    Kind(
        "photos of defect reports (after they closed)",
        "RETAIN_REPORT_PHOTOS_DAYS",
        "madoguchi.reports.services.photos_purge_before",
    ),
    Kind(
        "粗大ごみ bookings' name, address and phone (after the collection day)",
        "RETAIN_BULKY_DAYS",
        "madoguchi.bulky.services.bookings_purge_before",
    ),
    Kind("audit entries", "RETAIN_AUDIT_DAYS", "madoguchi.core.audit.audit_purge_before"),
]


def retention_purge(now: datetime | None = None) -> dict[str, int]:
    """Periodic (daily): remove what is older than its retention period."""
    now = now or timezone.now()
    removed = {}
    for kind in RETENTION:
        cutoff = now - timedelta(days=getattr(settings, kind.setting))
        purge: Callable[[datetime], int] = import_string(kind.purge)
        removed[kind.name] = purge(cutoff)
    logger.info("retention purge: %s", removed)
    return removed
