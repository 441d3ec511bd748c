"""What a delivery says: up to five messages per language, as staff compose them.

    {"ja": {"messages": [msg, …], "quick_replies": [{"label": …, "text": …}, …]},
     "en": {…}, "ja-easy": {…}}

A message is one of
    {"type": "text", "text": "{name}さん、…"}                      placeholders: {name}, {district}
    {"type": "image", "url": "https://…", "preview_url": "https://…"}
    {"type": "sticker", "package_id": "446", "sticker_id": "1988"}
    {"type": "buttons", "title": "…", "text": "…", "image_url": "",
     "actions": [{"label": "…", "uri": "https://…"} | {"label": "…", "text": "…"}
                 | {"label": "…", "data": "a=…", "display_text": "…"}]}
    {"type": "flex", "alt_text": "…", "contents": {LINE's bubble or carousel JSON}}

Japanese is required; residents get the variant of their registered language, Japanese otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.channels.base import (
    Action,
    Buttons,
    Flex,
    Image,
    MessageAction,
    OutboundMessage,
    PostbackAction,
    Sticker,
    Text,
    UriAction,
)

MAX_MESSAGES = 5  # LINE's limit per request
MAX_QUICK_REPLIES = 13
MAX_TEXT = 5000
PLACEHOLDERS = ("name", "district")
_PLACEHOLDER = re.compile(r"\{(name|district)\}")
LANGUAGES = {
    "ja": "日本語",
    "ja-easy": "やさしい日本語",
    "en": "English",
    "zh": "中文",
    "ko": "한국어",
    "vi": "Tiếng Việt",
    "pt": "Português",
    "ne": "नेपाली",
}


class ContentError(ValueError):
    """Content LINE would refuse or we cannot send; the message is for staff, in Japanese."""


def _https(url: Any) -> bool:
    return isinstance(url, str) and url.startswith("https://") and len(url) <= 2000


def _check_action(action: Any, where: str) -> None:
    if (
        not isinstance(action, dict)
        or not isinstance(action.get("label"), str)
        or not action["label"].strip()
    ):
        raise ContentError(f"{where}: " + _("ボタンの文字を入れてください。"))
    if len(action["label"]) > 20:
        raise ContentError(f"{where}: " + _("ボタンの文字は 20 文字までです。"))
    if "uri" in action:
        if not _https(action["uri"]) and not str(action["uri"]).startswith("tel:"):
            raise ContentError(f"{where}: " + _("リンクは https:// で始まる URL にしてください。"))
    elif "data" in action:
        # A postback (features compose these: a safety confirmation's answers).
        if not isinstance(action["data"], str) or not 0 < len(action["data"]) <= 300:
            raise ContentError(f"{where}: " + _("ボタンのデータは 1〜300 文字です。"))
        if len(str(action.get("display_text") or "")) > 300:
            raise ContentError(f"{where}: " + _("ボタンを押したときの言葉は 300 文字までです。"))
    elif not isinstance(action.get("text"), str) or not 0 < len(action["text"]) <= 300:
        raise ContentError(f"{where}: " + _("ボタンを押したときの言葉を入れてください。"))


def _check_message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise ContentError(f"{where}: " + _("形が正しくありません。"))
    kind = message.get("type")
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where}: " + _("本文を入れてください。"))
        if len(text) > MAX_TEXT:
            raise ContentError(f"{where}: " + _("本文は %(max)s 文字までです。") % {"max": MAX_TEXT})
    elif kind == "image":
        if not _https(message.get("url")) or not _https(message.get("preview_url") or message.get("url")):
            raise ContentError(f"{where}: " + _("画像の URL は https:// で始めてください。"))
    elif kind == "sticker":
        if (
            not str(message.get("package_id", "")).isdigit()
            or not str(message.get("sticker_id", "")).isdigit()
        ):
            raise ContentError(f"{where}: " + _("スタンプのパッケージ ID とスタンプ ID は数字です。"))
    elif kind == "buttons":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where}: " + _("カードの本文を入れてください。"))
        limit = 60 if message.get("title") or message.get("image_url") else 160
        if len(text) > limit:
            raise ContentError(f"{where}: " + _("カードの本文は %(max)s 文字までです。") % {"max": limit})
        if len(str(message.get("title") or "")) > 40:
            raise ContentError(f"{where}: " + _("カードの見出しは 40 文字までです。"))
        if message.get("image_url") and not _https(message["image_url"]):
            raise ContentError(f"{where}: " + _("画像の URL は https:// で始めてください。"))
        actions = message.get("actions")
        if not isinstance(actions, list) or not 1 <= len(actions) <= 4:
            raise ContentError(f"{where}: " + _("ボタンは 1〜4 個です。"))
        for action in actions:
            _check_action(action, where)
    elif kind == "flex":
        alt = message.get("alt_text")
        if not isinstance(alt, str) or not 0 < len(alt) <= 400:
            raise ContentError(f"{where}: " + _("通知に出る代わりの文（400 文字まで）を入れてください。"))
        contents = message.get("contents")
        if not isinstance(contents, dict) or contents.get("type") not in ("bubble", "carousel"):
            raise ContentError(f"{where}: " + _("Flex の内容は bubble か carousel の JSON です。"))
    else:
        raise ContentError(f"{where}: " + _("知らない種類のメッセージです。"))


def content_validate(content: Any) -> dict[str, Any]:
    """The content, checked: Japanese present, known languages, 1–5 messages each."""
    if not isinstance(content, dict) or "ja" not in content:
        raise ContentError(_("日本語の内容は必須です。"))
    for language, variant in content.items():
        if language not in LANGUAGES:
            raise ContentError(_("知らない言語です: %(language)s") % {"language": str(language)[:20]})
        name = LANGUAGES[language]
        if not isinstance(variant, dict):
            raise ContentError(_("%(language)s の内容の形が正しくありません。") % {"language": name})
        messages = variant.get("messages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
            raise ContentError(
                _("%(language)s: メッセージは 1〜%(max)s 件です。") % {"language": name, "max": MAX_MESSAGES}
            )
        for position, message in enumerate(messages, start=1):
            _check_message(message, f"{name} {position}")
        replies = variant.get("quick_replies") or []
        if not isinstance(replies, list) or len(replies) > MAX_QUICK_REPLIES:
            raise ContentError(
                _("%(language)s: クイックリプライは %(max)s 個までです。")
                % {"language": name, "max": MAX_QUICK_REPLIES}
            )
        for reply in replies:
            _check_action(reply, f"{name} " + _("クイックリプライ"))
    return content


def placeholders_used(content: dict[str, Any]) -> set[str]:
    """Which of {name} and {district} the content uses (they decide how recipients are grouped)."""
    used: set[str] = set()
    for variant in content.values():
        for message in variant.get("messages", []):
            for value in (message.get("text"), message.get("title"), message.get("alt_text")):
                if isinstance(value, str):
                    used.update(_PLACEHOLDER.findall(value))
    return used


def variant_for(content: dict[str, Any], language: str) -> str:
    """The content language a resident with this reply language gets."""
    return language if language in content else "ja"


def _fill(text: str, params: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), ""), text)


def _action(action: dict[str, Any]) -> Action:
    if "uri" in action:
        return UriAction(label=action["label"], uri=action["uri"])
    if "data" in action:
        return PostbackAction(
            label=action["label"], data=action["data"], display_text=action.get("display_text") or None
        )
    return MessageAction(label=action["label"], text=action["text"])


def content_messages(content: dict[str, Any], variant: str, params: dict[str, str]) -> list[OutboundMessage]:
    """The channel-neutral messages of one variant, placeholders filled in."""
    data = content.get(variant) or content["ja"]
    quick = tuple(_action(reply) for reply in data.get("quick_replies") or [])
    messages: list[OutboundMessage] = []
    raw = data["messages"]
    for position, message in enumerate(raw):
        replies = quick if position == len(raw) - 1 else ()
        kind = message["type"]
        if kind == "text":
            messages.append(Text(text=_fill(message["text"], params), quick_replies=replies))
        elif kind == "image":
            messages.append(
                Image(
                    url=message["url"],
                    preview_url=message.get("preview_url") or message["url"],
                    quick_replies=replies,
                )
            )
        elif kind == "sticker":
            messages.append(
                Sticker(
                    package_id=str(message["package_id"]),
                    sticker_id=str(message["sticker_id"]),
                    quick_replies=replies,
                )
            )
        elif kind == "buttons":
            text = _fill(message["text"], params)
            messages.append(
                Buttons(
                    alt_text=_fill(message.get("title") or message["text"], params)[:400],
                    text=text,
                    title=_fill(message.get("title") or "", params) or None,
                    image_url=message.get("image_url") or None,
                    actions=tuple(_action(a) for a in message["actions"]),
                    quick_replies=replies,
                )
            )
        else:
            messages.append(
                Flex(
                    alt_text=_fill(message["alt_text"], params),
                    contents=message["contents"],
                    quick_replies=replies,
                )
            )
    return messages


def content_from_text(text: str, language: str = "ja") -> dict[str, Any]:
    """The simplest content: one text message (tests, the demo, the command line)."""
    return {language: {"messages": [{"type": "text", "text": text}]}}
