"""Shelters in the conversation: 避難所 → the hazard at hand (quick replies) → a location (LINE's
location picker) or a district → the nearest OPEN sites designated for that hazard.

Entry points other parts (the rich menu, the disaster menu, scenarios) can point at:
- postback `disaster.shelters` (also the words 避難所, 避難場所, 近くの避難所 …): ask the hazard;
- postback `disaster.hazard&h=<code>`: skip to the place for a hazard (hazards.HAZARDS codes).

The words sit at the dispatcher's scenario stage (after staff's keywords, before the FAQ, whose
general 避難所 entry cannot say which site is open). Between the hazard and the place the resident
is in the "shelters" flow, whose `data` holds the hazard.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.channels.base import Text
from madoguchi.chatbot.flows import flow_end, flow_start
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import (
    Answer,
    Turn,
    postback_action,
    postback_batch_action,
    register_flow,
    register_matcher,
)
from madoguchi.disaster import messages, safety
from madoguchi.disaster.hazards import Hazard, hazard_named
from madoguchi.disaster.models import SafetyAnswer, SafetyConfirmation, Shelter
from madoguchi.disaster.selectors import districts_with_shelters, shelters_in_district, shelters_nearest
from madoguchi.disaster.services import safety_answers_record
from madoguchi.inbox.models import Conversation
from madoguchi.inbox.services import conversation_open
from madoguchi.residents.models import District

FLOW_NAME = "shelters"
WORDS = {
    "避難所",
    "避難場所",
    "避難所を探す",
    "避難所をさがす",
    "近くの避難所",
    "避難所はどこ",
    "避難所どこ",
    "避難所を教えて",
    "ひなんじょ",
    "shelter",
    "shelters",
    "evacuation",
}


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split()).rstrip("?？。!！")


def start(turn: Turn) -> Answer:
    with translation.override(turn.resident.reply_language):
        if not Shelter.objects.filter(is_active=True).exists():
            return messages.none_imported()
        return messages.hazard_prompt()


def shelter_words(turn: Turn) -> Answer | None:
    raw = turn.raw_text or ""
    if not raw or len(raw) > 30 or _fold(raw) not in WORDS:
        return None
    return start(turn)


register_matcher("scenario", shelter_words)


@postback_action(messages.START)
def start_action(turn: Turn, params: dict[str, str]) -> Answer:
    return start(turn)


def _place_prompt(turn: Turn, hazard: Hazard) -> Answer:
    flow_start(turn.resident, FLOW_NAME, "place", {"h": hazard.code})
    language = turn.resident.reply_language
    with translation.override(language):
        return messages.place_prompt(hazard, list(districts_with_shelters()), language)


@postback_action(messages.HAZARD)
def choose_hazard(turn: Turn, params: dict[str, str]) -> Answer:
    hazard = hazard_named(params.get("h", "")[:20])
    if hazard is None:
        return start(turn)
    return _place_prompt(turn, hazard)


def _district_answer(turn: Turn, hazard: Hazard, district: District) -> Answer:
    flow_end(turn.resident)
    language = turn.resident.reply_language
    with translation.override(language):
        search = shelters_in_district(district=district, hazard=hazard.code)
        where = _("%(district)s の") % {"district": district.name_in(language)}
        return messages.search_answer(search, hazard, where=where)


@postback_action(messages.DISTRICT)
def choose_district(turn: Turn, params: dict[str, str]) -> Answer:
    hazard = hazard_named(params.get("h", "")[:20])
    district = District.objects.filter(code=params.get("d", "")[:20]).first()
    if hazard is None:
        return start(turn)
    if district is None:
        return _place_prompt(turn, hazard)
    return _district_answer(turn, hazard, district)


class ShelterFlow:
    """chatbot.registry.Flow: waiting for the place (a location, or a district's name typed)."""

    name = FLOW_NAME

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        hazard = hazard_named(str((state.data or {}).get("h", "")))
        if hazard is None:
            flow_end(turn.resident)
            return start(turn)
        location = turn.location
        if location is not None:
            return self.location(turn, hazard, location)
        typed = _fold(turn.raw_text or "")
        if typed:
            language = turn.resident.reply_language
            for district in districts_with_shelters():
                names = {_fold(district.name), _fold(district.name_in(language)), district.code.lower()}
                if typed in names:
                    return _district_answer(turn, hazard, district)
            if typed in WORDS:
                flow_end(turn.resident)
                return start(turn)
        with translation.override(turn.resident.reply_language):
            return [
                Text(_("避難所を探す場所を、位置情報か地区で教えてください。")),
                *messages.place_prompt(hazard, list(districts_with_shelters()), turn.resident.reply_language),
            ]

    def location(self, turn: Turn, hazard: Hazard, location: dict[str, object]) -> Answer:
        try:
            latitude = float(location.get("latitude"))  # type: ignore[arg-type]
            longitude = float(location.get("longitude"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            latitude = longitude = float("nan")
        with translation.override(turn.resident.reply_language):
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                return [
                    messages.location_unreadable(),
                    *messages.place_prompt(
                        hazard, list(districts_with_shelters()), turn.resident.reply_language
                    ),
                ]
            flow_end(turn.resident)
            search = shelters_nearest(latitude=latitude, longitude=longitude, hazard=hazard.code)
            return messages.search_answer(search, hazard, where="")


register_flow(ShelterFlow())


# Safety confirmation (安否確認): the answer buttons' postbacks.


def _answered_at(turn: Turn) -> datetime:
    """When the resident tapped (LINE's event timestamp), so the latest tap wins even when
    events are processed out of order; now when the event has none."""
    stamp = turn.payload.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
        try:
            return datetime.fromtimestamp(stamp / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return timezone.now()


@postback_action(safety.ANSWER)
def safety_answer(turn: Turn, params: dict[str, str]) -> Answer:
    """Record the answer (the latest wins) and acknowledge it. A button of a confirmation that
    was not sent to this resident, an unknown answer or a closed confirmation is refused."""
    return safety_answers([(turn, params)])[0]


@postback_batch_action(safety.ANSWER)
def safety_answers(turns: list[tuple[Turn, dict[str, str]]]) -> list[Answer]:
    """`safety_answer` for a burst of answers: the confirmations read once, the answers kept in
    one statement, one acknowledgement each (in the resident's language)."""
    wanted = {int(pk) for _turn, params in turns if (pk := params.get("c", "")).isdigit() and len(pk) < 12}
    confirmations = SafetyConfirmation.objects.in_bulk(wanted)
    kept: list[tuple[SafetyConfirmation, Any, str, datetime]] = []
    helped: list[tuple[Turn, SafetyConfirmation]] = []
    answered: list[Answer] = []
    for turn, params in turns:
        pk, status = params.get("c", ""), params.get("s", "")
        confirmation = confirmations.get(int(pk)) if pk.isdigit() and len(pk) < 12 else None
        with translation.override(turn.resident.reply_language):
            if (
                confirmation is None
                or status not in SafetyAnswer.Status.values
                or not safety.addressed_to(confirmation, turn.resident)
            ):
                answered.append([Text(_("このボタンは受け付けられませんでした。"))])
                continue
            if confirmation.status != SafetyConfirmation.Status.OPEN:
                answered.append([Text(_("この安否確認の受付は終了しました。"))])
                continue
            kept.append((confirmation, turn.resident, status, _answered_at(turn)))
            if status == SafetyAnswer.Status.HELP:
                helped.append((turn, confirmation))
            answered.append(_acknowledgement(status))
    safety_answers_record(kept)
    for turn, confirmation in helped:
        conversation_open(
            turn.resident,
            origin=Conversation.Origin.FEATURE,
            topic=f"安否確認: 支援が必要 ({confirmation.title})",
        )
    return answered


def _acknowledgement(status: str) -> Answer:
    if status == SafetyAnswer.Status.SAFE:
        return [Text(_("「無事」と受け付けました。お知らせいただきありがとうございます。"))]
    if status == SafetyAnswer.Status.HELP:
        return [
            Text(
                _(
                    "「支援が必要」と受け付けました。市の職員が確認し、このトークでご連絡します。"
                    "状況(けが、場所、必要なもの)をこのトークに書いて送ってください。\n"
                    "命に関わるときは、すぐに 119 番(消防・救急)か 110 番(警察)へ電話してください。"
                )
            )
        ]
    return [
        Text(
            _(
                "「家族と連絡が取れない」と受け付けました。\n"
                "災害用伝言ダイヤル: 171 に電話し、案内に従って録音(1)・再生(2)できます。\n"
                "災害用伝言板(web171): https://www.web171.jp/ でも伝言を残し、確かめられます。\n"
                "携帯電話各社の災害用伝言板も使えます。"
            )
        )
    ]
