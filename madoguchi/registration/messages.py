"""What residents are told about their registration, in their language (called inside
`translation.override(resident.reply_language)`; Japanese where no translation is written)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.channels.base import Buttons, OutboundMessage, PostbackAction, Text, UriAction
from madoguchi.chatbot.answers import LANGUAGES, menu_chips
from madoguchi.chatbot.registry import postback_data
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident

# The postback that starts registration in the chat (the rich menu's 登録 area may use it too).
START = "profile.start"


def language_label(code: str) -> str:
    return dict(LANGUAGES).get(code, code)


def terms_url(channel: Channel) -> str | None:
    """Where residents read the terms: the city's page, else Madoguchi's own through LIFF."""
    return settings.MADOGUCHI_TERMS_URL or channel.liff_url("terms/")


def summary(resident: Resident) -> str:
    """What the resident registered, one line each, in their language."""
    language = resident.reply_language
    interests = [interest.name_in(language) for interest in resident.interests.all()]
    district = resident.district.name_in(language) if resident.district else _("未回答")
    children = resident.children.count()
    lines = [
        _("・区分: %(value)s") % {"value": resident.get_audience_display() or _("未回答")},
        _("・地区: %(value)s") % {"value": district},
        _("・年代: %(value)s") % {"value": resident.get_age_band_display() or _("未回答")},
        _("・関心のある分野: %(value)s") % {"value": "、".join(interests) or _("なし")},
        _("・言語: %(value)s") % {"value": language_label(resident.reply_language)},
    ]
    if children:
        lines.append(_("・お子さまの生年月日: %(count)s 人分") % {"count": children})
    return "\n".join(lines)


def confirmation(resident: Resident) -> list[OutboundMessage]:
    """Said when a registration is saved (in the chat, or pushed after the LIFF form)."""
    return [
        Text(
            _(
                "登録しました。ありがとうございます。\n%(summary)s\n変更するときは、メニューから開くか「登録」と送ってください。"
            )
            % {"summary": summary(resident)},
            quick_replies=menu_chips(),
        )
    ]


def invitation(resident: Resident) -> list[OutboundMessage]:
    """The offer to register (or to check what is registered), with one tap to the form, and the
    chat as the other way for those who prefer it."""
    form = resident.channel.liff_url("register/")
    chat = PostbackAction(
        label=_("チャットで登録") if form else _("登録する"),
        data=postback_data(START),
        display_text=_("登録"),
    )
    actions: tuple[UriAction | PostbackAction, ...] = (
        (UriAction(label=_("登録する"), uri=form), chat) if form else (chat,)
    )
    if resident.registered_at is None:
        text = _("住んでいる地区や関心のある分野を登録すると、あなたに合ったお知らせが届きます。")
    else:
        text = _("登録内容の確認・変更はこちらからできます。")
    return [Buttons(alt_text=_("登録のご案内"), text=text[:160], actions=actions, quick_replies=menu_chips())]
