"""Safety confirmation (安否確認): what residents receive, who it reaches, and the answers.

A confirmation goes out as an emergency delivery through madoguchi.messaging (batches of 500,
retry keys, crash-resume, rate limits, emergencies first), narrowed by the recipient filter
"safety:<id>" (its districts) or "safety:<id>:pending" (those who have not answered: the re-ask).
Answers are postbacks `safety.answer&c=<id>&s=<status>` (conversation.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.chatbot.registry import postback_data
from madoguchi.disaster.models import SafetyAnswer, SafetyConfirmation
from madoguchi.messaging.segments import reachable_residents
from madoguchi.residents.models import Resident

ANSWER = "safety.answer"
FILTER = "safety"
# The content's languages: Japanese first (required), English for residents who chose it.
LANGUAGES = ("ja", "en")


def status_label(status: str) -> str:
    return {
        SafetyAnswer.Status.SAFE: _("無事"),
        SafetyAnswer.Status.HELP: _("支援が必要"),
        SafetyAnswer.Status.FAMILY: _("家族と連絡が取れない"),
    }[SafetyAnswer.Status(status)]


def _variant(confirmation: SafetyConfirmation, *, again: bool) -> dict[str, Any]:
    actions = [
        {
            "label": status_label(status),
            "data": postback_data(ANSWER, c=str(confirmation.pk), s=status),
            "display_text": status_label(status),
        }
        for status in SafetyAnswer.Status.values
    ]
    head = _("【安否確認・再送】") if again else _("【安否確認】")
    text = _(
        "%(head)s%(title)s\nみなさまの安否を確認しています。下のボタンから、いまの状況をお知らせください。"
    ) % {"head": head, "title": confirmation.title}
    return {
        "messages": [
            {"type": "text", "text": text},
            {"type": "buttons", "text": _("いまの状況を選んでください。"), "actions": actions},
        ],
        "quick_replies": actions,
    }


def safety_content(confirmation: SafetyConfirmation, *, again: bool = False) -> dict[str, Any]:
    """Delivery content (messaging.content) with the three answers as buttons and quick replies."""
    content = {}
    for language in LANGUAGES:
        with translation.override(language):
            content[language] = _variant(confirmation, again=again)
    return content


def safety_recipients(confirmation: SafetyConfirmation, residents: QuerySet[Resident] | None = None) -> Any:
    """The friends a confirmation is addressed to, evaluated when used (as segments are): not
    blocked, not anonymised, in its districts (if any)."""
    if residents is None:
        residents = reachable_residents(confirmation.channel)
    if confirmation.district_ids:
        residents = residents.filter(district_id__in=confirmation.district_ids)
    return residents


def safety_pending(confirmation: SafetyConfirmation, residents: QuerySet[Resident] | None = None) -> Any:
    """Recipients who have not answered."""
    answered = SafetyAnswer.objects.filter(confirmation=confirmation, resident_id=OuterRef("pk"))
    return safety_recipients(confirmation, residents).filter(~Exists(answered))


def recipient_filter(argument: str, residents: QuerySet[Resident]) -> Any:
    """messaging.sending.RECIPIENT_FILTERS["safety"]: "<id>" or "<id>:pending"."""
    pk, _sep, which = argument.partition(":")
    confirmation = SafetyConfirmation.objects.filter(pk=int(pk) if pk.isdigit() else 0).first()
    if confirmation is None:
        return residents.none()
    if which == "pending":
        return safety_pending(confirmation, residents)
    return safety_recipients(confirmation, residents)


def addressed_to(confirmation: SafetyConfirmation, resident: Resident) -> bool:
    """Was this confirmation sent to this resident (same channel, one of its districts)?"""
    if resident.channel_id != confirmation.channel_id:
        return False
    return not confirmation.district_ids or resident.district_id in confirmation.district_ids
