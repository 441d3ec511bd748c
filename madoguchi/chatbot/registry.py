"""Where feature apps plug into the conversation, without editing the dispatcher.

- `postback_action("name")` registers a handler for postbacks whose data is `a=name&...`.
  `postback_batch_action("name")` may add a handler of many such turns at once, for actions that
  come in bursts (安否確認 answers): the dispatcher gives it the turns of one batch of events
  together, and it returns one answer per turn, as the single handler would have.
- `register_flow(flow)` registers a scenario flow; `flow_start` puts a resident in it, and
  while they are in it every message goes to `flow.handle` first.
- `register_matcher(stage, fn)` adds to a stage of routing: "urgent" (before everything: crisis
  words), "operator" (before flows and keywords: an open conversation with staff keeps the bot
  quiet) and "faq" (after keywords). A matcher returns None to pass, or the messages to answer
  with (an empty list answers nothing).
- `register_confidential_handler(fn)` takes every turn of a confidential (counseling) channel:
  nothing there reaches keywords, flows or the FAQ, which would keep what was said.
- `register_matcher("scenario", fn)`: scenario trigger words, after keywords and before the FAQ.
- `register_matcher("priority", fn)`: after an active flow and words asking for a person, before
  staff's keywords (disaster mode puts disaster scenarios and FAQ there).
- `register_welcome(fn)` adds messages after the greeting a new friend receives (fn(turn) returns
  them; the whole answer is at most five messages).

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
    # Set by a matcher when this turn turned out to be counseling: the stored event and the
    # answer are then kept encrypted.
    confidential: bool = False
    # Set by a matcher whose answer is a guess (the FAQ's close call, three choices): it does not
    # break a streak of misses; ignoring it counts as one (see `register_miss_counter`).
    tentative: bool = False

    @property
    def location(self) -> dict[str, Any] | None:
        message = self.payload.get("message")
        if self.message_type == "location" and isinstance(message, dict):
            return message
        return None


Answer = list[OutboundMessage]
PostbackHandler = Callable[[Turn, dict[str, str]], Answer]
BatchPostbackHandler = Callable[[list[tuple[Turn, dict[str, str]]]], list[Answer]]
Matcher = Callable[[Turn], Answer | None]
Stage = Literal["urgent", "operator", "priority", "scenario", "faq"]


class Flow(Protocol):
    name: str

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        """Answer a turn of a resident in this flow; move `state` on or end it."""


_postback_actions: dict[str, PostbackHandler] = {}
_batch_postback_actions: dict[str, BatchPostbackHandler] = {}
_flows: dict[str, Flow] = {}
_miss_counters: list[Callable[[Turn], int]] = []
_matchers: dict[Stage, list[Matcher]] = {
    "urgent": [],
    "operator": [],
    "priority": [],
    "scenario": [],
    "faq": [],
}
_confidential_handler: list[Callable[[Turn], Answer]] = []
_welcomes: list[Callable[[Turn], Answer]] = []


def postback_action(name: str) -> Callable[[PostbackHandler], PostbackHandler]:
    def register(handler: PostbackHandler) -> PostbackHandler:
        if name in _postback_actions and _postback_actions[name] is not handler:
            raise ValueError(f"postback action {name!r} is registered twice")
        _postback_actions[name] = handler
        return handler

    return register


def postback_batch_action(name: str) -> Callable[[BatchPostbackHandler], BatchPostbackHandler]:
    def register(handler: BatchPostbackHandler) -> BatchPostbackHandler:
        if name in _batch_postback_actions and _batch_postback_actions[name] is not handler:
            raise ValueError(f"batch postback action {name!r} is registered twice")
        _batch_postback_actions[name] = handler
        return handler

    return register


def register_flow(flow: Flow) -> Flow:
    _flows[flow.name] = flow
    return flow


def register_matcher(stage: Stage, matcher: Matcher) -> Matcher:
    if matcher not in _matchers[stage]:
        _matchers[stage].append(matcher)
    return matcher


def register_miss_counter(counter: Callable[[Turn], int]) -> Callable[[Turn], int]:
    """A feature's count of its earlier guesses this turn shows the resident ignored (they typed
    something else instead of picking one): each is a miss of the streak."""
    if counter not in _miss_counters:
        _miss_counters.append(counter)
    return counter


def miss_counters() -> list[Callable[[Turn], int]]:
    return list(_miss_counters)


def register_confidential_handler(handler: Callable[[Turn], Answer]) -> Callable[[Turn], Answer]:
    _confidential_handler[:] = [handler]
    return handler


def register_welcome(welcome: Callable[[Turn], Answer]) -> Callable[[Turn], Answer]:
    if welcome not in _welcomes:
        _welcomes.append(welcome)
    return welcome


def welcomes() -> list[Callable[[Turn], Answer]]:
    return list(_welcomes)


def confidential_handler() -> Callable[[Turn], Answer] | None:
    return _confidential_handler[0] if _confidential_handler else None


def postback_handler(name: str) -> PostbackHandler | None:
    return _postback_actions.get(name)


def postback_batch_handler(name: str) -> BatchPostbackHandler | None:
    return _batch_postback_actions.get(name)


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
