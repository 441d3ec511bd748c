"""The bot's own words: greeting, menu, fallback. Japanese source, translated per resident.

Each function is called inside `translation.override(resident's language)`, so `gettext`
answers in the resident's language when we have it and in Japanese otherwise.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.channels.base import MessageAction, OutboundMessage, PostbackAction, Text
from madoguchi.chatbot.registry import has_postback_action, postback_data

LANGUAGES = [
    ("ja", "日本語"),
    ("ja-easy", "やさしい にほんご"),  # easy Japanese, which staff may write answers in
    ("en", "English"),
    ("zh", "中文"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
]


def menu_chips() -> tuple[PostbackAction | MessageAction, ...]:
    chips: list[PostbackAction | MessageAction] = [
        PostbackAction(label=_("メニュー"), data=postback_data("menu"), display_text=_("メニュー")),
        PostbackAction(label="Language", data=postback_data("language"), display_text="Language"),
    ]
    if has_postback_action("handoff"):
        chips.append(
            PostbackAction(
                label=_("職員と話す"), data=postback_data("handoff"), display_text=_("職員と話したい")
            )
        )
    return tuple(chips)


def cancel_chip() -> MessageAction:
    """The chip that leaves a flow: it types a cancel word (engine.CANCEL_WORDS)."""
    return MessageAction(label=_("やめる"), text="やめる")


def greeting(display_name: str) -> list[OutboundMessage]:
    city = settings.MADOGUCHI_CITY_NAME
    name = display_name or _("みなさま")
    return [
        Text(
            _(
                "%(name)s さん、%(city)s公式 LINE の友だち追加ありがとうございます。\n"
                "ごみの出し方、手続き、防災の情報などをこちらでご案内します。\n"
                "知りたいことを短い言葉で送ってください (例: 粗大ごみ)。"
            )
            % {"name": name, "city": city},
            quick_replies=menu_chips(),
        )
    ]


def menu() -> list[OutboundMessage]:
    """The topics residents ask most, one tap each (each chip sends its words as a question)."""
    topics = tuple(
        MessageAction(label=topic[:20], text=topic) for topic in settings.MADOGUCHI_MENU_TOPICS[:10]
    )
    return [
        Text(
            _("ご用件を選ぶか、知りたいことを文字で送ってください。"),
            quick_replies=(*topics, *menu_chips()[1:])[:13],
        )
    ]


def fallback() -> list[OutboundMessage]:
    text = _(
        "すみません、うまくお答えできませんでした。別の言葉で送っていただくか、メニューからお選びください。"
    )
    if has_postback_action("handoff"):
        text += "\n" + _("職員がお答えすることもできます。")
    return [Text(text, quick_replies=menu_chips())]


def flow_cancelled() -> list[OutboundMessage]:
    return [Text(_("手続きを中止しました。"), quick_replies=menu_chips())]


def language_choice() -> list[OutboundMessage]:
    return [
        Text(
            _("ご希望の言語を選んでください。"),
            quick_replies=tuple(
                PostbackAction(label=label, data=postback_data("language", code=code), display_text=label)
                for code, label in LANGUAGES
            ),
        )
    ]


def language_set() -> list[OutboundMessage]:
    return [Text(_("日本語でご案内します。"), quick_replies=menu_chips())]


def contact() -> list[OutboundMessage]:
    return [
        Text(
            _("職員がご相談をお受けします。%(contact)s") % {"contact": settings.MADOGUCHI_CONTACT_TEXT},
            quick_replies=menu_chips(),
        )
    ]
