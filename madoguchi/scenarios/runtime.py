"""Running a scenario with a resident: steps, answers, branches and jumps.

A resident in a scenario has one `FlowState` (flow "scenario"); its `data` holds the id of the
version they started, so publishing a new version mid-conversation never changes the questions
under their feet, and the answers they gave (`vars`). `step` is the step waiting for them.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.channels.base import (
    Action,
    Buttons,
    CameraAction,
    CameraRollAction,
    DatetimePickerAction,
    LocationAction,
    OutboundMessage,
    PostbackAction,
    Text,
)
from madoguchi.chatbot.answers import cancel_chip, menu_chips
from madoguchi.chatbot.engine import normalise
from madoguchi.chatbot.flows import flow_end, flow_start
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import Answer, Turn, postback_data, postback_handler
from madoguchi.scenarios import capture
from madoguchi.scenarios.definition import (
    MAX_BUTTONS_TEXT,
    MAX_BUTTONS_TEXT_WITH_TITLE,
    MAX_MESSAGES_PER_REPLY,
    MAX_TEXT,
    PLACEHOLDER,
    date_from_spec,
)
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.selectors import version_published

logger = logging.getLogger(__name__)

FLOW_NAME = "scenario"
# Postback actions of scenario buttons (registered in conversation.py).
CHOOSE = "scenario.choose"
PICK_DATE = "scenario.date"
START = "scenario.start"
# A guard at run time for what validation cannot see: scenarios that jump to each other.
MAX_FLOW_HOPS = 3
MAX_STEPS_PER_TURN = 50
MAX_SHOWN_VALUE = 100


def localized(value: Any, language: str) -> str:
    """A text in the resident's language where staff wrote one, else in Japanese."""
    if isinstance(value, dict):
        return str(value.get(language) or value.get("ja") or "")
    return str(value or "")


def _shown(value: Any) -> str:
    if isinstance(value, dict):  # a location
        return str(value.get("address") or f"{value.get('lat', 0):.5f}, {value.get('lng', 0):.5f}")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)[:MAX_SHOWN_VALUE]


