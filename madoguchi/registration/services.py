"""Registration's own writes and sends (the registration itself is residents.resident_register)."""

from __future__ import annotations

import secrets

from django.utils import translation

from madoguchi.channels.base import transport_for
from madoguchi.registration import messages
from madoguchi.residents.models import Resident


def registration_confirm_later(resident: Resident) -> None:
    """After a registration made outside the chat (the LIFF form): the bot confirms it in LINE.

    Enqueued in the caller's transaction (the task is a row of the same database), so it is sent
    once the registration is saved, and never for one that was rolled back.
    """
    from madoguchi.registration.tasks import confirm_registration

    confirm_registration.enqueue(resident.pk, secrets.token_hex(8))


def registration_confirm(resident_id: int, key: str) -> None:
    """Worker: push the confirmation. `key` names this registration, so a retry sends nothing twice."""
    resident = Resident.objects.select_related("channel", "district").get(pk=resident_id)
    if resident.status != Resident.Status.ACTIVE or resident.anonymised_at is not None:
        return  # not a friend (now): LINE would not deliver it
    with translation.override(resident.reply_language):
        confirmation = messages.confirmation(resident)
    transport_for(resident.channel).push(
        resident.channel,
        user_id=resident.line_user_id,
        messages=confirmation,
        dedupe_key=f"registration:{resident.pk}:{key}",
    )
