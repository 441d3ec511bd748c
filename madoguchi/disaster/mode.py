"""Disaster mode in the conversation: while the switch (richmenus.disaster_mode_set) is on, free
text is first tried against published scenarios marked `disaster: true` and FAQ entries of the
disaster categories (MADOGUCHI_DISASTER_FAQ_CATEGORIES), before staff's keywords, the other
scenarios and the rest of the FAQ. When neither fits, the turn goes on as usual.

It sits at the dispatcher's "priority" stage (after an active flow and words asking for a
person). One indexed read of the one-row DisasterMode per text turn.
"""

from __future__ import annotations

from django.conf import settings

from madoguchi.chatbot.registry import Answer, Turn, register_matcher
from madoguchi.faq.conversation import faq_answer
from madoguchi.richmenus.models import DisasterMode
from madoguchi.scenarios.runtime import scenario_start
from madoguchi.scenarios.selectors import version_triggered_by


def disaster_mode_on() -> bool:
    return DisasterMode.objects.filter(pk=1, is_on=True).exists()


def disaster_first(turn: Turn) -> Answer | None:
    if not turn.raw_text or not turn.raw_text.strip() or turn.postback_data is not None:
        return None
    if not disaster_mode_on():
        return None
    version = version_triggered_by(turn.raw_text[:200], disaster_only=True)
    if version is not None:
        return scenario_start(turn, version)
    categories = frozenset(settings.MADOGUCHI_DISASTER_FAQ_CATEGORIES)
    return faq_answer(turn, categories=categories) if categories else None


register_matcher("priority", disaster_first)
