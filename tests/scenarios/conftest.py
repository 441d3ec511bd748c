"""Residents talking to scenarios through the real dispatcher (`chatbot.engine.route`), in process.

The whole path from LINE over linesim is covered in test_scenarios_over_line.py and the browser
test; here a turn is built from a webhook-shaped payload exactly as the dispatcher builds it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import translation

from madoguchi.channels.base import Buttons, OutboundMessage, PostbackAction, Text
from madoguchi.chatbot.engine import _turn, route
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.services import scenario_import

DATA = Path(__file__).resolve().parents[2] / "madoguchi" / "scenarios" / "data"


class Phone:
    """One resident's side of the conversation."""

    def __init__(self, resident: Resident):
        self.resident = resident
        self.last: list[OutboundMessage] = []

    def _send(self, payload: dict[str, Any]) -> list[OutboundMessage]:
        self.resident.refresh_from_db()
        event = SimpleNamespace(
            channel=self.resident.channel,
            event_type=payload["type"],
            payload=payload,
            webhook_event_id="test",
            source_user_id=self.resident.line_user_id,
        )
        turn = _turn(event, self.resident)  # type: ignore[arg-type]
        with translation.override(self.resident.reply_language):
            self.last = route(turn)
        return self.last

    def say(self, text: str) -> list[OutboundMessage]:
        return self._send({"type": "message", "message": {"id": "1", "type": "text", "text": text}})

    def photo(self, message_id: str = "468789577898262530") -> list[OutboundMessage]:
        return self._send({"type": "message", "message": {"id": message_id, "type": "image"}})

    def sticker(self) -> list[OutboundMessage]:
        return self._send({"type": "message", "message": {"id": "2", "type": "sticker", "packageId": "1"}})

    def location(self, **fields: Any) -> list[OutboundMessage]:
        return self._send({"type": "message", "message": {"id": "3", "type": "location", **fields}})

    def postback(self, data: str, params: dict[str, Any] | None = None) -> list[OutboundMessage]:
        postback: dict[str, Any] = {"data": data}
        if params is not None:
            postback["params"] = params
        return self._send({"type": "postback", "postback": postback})

    def tap(self, label: str, among: list[OutboundMessage] | None = None) -> list[OutboundMessage]:
        """Tap the button or quick reply with this label in the last answer."""
        for action in actions(among if among is not None else self.last):
            if action.label == label:
                if isinstance(action, PostbackAction):
                    return self.postback(action.data)
                return self.say(action.text)  # type: ignore[union-attr]
        raise AssertionError(f"no {label!r} among {[a.label for a in actions(self.last)]}")

    @property
    def texts(self) -> list[str]:
        return [text_of(message) for message in self.last]


def actions(messages: list[OutboundMessage]) -> list[Any]:
    found: list[Any] = []
    for message in messages:
        if isinstance(message, Buttons):
            found += message.actions
        found += getattr(message, "quick_replies", ())
    return found


def labels(messages: list[OutboundMessage]) -> list[str]:
    return [action.label for action in actions(messages)]


def text_of(message: OutboundMessage) -> str:
    return message.text if isinstance(message, Text | Buttons) else getattr(message, "alt_text", "")


@pytest.fixture
def channel(db: None) -> Channel:
    return Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )


@pytest.fixture
def phone(channel: Channel) -> Phone:
    return Phone(Resident.objects.create(channel=channel, line_user_id="U" + "a" * 32, display_name="住民"))


def publish(source: str) -> ScenarioVersion:
    return scenario_import(source.encode(), publish=True)


@pytest.fixture
def demo_flows(db: None) -> dict[str, ScenarioVersion]:
    return {
        path.stem: scenario_import(path.read_bytes(), publish=True) for path in sorted(DATA.glob("*.yaml"))
    }
