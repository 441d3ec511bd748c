"""Where feature apps plug into the conversation, without editing the dispatcher.

- `postback_action("name")` registers a handler for postbacks whose data is `a=name&...`.
- `register_flow(flow)` registers a scenario flow; `flow_start` puts a resident in it, and
  while they are in it every message goes to `flow.handle` first.
- `register_matcher("operator" | "scenario" | "faq", fn)` adds a stage after keywords: the
  operator inbox (keeps the bot quiet during a conversation with staff), scenario trigger words
  and FAQ matching. A matcher returns
  None to pass, or the messages to answer with (an empty list answers nothing).

Feature apps register in their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode

from madoguchi.channels.base import OutboundMessage

if TYPE_CHECKING:
    from madoguchi.chatbot.models import FlowState
    from madoguchi.core.models import Channel
    from madoguchi.residents.models import Resident


@dataclass
class Turn:
    """One thing a resident did, as the dispatcher and feature apps see it."""

    channel: Channel
    resident: Resident
    event_type: str
    payload: dict[str, Any]
    text: str | None = None  # a text message, normalised
    raw_text: str | None = None
    postback_data: str | None = None
    postback_params: dict[str, Any] = field(default_factory=dict)
    message_type: str | None = None  # text, image, location, sticker ...
    message_id: str | None = None

    @property
    def location(self) -> dict[str, Any] | None:
        message = self.payload.get("message")
        if self.message_type == "location" and isinstance(message, dict):
            return message
        return None


Answer = list[OutboundMessage]
PostbackHandler = Callable[[Turn, dict[str, str]], Answer]
Matcher = Callable[[Turn], Answer | None]
Stage = Literal["operator", "scenario", "faq"]


class Flow(Protocol):
    name: str

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        """Answer a turn of a resident in this flow; move `state` on or end it."""


_postback_actions: dict[str, PostbackHandler] = {}
_flows: dict[str, Flow] = {}
_matchers: dict[Stage, list[Matcher]] = {"operator": [], "scenario": [], "faq": []}


def postback_action(name: str) -> Callable[[PostbackHandler], PostbackHandler]:
    def register(handler: PostbackHandler) -> PostbackHandler:
        if name in _postback_actions and _postback_actions[name] is not handler:
            raise ValueError(f"postback action {name!r} is registered twice")
        _postback_actions[name] = handler
        return handler

    return register


def register_flow(flow: Flow) -> Flow:
    _flows[flow.name] = flow
    return flow


def register_matcher(stage: Stage, matcher: Matcher) -> Matcher:
    if matcher not in _matchers[stage]:
        _matchers[stage].append(matcher)
    return matcher


def postback_handler(name: str) -> PostbackHandler | None:
    return _postback_actions.get(name)


def has_postback_action(name: str) -> bool:
    return name in _postback_actions


def flow_named(name: str) -> Flow | None:
    return _flows.get(name)


def matchers(stage: Stage) -> list[Matcher]:
    return list(_matchers[stage])


def postback_data(action: str, **params: str) -> str:
    """The data string of a postback that `postback_action(action)` will receive."""
    return urlencode({"a": action, **params})


def parse_postback(data: str) -> tuple[str, dict[str, str]]:
    params = dict(parse_qsl(data, keep_blank_values=True))
    return params.pop("a", ""), params
