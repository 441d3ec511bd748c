"""The inbox in the conversation: hand-off to a person, the quiet bot while staff answer, crisis
words, and the counseling channel. Registered with the dispatcher in InboxConfig.ready()."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.channels.base import OutboundMessage, PostbackAction, Text
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.flows import flow_end
from madoguchi.chatbot.registry import (
    Turn,
    parse_postback,
    postback_action,
    postback_data,
    register_confidential_handler,
    register_matcher,
)
from madoguchi.inbox.crisis import has_crisis_words
from madoguchi.inbox.models import Conversation
from madoguchi.inbox.services import (
    after_hours_notice,
    conversation_close,
    conversation_current,
    conversation_open,
    message_receive,
)

# What a message that is not text is kept as, for staff.
_KIND_LABELS = {
    "image": "(画像)",
    "video": "(動画)",
    "audio": "(音声)",
    "file": "(ファイル)",
    "sticker": "(スタンプ)",
    "location": "(位置情報)",
}


def _end_chip() -> PostbackAction:
    return PostbackAction(_("会話を終える"), postback_data("inbox.end"), _("会話を終える"))


def _describe(turn: Turn) -> tuple[str, str]:
    """(kind, body) of the resident's message as staff will read it."""
    if turn.raw_text is not None:
        return "text", turn.raw_text
    kind = turn.message_type or turn.event_type
    raw = turn.payload.get("message")
    message: dict[str, object] = raw if isinstance(raw, dict) else {}
    if kind == "location" and turn.location is not None:
        where = turn.location
        return (
            kind,
            " ".join(str(where.get(key) or "") for key in ("title", "address")).strip()
            + f" ({where.get('latitude')}, {where.get('longitude')})",
        )
    if kind == "file":
        return kind, str(message.get("fileName", ""))[:200]
    return kind, _KIND_LABELS.get(kind, f"({kind})")


def _receive(conversation: Conversation, turn: Turn) -> None:
    kind, body = _describe(turn)
    message_receive(conversation, kind=kind, body=body, payload=turn.payload)


def _opened_words(conversation: Conversation, *, by_bot: bool) -> list[OutboundMessage]:
    if conversation.is_counseling:
        text = _(
            "相談を受け付けました。相談員がお返事しますので、話したいことをそのまま送ってください。"
            "ここでの相談の内容は、相談員のほかは見ることができません。"
        )
    elif by_bot:
        text = _(
            "うまくお答えできないため、職員におつなぎします。ご用件をこのまま送ってください。職員がお返事します。"
        )
    else:
        text = _("職員におつなぎします。ご用件をこのまま送ってください。職員がお返事します。")
    closed = after_hours_notice(conversation)
    if closed:
        text += "\n" + closed
    return [Text(text, quick_replies=(_end_chip(),))]


@postback_action("handoff")
def talk_to_staff(turn: Turn, params: dict[str, str]) -> list[OutboundMessage]:
    """The resident asked for a person (button or words), or the bot gave up on them."""
    flow_end(turn.resident)
    by_bot = params.get("reason") == "bot"
    conversation, opened = conversation_open(
        turn.resident, origin=Conversation.Origin.BOT if by_bot else Conversation.Origin.RESIDENT
    )
    if turn.raw_text:
        _receive(conversation, turn)  # their words, so staff see what was asked
    if not opened:
        return [
            Text(_("職員とのやりとりが続いています。このまま送ってください。"), quick_replies=(_end_chip(),))
        ]
    return _opened_words(conversation, by_bot=by_bot)


@postback_action("inbox.end")
def end_conversation(turn: Turn, params: dict[str, str]) -> list[OutboundMessage]:
    conversation = conversation_current(turn.resident)
    if conversation is not None:
        conversation_close(conversation, actor=None, reason="resident")
    if turn.channel.is_confidential:
        return [Text(_("相談を終了しました。また話したくなったら、いつでもメッセージを送ってください。"))]
    return [
        Text(_("職員との会話を終了しました。ここからは自動応答がご案内します。"), quick_replies=menu_chips())
    ]


def operator_stage(turn: Turn) -> list[OutboundMessage] | None:
    """While a conversation with staff is open, the resident's messages go to staff and the bot
    keeps quiet (but for a "we are closed" note once)."""
    if turn.postback_data is not None:
        return None
    conversation = conversation_current(turn.resident)
    if conversation is None:
        return None
    if conversation.is_counseling:
        turn.confidential = True
    _receive(conversation, turn)
    closed = after_hours_notice(conversation)
    return [Text(closed, quick_replies=(_end_chip(),))] if closed else []


def crisis_stage(turn: Turn) -> list[OutboundMessage] | None:
    """A life may be at risk: where help is, at once, and a counseling conversation for the
    counselors (flagged), whatever the resident was doing."""
    if not has_crisis_words(turn.raw_text):
        return None
    flow_end(turn.resident)
    turn.confidential = True
    conversation, _opened = conversation_open(
        turn.resident, origin=Conversation.Origin.BOT, counseling=True, crisis=True, topic=_("緊急")
    )
    _receive(conversation, turn)
    return [Text(settings.MADOGUCHI_CRISIS_TEXT, quick_replies=(_end_chip(),))]


def counseling_channel(turn: Turn) -> list[OutboundMessage]:
    """Every turn of the confidential channel: crisis words first, then into the conversation."""
    if turn.event_type == "follow":
        return [
            Text(
                _(
                    "友だち追加ありがとうございます。ここは%(city)sの相談窓口です。"
                    "いじめ、家庭のこと、こころのことなど、なんでも送ってください。相談員がお返事します。"
                    "相談の内容は相談員のほかは見ることができません。"
                )
                % {"city": settings.MADOGUCHI_CITY_NAME}
            )
        ]
    if turn.postback_data is not None:
        # Only 会話を終える means something here; the main account's buttons do not apply.
        action, _params = parse_postback(turn.postback_data)
        return end_conversation(turn, {}) if action == "inbox.end" else []
    if has_crisis_words(turn.raw_text):
        return crisis_stage(turn) or []
    conversation, opened = conversation_open(
        turn.resident, origin=Conversation.Origin.COUNSELING, counseling=True
    )
    _receive(conversation, turn)
    if opened:
        return _opened_words(conversation, by_bot=False)
    closed = after_hours_notice(conversation)
    return [Text(closed)] if closed else []


register_matcher("urgent", crisis_stage)
register_matcher("operator", operator_stage)
register_confidential_handler(counseling_channel)
