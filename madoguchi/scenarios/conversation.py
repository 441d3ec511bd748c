"""Scenarios in the conversation: the flow, the postbacks of their buttons, and trigger words."""

from __future__ import annotations

from django.utils.translation import gettext as _

from madoguchi.channels.base import PostbackAction, Text
from madoguchi.chatbot.answers import menu_chips
from madoguchi.chatbot.flows import flow_active
from madoguchi.chatbot.registry import (
    Answer,
    Turn,
    postback_action,
    postback_data,
    register_flow,
    register_matcher,
)
from madoguchi.scenarios.models import ScenarioVersion
from madoguchi.scenarios.runtime import (
    CHOOSE,
    FLOW_NAME,
    PICK_DATE,
    START,
    Run,
    ScenarioFlow,
    pinned_version,
    scenario_start,
)
from madoguchi.scenarios.selectors import version_published, version_triggered_by

register_flow(ScenarioFlow())


def trigger_stage(turn: Turn) -> Answer | None:
    """Typing a scenario's trigger word (台風, 子育て) starts its published version."""
    if not turn.raw_text:
        return None
    version = version_triggered_by(turn.raw_text[:200])
    return scenario_start(turn, version) if version is not None else None


register_matcher("scenario", trigger_stage)


def _current_run(turn: Turn, params: dict[str, str]) -> Run | None:
    """The resident's scenario, if the tapped button belongs to the step now waiting."""
    state = flow_active(turn.resident)
    if state is None or state.flow != FLOW_NAME:
        return None
    version = pinned_version(state)
    if version is None:
        return None
    run = Run(turn, state, version)
    if params.get("v") != str(version.pk) or params.get("s") != state.step:
        # A button from an earlier question: say so, and ask the current one again.
        run.out.append(Text(_("前の質問のボタンです。いまの質問にお答えください。")))
        raise _Stale(run.current_prompt())
    return run


class _Stale(Exception):
    def __init__(self, answer: Answer):
        self.answer = answer


def _finished(turn: Turn, params: dict[str, str]) -> Answer:
    """A button of a scenario the resident already left: offer to start it again."""
    state = flow_active(turn.resident)
    if state is not None and state.flow != FLOW_NAME:
        return [Text(_("前のご案内のボタンです。いまの手続きを続けてください。"))]
    version = _published_successor(params.get("v", ""))
    if version is None:
        return [Text(_("このご案内は終了しています。"), quick_replies=menu_chips())]
    again = PostbackAction(
        label=_("最初から"),
        data=postback_data(START, slug=version.scenario.slug),
        display_text=version.scenario.title[:300],
    )
    return [
        Text(
            _("このご案内は終了しています。もう一度ご覧になるときは「最初から」を押してください。"),
            quick_replies=(again, *menu_chips()),
        )
    ]


def _published_successor(version_id: str) -> ScenarioVersion | None:
    """The version published now of the scenario an old button came from."""
    if not version_id.isdigit() or len(version_id) > 18:
        return None
    old = ScenarioVersion.objects.select_related("scenario").filter(pk=int(version_id)).first()
    return version_published(old.scenario.slug) if old is not None else None


@postback_action(CHOOSE)
def choose(turn: Turn, params: dict[str, str]) -> Answer:
    try:
        run = _current_run(turn, params)
    except _Stale as stale:
        return stale.answer
    if run is None:
        return _finished(turn, params)
    step = run.steps.get(run.state.step, {})
    number = params.get("c", "")
    if not number.isdigit() or int(number) >= len(step.get("choices") or []):
        return run.current_prompt()
    return run.choose(int(number))


@postback_action(PICK_DATE)
def pick_date(turn: Turn, params: dict[str, str]) -> Answer:
    try:
        run = _current_run(turn, params)
    except _Stale as stale:
        return stale.answer
    if run is None:
        return _finished(turn, params)
    picked = turn.postback_params.get("date")
    if not isinstance(picked, str):
        return run.current_prompt()
    return run.answer_date(picked[:20])


@postback_action(START)
def start(turn: Turn, params: dict[str, str]) -> Answer:
    version = version_published(params.get("slug", ""))
    if version is None:
        return [Text(_("このご案内は現在ご利用いただけません。"), quick_replies=menu_chips())]
    return scenario_start(turn, version)
