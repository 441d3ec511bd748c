"""Reads of scenarios: the published version residents get, and the one a typed word starts."""

from __future__ import annotations

from madoguchi.chatbot.engine import normalise
from madoguchi.scenarios.models import ScenarioVersion

# A trigger inside a longer message starts the scenario only when the message is short: a long,
# precise question (台風で壊れた屋根の罹災証明書は?) is better answered by the FAQ.
TRIGGER_IN_MESSAGE_MAX = 20


def version_published(slug: str) -> ScenarioVersion | None:
    return (
        ScenarioVersion.objects.select_related("scenario")
        .filter(scenario__slug=slug[:50], scenario__is_active=True, status=ScenarioVersion.Status.PUBLISHED)
        .first()
    )


def version_triggered_by(text: str, *, disaster_only: bool = False) -> ScenarioVersion | None:
    """The published version whose scenario a resident's words start: an exact trigger first,
    then a trigger contained in a short message (the longest trigger wins). `disaster_only`:
    among disaster scenarios only (disaster mode tries those first)."""
    typed = normalise(text)
    if not typed:
        return None
    versions = ScenarioVersion.objects.select_related("scenario").filter(
        scenario__is_active=True, status=ScenarioVersion.Status.PUBLISHED
    )
    if disaster_only:
        versions = versions.filter(scenario__is_disaster=True)
    best: tuple[int, int, ScenarioVersion] | None = None
    for version in versions.order_by("scenario_id"):
        for trigger in version.scenario.triggers:
            word = normalise(str(trigger))
            if not word:
                continue
            if typed == word:
                rank = (2, len(word))
            elif word in typed and len(typed) <= TRIGGER_IN_MESSAGE_MAX:
                rank = (1, len(word))
            else:
                continue
            if best is None or rank > best[:2]:
                best = (*rank, version)
    return best[2] if best else None
