"""The composer's content editor and its preview: form fields ⇄ content (messaging/content.py).

The editor has a tab per language and five message slots in each; a slot is empty or one of
text, image, sticker, buttons card or Flex. Field names are ``c-<language>-<slot>-<part>``.
What staff typed is kept as typed (so a page with an error shows it again) and turned into
content only when saved or previewed; content_validate has the last word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.channels.base import (
    Buttons,
    Flex,
    Image,
    MessageAction,
    OutboundMessage,
    Sticker,
    Text,
    UriAction,
)
from madoguchi.messaging.content import LANGUAGES, MAX_MESSAGES, ContentError, content_messages

KINDS = {
    "": gettext_lazy("（なし）"),
    "text": gettext_lazy("テキスト"),
    "image": gettext_lazy("画像"),
    "sticker": gettext_lazy("スタンプ"),
    "buttons": gettext_lazy("ボタン付きカード"),
    "flex": gettext_lazy("Flex メッセージ"),
}
BUTTONS = 4
MAX_FLEX_JSON = 30_000
_SLOT_KEY = re.compile(r"^c-([a-z-]+)-([0-9]+)-type$")


@dataclass
class Slot:
    index: int
    prefix: str  # c-<language>-<index>
    kind: str = ""
    text: str = ""
    url: str = ""
    package_id: str = ""
    sticker_id: str = ""
    title: str = ""
    card_text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    alt_text: str = ""
    flex: str = ""


@dataclass
class Variant:
    code: str
    label: str
    on: bool
    slots: list[Slot]
    quick_replies: str = ""


def _empty_buttons() -> list[dict[str, str]]:
    return [{"label": "", "value": ""} for _ in range(BUTTONS)]


def editor_from_content(content: dict[str, Any] | None) -> list[Variant]:
    """The editor showing saved content (or an empty one: Japanese on, the rest off)."""
    content = content or {}
    variants = []
    for code, label in LANGUAGES.items():
        data = content.get(code) if isinstance(content.get(code), dict) else None
        messages = (data or {}).get("messages") or []
        slots = []
        for index in range(MAX_MESSAGES):
            slot = Slot(index=index, prefix=f"c-{code}-{index}", buttons=_empty_buttons())
            message = messages[index] if index < len(messages) and isinstance(messages[index], dict) else None
            if message is not None:
                slot.kind = str(message.get("type", ""))
                slot.text = str(message.get("text", "")) if slot.kind == "text" else ""
                slot.url = str(message.get("url", ""))
                slot.package_id = str(message.get("package_id", ""))
                slot.sticker_id = str(message.get("sticker_id", ""))
                slot.title = str(message.get("title") or "")
                slot.card_text = str(message.get("text", "")) if slot.kind == "buttons" else ""
                for position, action in enumerate((message.get("actions") or [])[:BUTTONS]):
                    slot.buttons[position] = {
                        "label": str(action.get("label", "")),
                        "value": str(action.get("uri") or action.get("text") or ""),
                    }
                slot.alt_text = str(message.get("alt_text", ""))
                if slot.kind == "flex":
                    slot.flex = json.dumps(message.get("contents", {}), ensure_ascii=False, indent=2)
            slots.append(slot)
        replies = (data or {}).get("quick_replies") or []
        quick = "\n".join(
            f"{reply.get('label', '')} | {reply.get('uri') or reply.get('text') or ''}"
            for reply in replies
            if isinstance(reply, dict)
        )
        variants.append(
            Variant(
                code=code, label=label, on=code == "ja" or data is not None, slots=slots, quick_replies=quick
            )
        )
    return variants


def editor_from_post(post: QueryDict) -> list[Variant]:
    """The editor as staff filled it in."""
    variants = []
    for code, label in LANGUAGES.items():
        slots = []
        for index in range(MAX_MESSAGES):
            prefix = f"c-{code}-{index}-"
            slots.append(
                Slot(
                    index=index,
                    prefix=prefix.rstrip("-"),
                    kind=post.get(prefix + "type", ""),
                    text=post.get(prefix + "text", ""),
                    url=post.get(prefix + "url", "").strip(),
                    package_id=post.get(prefix + "package_id", "").strip(),
                    sticker_id=post.get(prefix + "sticker_id", "").strip(),
                    title=post.get(prefix + "title", ""),
                    card_text=post.get(prefix + "card_text", ""),
                    buttons=[
                        {
                            "label": post.get(f"{prefix}b{b}-label", "").strip(),
                            "value": post.get(f"{prefix}b{b}-value", "").strip(),
                        }
                        for b in range(BUTTONS)
                    ],
                    alt_text=post.get(prefix + "alt_text", ""),
                    flex=post.get(prefix + "flex", ""),
                )
            )
        variants.append(
            Variant(
                code=code,
                label=label,
                on=code == "ja" or post.get(f"c-{code}-on") == "1",
                slots=slots,
                quick_replies=post.get(f"c-{code}-quick", ""),
            )
        )
    return variants


def _action(label: str, value: str) -> dict[str, str]:
    if value.startswith(("https://", "http://", "tel:", "javascript:", "data:")) or "://" in value:
        return {"label": label, "uri": value}  # content_validate refuses all but https and tel
    return {"label": label, "text": value or label}


def _message(slot: Slot, where: str) -> dict[str, Any]:
    if slot.kind == "text":
        return {"type": "text", "text": slot.text.replace("\r\n", "\n")}
    if slot.kind == "image":
        return {"type": "image", "url": slot.url}
    if slot.kind == "sticker":
        return {"type": "sticker", "package_id": slot.package_id, "sticker_id": slot.sticker_id}
    if slot.kind == "buttons":
        message: dict[str, Any] = {
            "type": "buttons",
            "text": slot.card_text.replace("\r\n", "\n"),
            "actions": [_action(b["label"], b["value"]) for b in slot.buttons if b["label"] or b["value"]],
        }
        if slot.title.strip():
            message["title"] = slot.title.strip()
        return message
    if slot.kind == "flex":
        if len(slot.flex) > MAX_FLEX_JSON:
            raise ContentError(f"{where}: " + _("Flex の JSON が長すぎます。"))
        try:
            contents = json.loads(slot.flex or "null")
        except ValueError:
            raise ContentError(
                f"{where}: " + _("Flex の JSON を読めません。書き方を確かめてください。")
            ) from None
        return {"type": "flex", "alt_text": slot.alt_text.strip(), "contents": contents}
    raise ContentError(f"{where}: " + _("知らない種類のメッセージです。"))


def content_from_editor(variants: list[Variant], post: QueryDict | None = None) -> dict[str, Any]:
    """The content the editor describes (checked by content_validate when saved); raises
    ContentError for what cannot even be read (Flex JSON, more slots than LINE allows)."""
    if post is not None:
        for key in post:
            match = _SLOT_KEY.match(key)
            if match and int(match.group(2)) >= MAX_MESSAGES and post.get(key):
                raise ContentError(_("メッセージは 1 回に %(max)s 件までです。") % {"max": MAX_MESSAGES})
    content: dict[str, Any] = {}
    for variant in variants:
        if not variant.on:
            continue
        messages = [
            _message(slot, f"{variant.label} {slot.index + 1}") for slot in variant.slots if slot.kind
        ]
        replies = []
        for line in variant.quick_replies.replace("\r\n", "\n").split("\n"):
            if not line.strip():
                continue
            label, _sep, value = line.partition("|")
            replies.append(_action(label.strip(), value.strip()))
        data: dict[str, Any] = {"messages": messages}
        if replies:
            data["quick_replies"] = replies
        content[variant.code] = data
    return content


# Preview: the messages as the resident's phone shows them.


def _texts(node: Any, found: list[str]) -> None:
    if len(found) >= 20:
        return
    if isinstance(node, dict):
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            _texts(value, found)
    elif isinstance(node, list):
        for value in node:
            _texts(value, found)


def _action_view(action: Any) -> dict[str, str]:
    if isinstance(action, UriAction):
        return {"label": action.label, "target": action.uri}
    if isinstance(action, MessageAction):
        return {"label": action.label, "target": action.text}
    return {"label": str(getattr(action, "label", "")), "target": ""}


def _bubble(message: OutboundMessage) -> dict[str, Any]:
    if isinstance(message, Text):
        return {"kind": "text", "text": message.text}
    if isinstance(message, Image):
        return {"kind": "image", "url": message.url}
    if isinstance(message, Sticker):
        return {"kind": "sticker", "package_id": message.package_id, "sticker_id": message.sticker_id}
    if isinstance(message, Buttons):
        return {
            "kind": "buttons",
            "title": message.title or "",
            "text": message.text,
            "actions": [_action_view(a) for a in message.actions],
        }
    if isinstance(message, Flex):
        texts: list[str] = []
        _texts(message.contents, texts)
        return {"kind": "flex", "alt_text": message.alt_text, "texts": texts}
    return {"kind": "text", "text": str(message)}


def content_preview(content: dict[str, Any]) -> list[dict[str, Any]]:
    """Per language: the bubbles and quick replies a resident would see (placeholders filled
    with a sample name and district)."""
    params = {"name": _("山田 花子"), "district": _("北地区")}
    shown = []
    for code in content:
        messages = content_messages(content, code, params)
        quick = [_action_view(a) for a in (messages[-1].quick_replies if messages else ())]
        shown.append(
            {
                "code": code,
                "label": LANGUAGES.get(code, code),
                "bubbles": [_bubble(m) for m in messages],
                "quick_replies": quick,
            }
        )
    return shown
