"""The dispatcher: what a resident's event means, and the answer.

Routing order (docs/architecture.md): urgent matchers (crisis words) → a postback action
registered by a feature app → an open conversation with staff (the bot keeps quiet) → the
resident's active flow → words asking for a person → priority matchers (disaster mode's
scenarios and FAQ) → a staff-defined keyword → a
scenario's trigger word → FAQ matching → a
friendly fallback, which hands the resident to a person after a streak of misses. Follow and
unfollow are handled before routing; a confidential channel's turns all go to its handler.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import translation

from madoguchi.channels.base import InboundEvent, OutboundMessage, Reply, Text, transport_for
from madoguchi.chatbot import answers
from madoguchi.chatbot.flows import flow_active, flow_end
from madoguchi.chatbot.models import Keyword, MissStreak
from madoguchi.chatbot.registry import (
    Turn,
    confidential_handler,
    flow_named,
    matchers,
    miss_counters,
    parse_postback,
    postback_batch_handler,
    postback_handler,
    welcomes,
)
from madoguchi.residents.models import Resident
from madoguchi.residents.services import (
    resident_follow,
    resident_get_or_create,
    resident_unfollow,
    residents_get_or_create,
)

logger = logging.getLogger(__name__)

CANCEL_WORDS = {"やめる", "やめます", "キャンセル", "中止", "cancel", "stop"}
# Typed requests for a person go where the 職員と話す button goes.
HANDOFF_WORDS = {
    "職員と話したい",
    "担当者と話したい",
    "人と話したい",
    "職員と話す",
    "オペレーター",
    "talk to staff",
}


def normalise(text: str) -> str:
    """Fold full-width/half-width forms and case; trim; so ＳＯＦＡ and sofa match."""
    return unicodedata.normalize("NFKC", text).strip().lower()


# Typed requests in the ways residents write them: who (担当者, 職員さん, 人, オペレーター, 係の人 …),
# then to talk, be put through or consult, and at most a short ending (したいです, つないで, 話せますか).
# The whole message must be the request: 担当課に電話したい or 人口を知りたい are the FAQ's.
_WHO = (
    r"(?:誰か|だれか)?(?:担当者|担当の(?:方|人|かた)|職員|係の(?:方|人|かた)|係員|窓口の(?:方|人)"
    r"|人間|人|ひと|オペレーター?|スタッフ|生身の人)"
)
_HANDOFF_PATTERN = re.compile(
    rf"{_WHO}(?:さん|の方|のかた)?(?:と|に|へ|を|で)?(?:直接|ちょくせつ)?"
    r"(?:話|はな|つな|繋|相談|そうだん|代わ|かわ|替わ|交代|チャット)(?P<rest>.*)"
)
_HANDOFF_ENGLISH = re.compile(
    r"(?:i (?:want|would like|need) to |can i |could i |let me |please )?(?:talk|speak|chat) (?:to|with) "
    r"(?:a |an |the )?(?:staff|person|human|operator|someone|somebody|real person)(?: please)?"
)
_POLITE_ENDINGS = (
    "のですが",
    "んですが",
    "んだけど",
    "お願いします",
    "おねがいします",
    "お願い",
    "ください",
    "下さい",
    "です",
    "ます",
    "ね",
    "よ",
)


def _folded(text: str) -> str:
    """NFKC, lower case, without spaces and punctuation (the long-vowel mark ー is a letter)."""
    return "".join(c for c in normalise(text) if unicodedata.category(c)[0] not in "PZSC")


_FOLDED_HANDOFF_WORDS = {_folded(word) for word in HANDOFF_WORDS}


def asks_for_a_person(text: str | None) -> bool:
    """Whether a typed message is a request to talk to a person (where 職員と話す goes)."""
    if not text:
        return False
    folded = _folded(text)
    if folded in _FOLDED_HANDOFF_WORDS:
        return True
    if len(folded) > 25:
        return False  # a longer message is a question, however it starts
    if _HANDOFF_ENGLISH.fullmatch(" ".join(re.sub(r"[^\w\s]", " ", normalise(text)).split())):
        return True
    stripped = folded
    for _ in range(3):  # したいのですがお願いします: endings stack
        for ending in _POLITE_ENDINGS:
            if stripped.endswith(ending) and len(stripped) > len(ending):
                stripped = stripped[: -len(ending)]
                break
    match = _HANDOFF_PATTERN.fullmatch(stripped)
    return match is not None and len(match["rest"]) <= 8


def dispatch(event: InboundEvent) -> None:
    """Handle one stored inbound event (called by the LINE integration's task)."""
    payload: dict[str, Any] = event.payload
    user_id = event.source_user_id
    if not user_id:
        return  # group or room events without a user: stored, nothing to answer
    channel = event.channel
    transport = transport_for(channel)
    if event.event_type == "unfollow":
        resident_unfollow(channel, user_id)
        return
    if event.event_type not in ("follow", "message", "postback"):
        return  # other types (join, beacon, messageEdited, unknown ...) are kept, not answered
    if event.event_type == "follow":
        profile = transport.get_profile(channel, user_id=user_id)
        resident = resident_follow(channel, user_id, profile)
    else:
        resident = resident_get_or_create(channel, user_id)
    turn = _turn(event, resident)
    with translation.override(resident.reply_language):
        if channel.is_confidential:
            # Counseling: nothing reaches keywords, flows or the FAQ (which keep what was said).
            turn.confidential = True
            handler = confidential_handler()
            messages = handler(turn) if handler is not None else answers.contact()
        elif event.event_type == "follow":
            messages = answers.greeting(resident.display_name)
            for welcome in welcomes():  # what feature apps offer a new friend (registration …)
                messages += welcome(turn)
        else:
            messages = route(turn)
    if turn.confidential:
        event.seal()
    if messages:
        transport.reply(
            channel,
            reply_token=payload.get("replyToken"),
            user_id=user_id,
            messages=messages[:5],
            dedupe_key=f"answer:{event.webhook_event_id}",
            received_at_ms=_received_at_ms(payload),
            confidential=turn.confidential,
        )


def dispatch_many(events: list[InboundEvent]) -> list[Exception | None]:
    """Handle a batch of stored events (the LINE integration's inbound loop): for each, None when
    it was handled, or the exception that stopped it (the caller tries it again later).

    Postbacks whose action has a batch handler (a burst of 安否確認 answers) are handled
    together: their residents read in one query, the handler called once, their answers sent with
    `Transport.reply_many`. Every other event goes through `dispatch`, one by one, in order; so
    does every event of a resident who also did something else in the batch (their order counts).
    """
    outcomes: list[Exception | None] = [None] * len(events)
    batchable = [_batch_action(event) for event in events]
    others = {event.source_user_id for event, action in zip(events, batchable, strict=True) if action is None}
    groups: dict[tuple[int, str], list[int]] = {}
    for index, (event, action) in enumerate(zip(events, batchable, strict=True)):
        if action is None or event.source_user_id in others:
            outcomes[index] = _attempt(event)
        else:
            groups.setdefault((event.channel.pk, action), []).append(index)
    for (_channel, action), indexes in groups.items():
        group = [events[index] for index in indexes]
        for index, outcome in zip(indexes, _dispatch_together(action, group), strict=True):
            outcomes[index] = outcome
    return outcomes


def _attempt(event: InboundEvent) -> Exception | None:
    try:
        dispatch(event)
    except Exception as exc:
        return exc
    return None


def _batch_action(event: InboundEvent) -> str | None:
    """The postback action of an event its batch handler may take, or None."""
    if event.event_type != "postback" or not event.source_user_id or event.channel.is_confidential:
        return None
    postback = event.payload.get("postback")
    data = postback.get("data") if isinstance(postback, dict) else None
    if not isinstance(data, str):
        return None
    name, _params = parse_postback(data)
    return name if postback_batch_handler(name) is not None else None


def _dispatch_together(action: str, events: list[InboundEvent]) -> list[Exception | None]:
    channel = events[0].channel
    handler = postback_batch_handler(action)
    assert handler is not None
    try:
        residents = residents_get_or_create(channel, [event.source_user_id for event in events])
        turns = [_turn(event, residents[event.source_user_id]) for event in events]
        answered = handler([(turn, parse_postback(turn.postback_data or "")[1]) for turn in turns])
        if len(answered) != len(turns):
            raise ValueError(
                f"the batch handler of {action!r} answered {len(answered)} of {len(turns)} turns"
            )
        if any(turn.confidential for turn in turns):
            # Sealing the events and their answers is the ordinary way's (dispatch).
            raise ValueError(f"the batch handler of {action!r} marked a turn confidential")
        # As route() does for an answer: a streak of misses ends.
        MissStreak.objects.filter(resident__in=[turn.resident for turn in turns]).delete()
    except Exception:
        # One odd event should not fail the others: each goes the ordinary way, with its own tries.
        logger.exception("the batch handler of %s failed; handling %s events one by one", action, len(events))
        return [_attempt(event) for event in events]
    replies = [
        Reply(
            reply_token=event.payload.get("replyToken"),
            user_id=event.source_user_id,
            messages=messages[:5],
            dedupe_key=f"answer:{event.webhook_event_id}",
            received_at_ms=_received_at_ms(event.payload),
        )
        for event, messages in zip(events, answered, strict=True)
    ]
    sent = [index for index, messages in enumerate(answered) if messages]
    outcomes: list[Exception | None] = [None] * len(events)
    results = transport_for(channel).reply_many(channel, [replies[index] for index in sent]) if sent else []
    for index, outcome in zip(sent, results, strict=True):
        outcomes[index] = outcome
    return outcomes


def _received_at_ms(payload: dict[str, Any]) -> int | None:
    """When LINE received the event (its reply token's age counts from then)."""
    stamp = payload.get("timestamp")
    return stamp if isinstance(stamp, int) else None


def _turn(event: InboundEvent, resident: Resident) -> Turn:
    payload = event.payload
    turn = Turn(channel=event.channel, resident=resident, event_type=event.event_type, payload=payload)
    message = payload.get("message")
    if isinstance(message, dict):
        turn.message_type = str(message.get("type", ""))
        turn.message_id = str(message.get("id", "")) or None
        if turn.message_type == "text" and isinstance(message.get("text"), str):
            turn.raw_text = message["text"]
            turn.text = normalise(message["text"])
    postback = payload.get("postback")
    if isinstance(postback, dict) and isinstance(postback.get("data"), str):
        turn.postback_data = postback["data"]
        params = postback.get("params")
        turn.postback_params = params if isinstance(params, dict) else {}
    return turn


def route(turn: Turn) -> list[OutboundMessage]:
    # A guess the resident ignored (the FAQ's three choices, then typed words instead of a tap)
    # is a miss too, so a run of close calls also ends with a person.
    streak = 0
    for counter in miss_counters():
        for _ in range(counter(turn)):
            streak = MissStreak.bump(turn.resident)
    answer = _first_answer(turn)
    if answer is not None and not turn.tentative:
        MissStreak.objects.filter(resident=turn.resident).delete()
        return answer
    if answer is None:
        streak = MissStreak.bump(turn.resident)
    # After a streak of misses a person takes over rather than the bot apologising (or
    # guessing) again.
    handoff = postback_handler("handoff")
    if streak >= settings.HANDOFF_AFTER_MISSES and handoff is not None:
        MissStreak.objects.filter(resident=turn.resident).delete()
        return handoff(turn, {"reason": "bot"})
    return answer if answer is not None else answers.fallback()


def _first_answer(turn: Turn) -> list[OutboundMessage] | None:
    for matcher in matchers("urgent"):
        if (answer := matcher(turn)) is not None:
            return answer
    if turn.postback_data is not None:
        name, params = parse_postback(turn.postback_data)
        handler = postback_handler(name)
        if handler is not None:
            return handler(turn, params)
    for matcher in matchers("operator"):
        if (answer := matcher(turn)) is not None:
            return answer
    state = flow_active(turn.resident)
    if state is not None:
        if turn.text in CANCEL_WORDS:
            flow_end(turn.resident)
            return answers.flow_cancelled()
        flow = flow_named(state.flow)
        if flow is not None:
            return flow.handle(turn, state)
        flow_end(turn.resident)  # a flow that no longer exists
    if asks_for_a_person(turn.raw_text) and (handoff := postback_handler("handoff")) is not None:
        return handoff(turn, {})
    for matcher in matchers("priority"):  # disaster mode: its scenarios and FAQ first
        if (answer := matcher(turn)) is not None:
            return answer
    if turn.text:
        keyword = keyword_match(turn)
        if keyword is not None:
            # Staff's answer, with the menu chips so the resident can go on with one tap.
            return [Text(keyword.reply_text, quick_replies=answers.menu_chips())]
    for stage in ("scenario", "faq"):
        for matcher in matchers(stage):
            if (answer := matcher(turn)) is not None:
                return answer
    return None


def keyword_match(turn: Turn) -> Keyword | None:
    text = turn.text or ""
    candidates = Keyword.objects.filter(is_active=True).filter(
        Q(channel=turn.channel) | Q(channel__isnull=True)
    )
    for keyword in candidates:
        phrase = normalise(keyword.phrase)
        if not phrase:
            continue
        if keyword.match == Keyword.Match.EXACT and text == phrase:
            return keyword
        if keyword.match == Keyword.Match.CONTAINS and phrase in text:
            return keyword
    return None
