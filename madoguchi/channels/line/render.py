"""Channel-neutral messages (channels.base) → LINE's message objects, as JSON-ready dicts.

The dicts are what we store on an OutboundRequest and what the SDK sends. LINE's limits that a
renderer can check are checked here, so a message LINE would refuse fails before it is queued.
"""

from __future__ import annotations

from typing import Any

from madoguchi.channels.base import (
    Action,
    Buttons,
    CameraAction,
    CameraRollAction,
    Confirm,
    DatetimePickerAction,
    Flex,
    Image,
    LocationAction,
    MessageAction,
    OutboundMessage,
    PostbackAction,
    Sticker,
    Text,
    UriAction,
)

MAX_MESSAGES_PER_REQUEST = 5
MAX_TEXT = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_BUTTONS = 4
MAX_TEMPLATE_ALT_TEXT = 400
MAX_FLEX_ALT_TEXT = 1500


class RenderError(ValueError):
    """A message LINE would refuse; a programming or content error, never worth retrying."""


def _limit(value: str, maximum: int, what: str) -> str:
    if not value:
        raise RenderError(f"{what} is empty")
    if len(value) > maximum:
        raise RenderError(f"{what} is {len(value)} characters; LINE allows {maximum}")
    return value


def render_action(action: Action) -> dict[str, Any]:
    label = _limit(action.label, MAX_LABEL, "action label")
    match action:
        case PostbackAction(data=data, display_text=display_text):
            out: dict[str, Any] = {
                "type": "postback",
                "label": label,
                "data": _limit(data, MAX_POSTBACK_DATA, "postback data"),
            }
            if display_text:
                out["displayText"] = display_text
            return out
        case MessageAction(text=text):
            return {"type": "message", "label": label, "text": _limit(text, 300, "message text")}
        case UriAction(uri=uri):
            return {"type": "uri", "label": label, "uri": _limit(uri, 1000, "uri")}
        case DatetimePickerAction():
            out = {
                "type": "datetimepicker",
                "label": label,
                "data": _limit(action.data, MAX_POSTBACK_DATA, "postback data"),
                "mode": action.mode,
            }
            for key in ("initial", "min", "max"):
                if value := getattr(action, key):
                    out[key] = value
            return out
        case LocationAction():
            return {"type": "location", "label": label}
        case CameraAction():
            return {"type": "camera", "label": label}
        case CameraRollAction():
            return {"type": "cameraRoll", "label": label}
    raise RenderError(f"unknown action type {type(action).__name__}")


def _quick_reply(actions: tuple[Action, ...]) -> dict[str, Any] | None:
    if not actions:
        return None
    if len(actions) > MAX_QUICK_REPLIES:
        raise RenderError(f"{len(actions)} quick replies; LINE allows {MAX_QUICK_REPLIES}")
    return {"items": [{"type": "action", "action": render_action(a)} for a in actions]}


def render_message(message: OutboundMessage) -> dict[str, Any]:
    out: dict[str, Any]
    match message:
        case Text(text=text):
            out = {"type": "text", "text": _limit(text, MAX_TEXT, "text")}
        case Image(url=url, preview_url=preview_url):
            out = {"type": "image", "originalContentUrl": url, "previewImageUrl": preview_url}
        case Sticker(package_id=package_id, sticker_id=sticker_id):
            out = {"type": "sticker", "packageId": package_id, "stickerId": sticker_id}
        case Buttons():
            if not 1 <= len(message.actions) <= MAX_BUTTONS:
                raise RenderError(f"a buttons card takes 1 to {MAX_BUTTONS} actions")
            # LINE allows 160 characters of text, or 60 with a title or an image.
            text_limit = 60 if (message.title or message.image_url) else 160
            template: dict[str, Any] = {
                "type": "buttons",
                "text": _limit(message.text, text_limit, "buttons text"),
                "actions": [render_action(a) for a in message.actions],
            }
            if message.title:
                template["title"] = _limit(message.title, 40, "buttons title")
            if message.image_url:
                template["thumbnailImageUrl"] = message.image_url
            out = {
                "type": "template",
                "altText": _limit(message.alt_text, MAX_TEMPLATE_ALT_TEXT, "altText"),
                "template": template,
            }
        case Confirm():
            out = {
                "type": "template",
                "altText": _limit(message.alt_text, MAX_TEMPLATE_ALT_TEXT, "altText"),
                "template": {
                    "type": "confirm",
                    "text": _limit(message.text, 240, "confirm text"),
                    "actions": [render_action(a) for a in message.actions],
                },
            }
        case Flex(alt_text=alt_text, contents=contents):
            if contents.get("type") not in ("bubble", "carousel"):
                raise RenderError("flex contents must be a bubble or a carousel")
            out = {
                "type": "flex",
                "altText": _limit(alt_text, MAX_FLEX_ALT_TEXT, "altText"),
                "contents": contents,
            }
        case _:
            raise RenderError(f"unknown message {message!r}")
    if quick_reply := _quick_reply(message.quick_replies):
        out["quickReply"] = quick_reply
    return out


def render_messages(messages: list[OutboundMessage]) -> list[dict[str, Any]]:
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_REQUEST:
        raise RenderError(f"{len(messages)} messages; LINE takes 1 to 5 a request")
    return [render_message(m) for m in messages]
