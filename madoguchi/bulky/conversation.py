"""粗大ごみ booking in the chat: short words (粗大ごみ 申込, 粗大ごみ 予約, …) answer with a button to
the booking page and one to the resident's bookings. Questions about 粗大ごみ (fees, how to put
things out) are left to the FAQ: only these few commands are taken."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from madoguchi.channels.base import Buttons, Text, UriAction
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.registry import Answer, Turn, postback_action, register_matcher

START = "bulky.start"
SUBJECT = ("粗大ごみ", "粗大ゴミ", "そだいごみ", "bulkywaste", "bulkygarbage")
VERBS = (
    "申込",
    "申し込み",
    "申込み",
    "申しこみ",
    "もうしこみ",
    "予約",
    "よやく",
    "予約確認",
    "予約変更",
    "booking",
    "book",
)
JOINERS = re.compile(r"[\s・の を、,]+")


def _is_command(text: str) -> bool:
    folded = JOINERS.sub("", unicodedata.normalize("NFKC", text).lower())
    if len(folded) > 14:
        return False
    for subject in SUBJECT:
        if folded.startswith(subject):
            rest = folded.removeprefix(subject).removesuffix("したい").removesuffix("する")
            return rest in VERBS
    return False


def offer(turn: Turn) -> Answer:
    book = turn.channel.liff_url("bulky/")
    mine = turn.channel.liff_url("bulky/mine/")
    if not book or not mine:
        return [
            Text(
                _("粗大ごみの収集は、粗大ごみ受付センターへの電話で申し込めます。"),
                quick_replies=menu_chips(),
            )
        ]
    return [
        Buttons(
            alt_text=_("粗大ごみの収集の申し込み"),
            title=_("粗大ごみの収集"),
            text=_("品目を選んで、収集日を予約できます。手数料は処理券で納めます。"),
            actions=(
                UriAction(label=_("申し込む"), uri=book),
                UriAction(label=_("予約の確認・変更"), uri=mine),
            ),
            quick_replies=menu_chips(),
        )
    ]


def words_stage(turn: Turn) -> Answer | None:
    if turn.message_type != "text" or not turn.raw_text or not _is_command(turn.raw_text):
        return None
    return offer(turn)


@postback_action(START)
def start_action(turn: Turn, params: dict[str, str]) -> Answer:
    return offer(turn)


register_matcher("scenario", words_stage)
