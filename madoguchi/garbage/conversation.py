"""Garbage in the conversation: 今日/明日のごみ, ごみの日, the reminder opt-in and opt-out, and
the sorting guide (スプレー缶 捨て方 → its category and how to put it out).

Registered at the dispatcher's "scenario" stage: after staff's keywords (staff can always
override a word) and before the FAQ. The FAQ has general garbage entries (粗大ごみの申し込み …);
a question that names an item is better answered by the item itself, and a question that names
none passes on to the FAQ untouched. To keep the FAQ's answers where they are better, the guide
answers a message without a garbage word (捨て方, 何ごみ, 分別 …) only when it is exactly an
item's name.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.channels.base import Text
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.registry import Answer, Turn, postback_action, register_matcher
from madoguchi.garbage import messages
from madoguchi.garbage.models import Area, Item
from madoguchi.garbage.search import has_intent, items_search_scored
from madoguchi.garbage.selectors import area_for_resident
from madoguchi.garbage.services import reminder_subscribe, reminder_unsubscribe

_GOMI = r"(ごみ|ゴミ|塵|gomi|garbage)"
_ASK = r"(の|は)?(何|なに|なん|どの)?"  # 明日のごみ / 明日はごみの日? / 明日は何ごみ?
TODAY = re.compile(r"^(今日|きょう|本日)" + _ASK + _GOMI)
TOMORROW = re.compile(r"^(明日|あした|あす)" + _ASK + _GOMI)
WEEK = re.compile(r"^(" + _GOMI + r"の?(日|収集日|カレンダー)|収集日|ごみ出しの日)")
GUIDE = {"ごみ", "ゴミ", "ごみの出し方", "ごみの捨て方", "ごみ分別", "ごみの分別", "分別", "ごみ出し"}
REMIND_ON = {"ごみ通知", "ごみ通知する", "ごみの日通知", "ごみのお知らせ", "ごみの日お知らせ"}
REMIND_OFF = {"ごみ通知停止", "ごみ通知やめる", "ごみ通知解除", "ごみのお知らせ停止", "ごみの日通知停止"}
MAX_TEXT = 100


# Invisible characters a pasted text carries (zero-width spaces and joiners, direction marks,
# BOM) say nothing: 「\u200b明日のごみ」 is 明日のごみ.
INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"


def _compact(text: str) -> str:
    return re.sub(rf"[\s?？!！。、{INVISIBLE}]+", "", text)


def _day(turn: Turn, offset: int | None) -> Answer:
    resident = turn.resident
    with translation.override(resident.reply_language):
        if resident.district is None:
            return messages.register_prompt(resident)
        area = area_for_resident(resident)
        if area is None:
            return messages.no_area(resident)
        today = timezone.localdate()
        if offset is None:
            return messages.week_answer(resident, area, today)
        return messages.day_answer(resident, area, today + timedelta(days=offset), today)


def _remind(turn: Turn, on: bool) -> Answer:
    resident = turn.resident
    changed = reminder_subscribe(resident) if on else reminder_unsubscribe(resident)
    with translation.override(resident.reply_language):
        return messages.reminder_answer(resident, on, changed, area_for_resident(resident))


def garbage_words(turn: Turn) -> Answer | None:
    """The dispatcher's scenario stage: calendar words, reminder words, then the sorting guide."""
    raw = (turn.raw_text or "").strip()
    if not raw or len(raw) > MAX_TEXT:
        return None
    compact = _compact(turn.text or raw)
    if compact in REMIND_OFF:
        return _remind(turn, False)
    if compact in REMIND_ON:
        return _remind(turn, True)
    if compact in GUIDE:
        if not (Area.objects.exists() or Item.objects.filter(is_active=True).exists()):
            return None
        with translation.override(turn.resident.reply_language):
            return messages.guide(turn.resident)
    asked = (
        0 if TODAY.match(compact) else 1 if TOMORROW.match(compact) else -1 if WEEK.match(compact) else None
    )
    if asked is not None:
        # A city with no calendar set up leaves the question to the FAQ (its general answer).
        if not Area.objects.exists():
            return None
        return _day(turn, None if asked == -1 else asked)
    return _item_search(turn, raw)


def _item_search(turn: Turn, raw: str) -> Answer | None:
    intent = has_intent(raw)
    scored = items_search_scored(raw, limit=11)
    if not scored:
        return None
    exact = [item for item, score in scored if score >= 1.0]
    if not intent and not exact:
        return None  # not about garbage as far as we can tell: the FAQ may know
    resident = turn.resident
    if exact:
        chosen = exact
        sure = len(exact) == 1
    else:  # asked about garbage, no exact name: answer a clear winner, else offer the best
        chosen = [found for found, _score in scored]
        sure = len(scored) == 1 or scored[0][1] - scored[1][1] >= 0.3
    with translation.override(resident.reply_language):
        if sure:
            return messages.item_answer(chosen[0], area_for_resident(resident), timezone.localdate())
        return messages.item_choices(chosen)


register_matcher("scenario", garbage_words)


@postback_action(messages.DAY)
def day(turn: Turn, params: dict[str, str]) -> Answer:
    value = params.get("d", "")
    return _day(turn, None if value == "week" else 1 if value == "1" else 0)


@postback_action(messages.REMIND)
def remind(turn: Turn, params: dict[str, str]) -> Answer:
    return _remind(turn, params.get("on") == "1")


@postback_action(messages.ITEM)
def item(turn: Turn, params: dict[str, str]) -> Answer:
    value = params.get("id", "")
    found = (
        Item.objects.select_related("category").filter(pk=int(value), is_active=True).first()
        if value.isdigit() and len(value) < 12
        else None
    )
    resident = turn.resident
    with translation.override(resident.reply_language):
        if found is None:
            return [
                Text(
                    _("この品目の案内は終了しました。別の言葉でお尋ねください。"), quick_replies=menu_chips()
                )
            ]
        return messages.item_answer(found, area_for_resident(resident), timezone.localdate())