def _with_menu(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """The conversation is over: the last message offers the menu for what comes next."""
    if messages and isinstance(messages[-1], Text) and not messages[-1].quick_replies:
        messages[-1] = dataclasses.replace(messages[-1], quick_replies=menu_chips())
    return messages


def _gone() -> list[OutboundMessage]:
    return [Text(_("このご案内は更新されたため、最初からやり直してください。"), quick_replies=menu_chips())]


class Run:
    """One turn of a resident in one version of a scenario."""

    def __init__(self, turn: Turn, state: FlowState, version: ScenarioVersion, hops: int = 0):
        self.turn = turn
        self.state = state
        self.version = version
        self.definition = version.definition
        self.steps: dict[str, dict[str, Any]] = {step["id"]: step for step in self.definition["steps"]}
        self.language = turn.resident.reply_language
        self.vars: dict[str, Any] = dict(state.data.get("vars") or {})
        self.hops = hops
        self.out: list[OutboundMessage] = []
        self.ended = False

    # Texts

    def text(self, value: Any, limit: int = MAX_TEXT) -> str:
        def substitute(match: Any) -> str:
            name = match.group(1)
            return _shown(self.vars[name]) if name in self.vars else ""

        text = PLACEHOLDER.sub(substitute, localized(value, self.language))
        return text if len(text) <= limit else text[: limit - 1] + "…"

    # Moving on

    def go(self, step_id: str) -> Answer:
        """Run steps from `step_id` until one waits for the resident or the scenario ends."""
        for _count in range(MAX_STEPS_PER_TURN):
            step = self.steps.get(step_id)
            if step is None:  # a draft edited under a preview, for instance
                self.end()
                return _gone()
            kind = step["kind"]
            if "from_attr" in step and (filled := self.from_registration(step)) is not None:
                step_id = filled
                if step_id == "":  # a choice that leaves the scenario
                    return self.out[:MAX_MESSAGES_PER_REPLY]
                continue
            if kind == "message" and step.get("choices"):
                self.out.append(self.choices_message(step))
                return self.wait(step_id)
            if kind == "message":
                self.out.append(Text(self.text(step["text"])))
                if not step.get("next"):
                    return self.finish()
                step_id = step["next"]
            elif kind == "ask":
                self.out.append(self.prompt(step))
                return self.wait(step_id)
            elif kind == "branch":
                step_id = next(
                    (rule["next"] for rule in step["rules"] if self.holds(rule["if"])), step["else"]
                )
            elif kind == "goto" and "step" in step:
                step_id = step["step"]
            elif kind == "goto":
                return self.leave(step)
            else:  # end
                if step.get("text"):
                    self.out.append(Text(self.text(step["text"])))
                return self.finish()
        logger.error("scenario %s v%s ran too many steps", self.version.scenario_id, self.version.number)
        self.end()
        return _gone()

    def wait(self, step_id: str) -> Answer:
        self.state.flow = FLOW_NAME
        self.state.step = step_id
        self.state.data = {**self.state.data, "vars": self.vars}
        self.state.save()
        return self.out[:MAX_MESSAGES_PER_REPLY]

    def end(self) -> None:
        if not self.ended:
            flow_end(self.turn.resident)
            self.ended = True

    def finish(self) -> Answer:
        self.end()
        return _with_menu(self.out)[:MAX_MESSAGES_PER_REPLY]

    def leave(self, target: dict[str, Any]) -> Answer:
        """Jump out of this scenario: to an FAQ entry, another scenario, an action or a person."""
        self.end()
        if "flow" in target:
            version = version_published(target["flow"])
            if version is None or self.hops >= MAX_FLOW_HOPS:
                self.out.append(Text(_("このご案内は現在ご利用いただけません。"), quick_replies=menu_chips()))
            else:
                self.out += scenario_start(self.turn, version, hops=self.hops + 1)
            return self.out[:MAX_MESSAGES_PER_REPLY]
        if "faq" in target:
            name, params = "faq.show", {"id": target["faq"]}
        elif "action" in target:
            name, params = target["action"], {}
        else:
            name, params = "handoff", {}
        handler = postback_handler(name)
        if handler is None:
            self.out.append(Text(_("このご案内は現在ご利用いただけません。"), quick_replies=menu_chips()))
        else:
            self.out += handler(self.turn, params)
        return self.out[:MAX_MESSAGES_PER_REPLY]

    # Messages that wait

    def choices_message(self, step: dict[str, Any]) -> OutboundMessage:
        actions = tuple(
            PostbackAction(
                label=self.text(choice["label"], 20),
                data=postback_data(CHOOSE, v=str(self.version.pk), s=step["id"], c=str(number)),
                display_text=self.text(choice["label"], 20),
            )
            for number, choice in enumerate(step["choices"])
        )
        if step.get("style") == "buttons":
            title = self.text(step["title"], 40) if step.get("title") else None
            limit = MAX_BUTTONS_TEXT_WITH_TITLE if title else MAX_BUTTONS_TEXT
            text = self.text(step["text"], limit)
            return Buttons(
                alt_text=text[:400], text=text, actions=actions, title=title, quick_replies=(cancel_chip(),)
            )
        chips: tuple[Action, ...] = actions + ((cancel_chip(),) if len(actions) < 13 else ())
        return Text(self.text(step["text"]), quick_replies=chips)

    def prompt(self, step: dict[str, Any]) -> OutboundMessage:
        chips: list[Action] = []
        if step["capture"] == "date":
            today = timezone.localdate()
            low = date_from_spec(step["min"], today) if "min" in step else None
            high = date_from_spec(step["max"], today) if "max" in step else None
            chips.append(
                DatetimePickerAction(
                    label=_("日付を選ぶ"),
                    data=postback_data(PICK_DATE, v=str(self.version.pk), s=step["id"]),
                    mode="date",
                    min=_picker_date(low) if low else None,
                    max=_picker_date(high) if high else None,
                )
            )
        elif step["capture"] == "location":
            chips.append(LocationAction(label=_("位置情報を送る")))
        elif step["capture"] == "photo":
            chips += [CameraAction(label=_("カメラ")), CameraRollAction(label=_("写真を選ぶ"))]
        return Text(self.text(step["text"]), quick_replies=(*chips, cancel_chip()))

    def current_prompt(self) -> Answer:
        """The waiting step, asked again (after a stale button or an answer that did not fit)."""
        step = self.steps.get(self.state.step)
        if step is None:
            self.end()
            return _gone()
        self.out.append(self.choices_message(step) if step["kind"] == "message" else self.prompt(step))
        return self.out[:MAX_MESSAGES_PER_REPLY]

    # The resident's answers

    def answer(self) -> Answer:
        """Whatever the resident sent while this scenario waits for them."""
        step = self.steps.get(self.state.step)
        if step is None:
            self.end()
            return _gone()
        if step["kind"] == "message" and step.get("choices"):
            typed = normalise(self.turn.raw_text or "")
            for number, choice in enumerate(step["choices"]):
                labels = {normalise(self.text(choice["label"])), normalise(localized(choice["label"], "ja"))}
                if typed and (typed in labels or typed == normalise(str(choice.get("value", "")))):
                    return self.choose(number)
            self.out.append(
                Text(_("下の選択肢からお選びください。中止するときは「やめる」と送ってください。"))
            )
            return self.current_prompt()
        if step["kind"] != "ask":
            return self.go(step["id"])
        try:
            value = self.read(step)
        except capture.Invalid as problem:
            custom = self.text(step["error"]) if step.get("error") else ""
            self.out.append(Text(custom or str(problem)))
            return self.current_prompt()
        return self.store_and_go(step, value)

    def read(self, step: dict[str, Any]) -> Any:
        kind = step["capture"]
        if kind == "text":
            return capture.read_text(self.turn, step)
        if kind == "number":
            return capture.read_number(self.turn, step)
        if kind == "date":
            if self.turn.message_type != "text" or self.turn.raw_text is None:
                raise capture.Invalid(_("日付を入力するか、「日付を選ぶ」から選んでください。"))
            return capture.read_date(self.turn.raw_text, step, timezone.localdate())
        if kind == "photo":
            return capture.read_photo(self.turn)
        return capture.read_location(self.turn)

    def answer_date(self, picked: str) -> Answer:
        step = self.steps.get(self.state.step)
        if step is None or step["kind"] != "ask" or step["capture"] != "date":
            return self.current_prompt()
        try:
            value = capture.read_date(picked, step, timezone.localdate())
        except capture.Invalid as problem:
            self.out.append(Text(self.text(step["error"]) if step.get("error") else str(problem)))
            return self.current_prompt()
        return self.store_and_go(step, value)

    def store_and_go(self, step: dict[str, Any], value: Any) -> Answer:
        self.vars[step["var"]] = value
        if step["capture"] == "date":
            self.vars[f"{step['var']}_age"] = capture.full_years(value, timezone.localdate())
        return self.go(step["next"])

    def choose(self, number: int) -> Answer:
        step = self.steps[self.state.step]
        choice = step["choices"][number]
        if step.get("var"):
            self.vars[step["var"]] = choice.get("value", localized(choice["label"], "ja"))
        if "next" in choice:
            return self.go(choice["next"])
        return self.leave(choice)

    # Branches

    def from_registration(self, step: dict[str, Any]) -> str | None:
        """What the resident registered, instead of asking (`from_attr`): the next step's id,
        "" when the choice left the scenario, None to ask as usual."""
        name = step["from_attr"]
        if name == "youngest_child_birthdate":
            born = self.youngest_birthdate()
            if born is None:
                return None
            try:  # a birthdate outside the question's min/max is asked for as usual
                value = capture.read_date(born.isoformat(), step, timezone.localdate())
            except capture.Invalid:
                return None
            self.vars[step["var"]] = value
            self.vars[f"{step['var']}_age"] = capture.full_years(value, timezone.localdate())
            return str(step["next"])
        value = self.attribute(name)
        if value in (None, ""):
            return None
        forms = {normalise(str(value))}
        district = self.turn.resident.district if name == "district" else None
        if district is not None:  # a district matches by its code or its name, with or without 地区
            forms |= {normalise(district.name), normalise(district.name.removesuffix("地区"))}
        for number, choice in enumerate(step["choices"]):
            if normalise(_shown(choice.get("value", localized(choice["label"], "ja")))) in forms:
                return self.choose_from(step, number)
        return None

    def choose_from(self, step: dict[str, Any], number: int) -> str:
        choice = step["choices"][number]
        self.vars[step["var"]] = choice.get("value", localized(choice["label"], "ja"))
        if "next" in choice:
            return str(choice["next"])
        self.leave(choice)
        return ""

    def youngest_birthdate(self) -> date | None:
        child = self.turn.resident.children.order_by("-birthdate").first()
        return child.birthdate if child is not None else None

    def attribute(self, name: str) -> Any:
        resident = self.turn.resident
        if name == "language":
            return resident.reply_language
        if name == "district":
            return resident.district.code if resident.district is not None else None
        if name in ("audience", "age_band"):
            return getattr(resident, name) or None
        if name == "interests":
            return sorted(resident.interests.values_list("code", flat=True))
        if name == "tags":
            return sorted(resident.tags.values_list("name", flat=True))
        if name in ("has_children", "child_age", "child_age_months"):
            born = self.youngest_birthdate()
            if name == "has_children":  # unknown (missing) until the resident has registered
                return "yes" if born is not None else "no" if resident.registered_at else None
            if born is None:
                return None
            today = timezone.localdate()
            months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
            return months // 12 if name == "child_age" else months
        followed = resident.followed_at or resident.created_at
        return (timezone.now() - followed).days if followed else 0

    def holds(self, condition: dict[str, Any]) -> bool:
        if "all" in condition:
            return all(self.holds(part) for part in condition["all"])
        if "any" in condition:
            return any(self.holds(part) for part in condition["any"])
        left = self.vars.get(condition["var"]) if "var" in condition else self.attribute(condition["attr"])
        return compare(left, condition["op"], condition.get("value"))


def _picker_date(value: date) -> str:
    # LINE's date picker takes dates from 1900-01-01 to 2100-12-31.
    return min(max(value, date(1900, 1, 1)), date(2100, 12, 31)).isoformat()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(normalise(str(value)))
    except ValueError:
        return None


def _same(left: Any, right: Any) -> bool:
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return normalise(_shown(left)) == normalise(_shown(right))


def compare(left: Any, op: str, right: Any) -> bool:
    """One condition of a branch. Numbers compare as numbers, ISO dates as dates, else as text."""
    if isinstance(left, list):  # interests, tags: present when there is one; contains = has
        if op in ("exists", "missing"):
            return bool(left) == (op == "exists")
        return op == "contains" and any(_same(item, right) for item in left)
    present = left is not None and left != ""
    if op == "exists":
        return present
    if op == "missing":
        return not present
    if not present:
        return False
    if op == "eq":
        return _same(left, right)
    if op == "ne":
        return not _same(left, right)
    if op == "in":
        return any(_same(left, item) for item in right)
    if op == "not_in":
        return not any(_same(left, item) for item in right)
    if op == "contains":
        return normalise(_shown(right)) in normalise(_shown(left))
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        a: Any = left_number
        b: Any = right_number
    else:
        a, b = capture.parse_date(_shown(left)), capture.parse_date(_shown(right))
        if a is None or b is None:
            return False
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]


def scenario_start(turn: Turn, version: ScenarioVersion, *, hops: int = 0) -> Answer:
    """Put the resident at the start of `version` and answer with its first steps."""
    state = flow_start(
        turn.resident,
        FLOW_NAME,
        version.definition["start"],
        {"version": version.pk, "scenario": version.scenario.slug, "vars": {}},
    )
    return Run(turn, state, version, hops).go(version.definition["start"])


def pinned_version(state: FlowState) -> ScenarioVersion | None:
    """The version this resident started (whatever has been published since)."""
    version_id = state.data.get("version") if isinstance(state.data, dict) else None
    if not isinstance(version_id, int):
        return None
    return ScenarioVersion.objects.select_related("scenario").filter(pk=version_id).first()


class ScenarioFlow:
    """chatbot.registry.Flow: every message of a resident in a scenario comes here first."""

    name = FLOW_NAME

    def handle(self, turn: Turn, state: FlowState) -> Answer:
        version = pinned_version(state)
        if version is None:
            flow_end(turn.resident)
            return _gone()
        return Run(turn, state, version).answer()
