"""The scenario editor's forms: a scenario as a list of steps staff fill in, and back.

Three shapes meet here:

- the **definition** (`scenarios/definition.py`): what is saved and what residents run;
- the **editor state**: the same scenario as plain strings, one step after another, as the form
  shows it (`editor_from_definition`) and as it comes back in a POST (`editor_from_post`);
- the **form's fields**, named after their place: `s-2-text-ja`, `s-2-c-0-label-en`,
  `s-4-r-1-0-op` (step 2's Japanese text, its first choice's English label, step 4's second
  rule's first condition's operator).

`definition_from_editor` turns the state back into a definition, which the view checks with
`definition_validate`, the one schema the YAML path goes through too; nothing here decides what
is valid. Buttons that add, remove or move steps post the whole form with `op` (`add`,
`delete:3`, `up:3`, `add-choice:3` …), so the page works without JavaScript: the server applies
the operation and shows the form again, saving nothing until 下書きを保存 and a valid definition.

A step the form cannot show faithfully (nested conditions, values of a type the fields cannot
hold) is kept as a "yaml" step: its own YAML in a text box, read with the same safe parser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.scenarios.definition import (
    LANGUAGE_CODES,
    MAX_STEPS,
    DefinitionInvalid,
    Problem,
    definition_dump,
    definition_parse,
)

# What the form accepts at most: a little over the schema's limits, so that the schema can say
# what is too many instead of the form dropping it silently.
MAX_FORM_STEPS = MAX_STEPS + 10
MAX_FORM_CHOICES = 20
MAX_FORM_RULES = 60
MAX_FORM_CONDITIONS = 25

EDITOR_KINDS = ("message", "ask", "branch", "goto", "end", "yaml")
KIND_LABELS: dict[str, str | Promise] = {
    "message": gettext_lazy("メッセージ (選択肢・ボタンも)"),
    "ask": gettext_lazy("質問 (文字・数・日付・写真・位置)"),
    "branch": gettext_lazy("分岐 (答えや住民の属性で分ける)"),
    "goto": gettext_lazy("移動 (よくある質問・別のシナリオ・機能・職員)"),
    "end": gettext_lazy("終わり"),
    "yaml": gettext_lazy("YAML で書く (上級者向け)"),
}
# The add menu: a message with choices is what staff call buttons or quick replies.
ADD_KINDS: list[tuple[str, str | Promise]] = [
    ("message", gettext_lazy("メッセージ (文だけ)")),
    ("choices", gettext_lazy("選択肢 (クイックリプライ・ボタン)")),
    ("ask", gettext_lazy("質問")),
    ("branch", gettext_lazy("分岐")),
    ("goto", gettext_lazy("移動")),
    ("end", gettext_lazy("終わり")),
]
CAPTURE_LABELS: dict[str, str | Promise] = {
    "text": gettext_lazy("文字"),
    "number": gettext_lazy("数"),
    "date": gettext_lazy("日付"),
    "photo": gettext_lazy("写真"),
    "location": gettext_lazy("位置情報"),
}
STYLE_LABELS: list[tuple[str, str | Promise]] = [
    ("", gettext_lazy("クイックリプライ (13 個まで)")),
    ("buttons", gettext_lazy("ボタン (4 個まで、本文 160 文字まで)")),
]
INTEGER_LABELS: list[tuple[str, str | Promise]] = [
    ("", gettext_lazy("整数 (既定)")),
    ("true", gettext_lazy("整数だけ")),
    ("false", gettext_lazy("小数も可")),
]
TARGET_LABELS: dict[str, str | Promise] = {
    "next": gettext_lazy("次のステップ"),
    "faq": gettext_lazy("よくある質問"),
    "flow": gettext_lazy("別のシナリオ"),
    "action": gettext_lazy("機能"),
    "handoff": gettext_lazy("職員と話す"),
}
OPERATOR_LABELS: dict[str, str | Promise] = {
    "eq": gettext_lazy("が次と等しい"),
    "ne": gettext_lazy("が次と等しくない"),
    "in": gettext_lazy("が次のいずれか (、で区切る)"),
    "not_in": gettext_lazy("が次のいずれでもない (、で区切る)"),
    "lt": gettext_lazy("が次より小さい"),
    "le": gettext_lazy("が次以下"),
    "gt": gettext_lazy("が次より大きい"),
    "ge": gettext_lazy("が次以上"),
    "contains": gettext_lazy("が次を含む"),
    "exists": gettext_lazy("がある (答えた・登録した)"),
    "missing": gettext_lazy("がない"),
}
ATTRIBUTE_LABELS: dict[str, str | Promise] = {
    "language": gettext_lazy("言語"),
    "friend_days": gettext_lazy("友だち追加からの日数"),
    "district": gettext_lazy("地区 (コード)"),
    "audience": gettext_lazy("区分"),
    "age_band": gettext_lazy("年代"),
    "interests": gettext_lazy("関心 (コード)"),
    "tags": gettext_lazy("タグ"),
    "has_children": gettext_lazy("子どもの登録 (yes / no)"),
    "child_age": gettext_lazy("いちばん下の子の年齢"),
    "child_age_months": gettext_lazy("いちばん下の子の月齢"),
}
FROM_ATTR_LABELS: dict[str, str | Promise] = {
    "district": gettext_lazy("登録した地区"),
    "audience": gettext_lazy("登録した区分"),
    "age_band": gettext_lazy("登録した年代"),
    "has_children": gettext_lazy("子どもの登録の有無"),
    "youngest_child_birthdate": gettext_lazy("いちばん下の子の生年月日"),
}
# Chatbot actions a step may jump to: they take no parameters and make sense on their own.
# Only those some installed app registered are offered.
ACTIONS: list[tuple[str, str | Promise]] = [
    ("menu", gettext_lazy("メニュー (よくある質問の話題)")),
    ("language", gettext_lazy("言語を選ぶ")),
    ("handoff", gettext_lazy("職員と話す")),
    ("profile.start", gettext_lazy("登録・登録内容の変更")),
    ("reports.start", gettext_lazy("道路・公園などの不具合を通報")),
    ("reports.mine", gettext_lazy("自分の通報の状況")),
    ("bulky.start", gettext_lazy("粗大ごみの申し込み")),
    ("disaster.shelters", gettext_lazy("近くの避難所")),
]
TEXT_FIELDS = ("text", "title", "error")
NUMBER = re.compile(r"^-?\d{1,15}$")
DECIMAL = re.compile(r"^-?\d{1,15}\.\d{1,15}$")
SEPARATORS = re.compile(r"[,、\n]")
OP = re.compile(r"^[a-z-]{2,20}(?::\d{1,3}){0,3}$")
# The part of a problem's `where` after the step's name: which choice or rule, which field.
WHERE_IN_STEP = re.compile(
    r"^(?:ステップ「[^」]*」|\d+ 番目のステップ)(?:の (\d+) 番目の(選択肢|条件))?(?:の (\w+))?$"
)


# Values between the form's strings and the definition's types


def _number(text: str) -> int | float | str:
    text = text.strip()
    if NUMBER.match(text):
        return int(text)
    if DECIMAL.match(text):
        return float(text)
    return text


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_shown(v) for v in value)
    return "" if value is None else str(value)


def _text_in(value: Any) -> dict[str, str] | None:
    """A definition's text as one entry per language; None when it is not a text at all."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"ja": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    return None


def _text_out(value: Mapping[str, str]) -> str | dict[str, str] | None:
    """Only Japanese: a plain string (as staff write it in YAML); else one text per language."""
    written = {language: text for language, text in value.items() if text != ""}
    if not written:
        return None
    if list(written) == ["ja"]:
        return written["ja"]
    return written


# Definition → editor state


def _target_in(item: dict[str, Any], step_key: str) -> dict[str, str]:
    for key in (step_key, "faq", "flow", "action"):
        if key in item:
            return {"to": "next" if key == step_key else key, "value": _shown(item[key])}
    if "handoff" in item:
        return {"to": "handoff", "value": ""}
    return {"to": "next", "value": ""}


def _condition_in(cond: dict[str, Any]) -> dict[str, str]:
    subject = f"var:{cond['var']}" if "var" in cond else f"attr:{cond.get('attr', '')}"
    return {"subject": subject, "op": str(cond.get("op", "")), "value": _shown(cond.get("value"))}


def _rule_in(rule: dict[str, Any]) -> dict[str, Any]:
    cond = rule.get("if") if isinstance(rule, dict) else None
    if (
        isinstance(cond, dict)
        and set(cond) in ({"all"}, {"any"})
        and isinstance(next(iter(cond.values())), list)
    ):
        match = next(iter(cond))
        parts = [_condition_in(c) if isinstance(c, dict) else {} for c in cond[match]]
    else:
        match = "all"
        parts = [_condition_in(cond if isinstance(cond, dict) else {})]
    return {"match": match, "conditions": parts, "next": _shown(rule.get("next"))}


def blank_step(kind: str, step_id: str) -> dict[str, Any]:
    """A new step of this kind, every field empty; "choices" is a message with two choices."""
    step: dict[str, Any] = {
        "id": step_id,
        "orig": step_id,
        "kind": "message" if kind == "choices" else kind,
        "text": {},
        "title": {},
        "error": {},
        "style": "",
        "var": "",
        "from_attr": "",
        "next": "",
        "choices": [],
        "capture": "text",
        "min": "",
        "max": "",
        "integer": "",
        "max_length": "",
        "rules": [],
        "else": "",
        "target": {"to": "next", "value": ""},
        "source": "",
    }
    if kind == "choices":
        step["choices"] = [blank_choice(), blank_choice()]
    if kind == "branch":
        step["rules"] = [blank_rule()]
    if kind == "yaml":
        step["source"] = f"id: {step_id}\nkind: end\n"
    return step


def blank_choice() -> dict[str, Any]:
    return {"label": {}, "value": "", "target": {"to": "next", "value": ""}}


def blank_rule() -> dict[str, Any]:
    return {"match": "all", "conditions": [blank_condition()], "next": ""}


def blank_condition() -> dict[str, str]:
    return {"subject": "", "op": "eq", "value": ""}


def _step_in(step: dict[str, Any]) -> dict[str, Any] | None:
    """The editor's form of one step, or None when the form cannot hold it."""
    kind = step.get("kind")
    if kind not in EDITOR_KINDS[:-1] or not isinstance(step.get("id"), str):
        return None
    out = blank_step(kind, step["id"])
    for key in TEXT_FIELDS:
        text = _text_in(step.get(key))
        if text is None:
            return None
        out[key] = text
    for key in ("style", "var", "from_attr", "min", "max", "max_length"):
        if key in step:
            out[key] = _shown(step[key])
    if step.get("style") == "quick_replies":
        out["style"] = ""
    if kind == "message":
        out["next"] = _shown(step.get("next"))
        choices = step.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            return None
        for choice in choices:
            label = _text_in(choice.get("label"))
            if label is None:
                return None
            out["choices"].append(
                {"label": label, "value": _shown(choice.get("value")), "target": _target_in(choice, "next")}
            )
    elif kind == "ask":
        out["capture"] = _shown(step.get("capture"))
        out["next"] = _shown(step.get("next"))
        if "integer" in step:
            out["integer"] = {True: "true", False: "false"}.get(step["integer"], "?")
    elif kind == "branch":
        rules = step.get("rules")
        if not isinstance(rules, list):
            return None
        out["rules"] = [_rule_in(rule) for rule in rules]
        out["else"] = _shown(step.get("else"))
    elif kind == "goto":
        out["target"] = _target_in(step, "step")
    return out


def _yaml_step(step: Any, position: int) -> dict[str, Any]:
    step_id = step.get("id") if isinstance(step, dict) and isinstance(step.get("id"), str) else ""
    out = blank_step("yaml", step_id or f"step-{position + 1}")
    out["source"] = definition_dump(step) if isinstance(step, dict) else ""
    return out


def editor_from_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The editor's state for a stored definition. Each step is shown in fields when they give
    back exactly that step, else as its own YAML."""
    steps = []
    for position, step in enumerate(definition.get("steps") or []):
        shown = _step_in(step) if isinstance(step, dict) else None
        if shown is None or _normal(_step_out(shown)) != _normal(step):
            shown = _yaml_step(step, position)
        steps.append(shown)
    triggers = definition.get("triggers") or []
    return {
        "slug": _shown(definition.get("slug")),
        "title": _shown(definition.get("title")),
        "description": _shown(definition.get("description")),
        "triggers": "、".join(str(t) for t in triggers) if isinstance(triggers, list) else "",
        "disaster": definition.get("disaster") is True,
        "start": _shown(definition.get("start")),
        "languages": languages_used(steps, []),
        "steps": steps,
    }


def editor_new() -> dict[str, Any]:
    """A new scenario: a greeting with two choices and an end, to change as needed."""
    start = blank_step("message", "start")
    start["text"] = {"ja": "知りたいことを選んでください。"}
    start["choices"] = [
        {"label": {"ja": "はい"}, "value": "", "target": {"to": "next", "value": "thanks"}},
        {"label": {"ja": "職員と話す"}, "value": "", "target": {"to": "handoff", "value": ""}},
    ]
    end = blank_step("end", "thanks")
    end["text"] = {"ja": "ありがとうございました。"}
    return {
        "slug": "new-scenario",
        "title": "新しいシナリオ",
        "description": "",
        "triggers": "",
        "disaster": False,
        "start": "start",
        "languages": ["ja"],
        "steps": [start, end],
    }


def _normal(value: Any) -> Any:
    """What makes no difference to residents: a text only in Japanese written either way, the
    default style spelled out, one condition inside all/any, numbers written as text, empty lists."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if not isinstance(value, dict):
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    out = {}
    for key, item in value.items():
        if key in ("text", "title", "error", "label") and isinstance(item, dict) and list(item) == ["ja"]:
            item = item["ja"]
        if key == "style" and item == "quick_replies":
            continue
        if key == "if" and isinstance(item, dict) and len(item) == 1:
            (match, parts), *_rest = item.items()
            if match in ("all", "any") and isinstance(parts, list) and len(parts) == 1:
                item = parts[0]
        if key == "value" and isinstance(item, str):
            item = _normal(_number(item)) if _number(item) != item else item
        if key == "choices" and item == []:
            continue
        out[key] = _normal(item)
    return out


def languages_used(steps: list[dict[str, Any]], chosen: list[str]) -> list[str]:
    """Japanese, the languages ticked, and every language some text is written in."""
    found = {"ja", *chosen}
    for step in steps:
        for key in TEXT_FIELDS:
            found.update(k for k, v in step.get(key, {}).items() if v)
        for choice in step.get("choices", []):
            found.update(k for k, v in choice["label"].items() if v)
    return [code for code in LANGUAGE_CODES if code in found]


# POST → editor state


def _count(data: QueryDict, key: str, limit: int) -> int:
    raw = str(data.get(key, "0"))
    return min(int(raw), limit) if raw.isdigit() and len(raw) <= 6 else 0


def _text_post(data: QueryDict, prefix: str) -> dict[str, str]:
    return {
        code: str(data.get(f"{prefix}-{code}", "")).replace("\r\n", "\n")
        for code in LANGUAGE_CODES
        if f"{prefix}-{code}" in data
    }


def _target_post(data: QueryDict, prefix: str) -> dict[str, str]:
    to = str(data.get(f"{prefix}-to", "next"))
    value = str(data.get(f"{prefix}-target", ""))
    if to != str(data.get(f"{prefix}-was", to)):
        value = ""  # the kind of target changed: the old value named something else
    return {"to": to, "value": value.strip()}


def editor_from_post(data: QueryDict) -> dict[str, Any]:
    """The editor's state as the form sent it. A step id that was changed is changed in every
    reference to it too (next, choices, rules, start)."""
    steps = []
    for i in range(_count(data, "steps", MAX_FORM_STEPS)):
        p = f"s-{i}"
        kind = str(data.get(f"{p}-kind", "message"))
        step = blank_step(kind if kind in EDITOR_KINDS else "message", "")
        step["id"] = str(data.get(f"{p}-id", "")).strip()
        step["orig"] = str(data.get(f"{p}-orig", step["id"]))
        for key in TEXT_FIELDS:
            step[key] = _text_post(data, f"{p}-{key}")
        for key in (
            "style",
            "var",
            "from_attr",
            "next",
            "capture",
            "min",
            "max",
            "integer",
            "max_length",
            "else",
        ):
            step[key] = str(data.get(f"{p}-{key}", step[key])).strip()
        step["source"] = str(data.get(f"{p}-source", "")).replace("\r\n", "\n")
        step["target"] = _target_post(data, p)
        step["choices"] = [
            {
                "label": _text_post(data, f"{p}-c-{j}-label"),
                "value": str(data.get(f"{p}-c-{j}-value", "")).strip(),
                "target": _target_post(data, f"{p}-c-{j}"),
            }
            for j in range(_count(data, f"{p}-choices", MAX_FORM_CHOICES))
        ]
        step["rules"] = [
            {
                "match": "any" if data.get(f"{p}-r-{j}-match") == "any" else "all",
                "next": str(data.get(f"{p}-r-{j}-next", "")).strip(),
                "conditions": [
                    {
                        "subject": str(data.get(f"{p}-r-{j}-{k}-subject", "")),
                        "op": str(data.get(f"{p}-r-{j}-{k}-op", "")),
                        "value": str(data.get(f"{p}-r-{j}-{k}-value", "")).strip(),
                    }
                    for k in range(_count(data, f"{p}-r-{j}-conditions", MAX_FORM_CONDITIONS))
                ],
            }
            for j in range(_count(data, f"{p}-rules", MAX_FORM_RULES))
        ]
        steps.append(step)
    state = {
        "slug": str(data.get("slug", "")).strip(),
        "title": str(data.get("title", "")).strip(),
        "description": str(data.get("description", "")).replace("\r\n", "\n").strip(),
        "triggers": str(data.get("triggers", "")),
        "disaster": data.get("disaster") == "on",
        "start": str(data.get("start", "")).strip(),
        "steps": steps,
    }
    _rename(state)
    chosen = [str(code) for code in data.getlist("languages") if code in LANGUAGE_CODES]
    state["languages"] = languages_used(steps, chosen)
    return state


def _rename(state: dict[str, Any]) -> None:
    ids = [step["id"] for step in state["steps"]]
    renamed = {
        step["orig"]: step["id"]
        for step in state["steps"]
        if step["orig"] and step["id"] and step["orig"] != step["id"] and ids.count(step["id"]) == 1
    }
    renamed = {old: new for old, new in renamed.items() if old not in ids}  # old id still in use
    if not renamed:
        return

    def moved(value: str) -> str:
        return renamed.get(value, value)

    state["start"] = moved(state["start"])
    for step in state["steps"]:
        step["orig"] = step["id"]
        step["next"], step["else"] = moved(step["next"]), moved(step["else"])
        for holder in (step, *step["choices"]):
            if holder["target"]["to"] == "next":
                holder["target"]["value"] = moved(holder["target"]["value"])
        for rule in step["rules"]:
            rule["next"] = moved(rule["next"])


# Operations of the form's buttons


def _fresh_id(state: dict[str, Any], kind: str) -> str:
    taken = {step["id"] for step in state["steps"]}
    n = len(state["steps"]) + 1
    while f"{kind}-{n}" in taken:
        n += 1
    return f"{kind}-{n}"


def _swap(items: list[Any], i: int, j: int) -> None:
    if 0 <= i < len(items) and 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]


def editor_apply(state: dict[str, Any], op: str, *, add_kind: str = "message") -> str:
    """Apply one button's operation to the state; returns the anchor of what it changed."""
    if not OP.match(op):
        return ""
    name, *numbers = op.split(":")
    at = [int(n) for n in numbers]
    steps: list[dict[str, Any]] = state["steps"]
    step = steps[at[0]] if at and at[0] < len(steps) else None
    if name == "add" and len(steps) < MAX_FORM_STEPS:
        kind = add_kind if add_kind in dict(ADD_KINDS) else "message"
        steps.append(blank_step(kind, _fresh_id(state, "choices" if kind == "choices" else kind)))
        return f"step-{len(steps) - 1}"
    if step is None:
        return ""
    if name == "delete":
        gone = steps.pop(at[0])
        if state["start"] == gone["id"]:
            state["start"] = ""  # the first step starts it; other references stay, marked missing
        return f"step-{max(at[0] - 1, 0)}" if steps else ""
    if name in ("up", "down"):
        target = at[0] + (-1 if name == "up" else 1)
        _swap(steps, at[0], target)
        return f"step-{min(max(target, 0), len(steps) - 1)}"
    anchor = f"step-{at[0]}"
    choices, rules = step["choices"], step["rules"]
    if name == "add-choice" and len(choices) < MAX_FORM_CHOICES:
        choices.append(blank_choice())
    elif name == "delete-choice" and len(at) == 2 and at[1] < len(choices):
        del choices[at[1]]
    elif name in ("up-choice", "down-choice") and len(at) == 2:
        _swap(choices, at[1], at[1] + (-1 if name == "up-choice" else 1))
    elif name == "add-rule" and len(rules) < MAX_FORM_RULES:
        rules.append(blank_rule())
    elif name == "delete-rule" and len(at) == 2 and at[1] < len(rules):
        del rules[at[1]]
    elif name == "add-condition" and len(at) == 2 and at[1] < len(rules):
        if len(rules[at[1]]["conditions"]) < MAX_FORM_CONDITIONS:
            rules[at[1]]["conditions"].append(blank_condition())
    elif name == "delete-condition" and len(at) == 3 and at[1] < len(rules):
        conditions = rules[at[1]]["conditions"]
        if at[2] < len(conditions):
            del conditions[at[2]]
    return anchor


# Editor state → definition


def _target_out(target: dict[str, str], step_key: str) -> dict[str, Any]:
    to, value = target["to"], target["value"]
    if to == "handoff":
        return {"handoff": True}
    if to in ("faq", "flow", "action"):
        return {to: value}
    return {step_key: value}


def _condition_out(cond: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    side, _colon, name = cond["subject"].partition(":")
    if side in ("var", "attr"):
        out[side] = name
    out["op"] = cond["op"]
    if cond["value"] != "":
        if cond["op"] in ("in", "not_in"):
            out["value"] = [_number(v) for v in SEPARATORS.split(cond["value"]) if v.strip()]
        else:
            out["value"] = _number(cond["value"])
    return out


def _step_out(step: dict[str, Any]) -> dict[str, Any]:
    kind = step["kind"]
    out: dict[str, Any] = {"id": step["id"], "kind": kind}
    text = _text_out(step["text"])
    if kind == "message":
        if text is not None:
            out["text"] = text
        if step["style"]:
            out["style"] = step["style"]
        title = _text_out(step["title"])
        if title is not None:
            out["title"] = title
        for key in ("var", "from_attr"):
            if step[key]:
                out[key] = step[key]
        if step["choices"]:
            out["choices"] = []
            for choice in step["choices"]:
                item: dict[str, Any] = {}
                label = _text_out(choice["label"])
                if label is not None:
                    item["label"] = label
                if choice["value"]:
                    item["value"] = choice["value"]
                out["choices"].append({**item, **_target_out(choice["target"], "next")})
        elif step["next"]:
            out["next"] = step["next"]
    elif kind == "ask":
        capture = step["capture"]
        out["capture"] = capture
        if text is not None:
            out["text"] = text
        for key in ("var", "from_attr"):
            if step[key]:
                out[key] = step[key]
        for key in ("min", "max"):
            if step[key]:
                out[key] = _number(step[key]) if capture == "number" else step[key]
        if step["integer"]:
            out["integer"] = {"true": True, "false": False}.get(step["integer"], step["integer"])
        if step["max_length"]:
            out["max_length"] = _number(step["max_length"])
        error = _text_out(step["error"])
        if error is not None:
            out["error"] = error
        out["next"] = step["next"]
    elif kind == "branch":
        rules = []
        for rule in step["rules"]:
            parts = [_condition_out(c) for c in rule["conditions"]]
            condition = parts[0] if len(parts) == 1 else {rule["match"]: parts}
            rules.append({"if": condition, "next": rule["next"]})
        out["rules"] = rules
        out["else"] = step["else"]
    elif kind == "goto":
        out.update(_target_out(step["target"], "step"))
    elif kind == "end" and text is not None:
        out["text"] = text
    return out


def definition_from_editor(state: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The definition the form describes, unchecked, and the problems of YAML steps that could
    not be read (such a step is left out of the definition; saving is refused)."""
    problems: list[Problem] = []
    steps: list[Any] = []
    for position, step in enumerate(state["steps"]):
        if step["kind"] != "yaml":
            steps.append(_step_out(step))
            continue
        where = f"{position + 1} 番目のステップ"
        try:
            steps.append(definition_parse(step["source"]))
        except DefinitionInvalid as exc:
            problems += [Problem(position, where, line) for line in exc.errors]
            steps.append({"id": step["id"] or step["orig"], "kind": "end"})  # keeps the others' references
    definition: dict[str, Any] = {"slug": state["slug"], "title": state["title"]}
    if state["description"]:
        definition["description"] = state["description"]
    triggers = [t.strip() for t in SEPARATORS.split(state["triggers"]) if t.strip()]
    if triggers:
        definition["triggers"] = triggers
    if state["disaster"]:
        definition["disaster"] = True
    if state["start"]:
        definition["start"] = state["start"]
    definition["steps"] = steps
    return definition, problems


# Problems beside their fields


def problems_place(state: dict[str, Any], problems: list[Problem]) -> list[str]:
    """Put each problem beside the field it names (`errors` of the step, choice or rule, by
    field); returns the problems of the scenario as a whole, and lists them all in `state["problems"]`."""
    general: list[str] = []
    for step in state["steps"]:
        step["errors"] = {}
        for choice in step["choices"]:
            choice["errors"] = []
        for rule in step["rules"]:
            rule["errors"] = []
    state["field_errors"] = {}
    listed = []
    for problem in problems:
        line = f"{problem.where}: {problem.problem}"
        step = (
            state["steps"][problem.step]
            if problem.step is not None and problem.step < len(state["steps"])
            else None
        )
        listed.append({"text": line, "anchor": f"step-{problem.step}" if step is not None else ""})
        if step is None:
            field = (
                problem.where
                if problem.where in ("slug", "title", "description", "triggers", "disaster", "start")
                else ""
            )
            if field:
                state["field_errors"].setdefault(field, []).append(problem.problem)
            else:
                general.append(line)
            continue
        match = WHERE_IN_STEP.match(problem.where)
        number, part, field = match.groups() if match else ("", "", "")
        items = step["choices"] if part == "選択肢" else step["rules"] if part == "条件" else None
        if items is not None and number and 0 < int(number) <= len(items):
            items[int(number) - 1]["errors"].append(
                f"{field}: {problem.problem}" if field else problem.problem
            )
        else:
            step["errors"].setdefault(field or "step", []).append(problem.problem)
    state["problems"] = listed
    return general


def _rows(text: dict[str, str], languages: list[str]) -> list[tuple[str, str, str]]:
    labels = dict(LANGUAGES)
    return [(code, labels[code], text.get(code, "")) for code in languages]


def editor_decorate(state: dict[str, Any]) -> None:
    """What the template needs beside the values: the names of the fields (`p`, the prefix of
    each step, choice, rule and condition), each text as one row per language shown, and a short
    summary of each step for the menus that pick one."""
    languages = state["languages"]
    for i, step in enumerate(state["steps"]):
        step["p"] = f"s-{i}"
        step["n"] = i
        step.setdefault("errors", {})
        step["rows"] = {key: _rows(step[key], languages) for key in TEXT_FIELDS}
        for j, choice in enumerate(step["choices"]):
            choice["p"] = f"s-{i}-c-{j}"
            choice["n"] = j
            choice["rows"] = _rows(choice["label"], languages)
            choice.setdefault("errors", [])
        for j, rule in enumerate(step["rules"]):
            rule["p"] = f"s-{i}-r-{j}"
            rule["n"] = j
            rule.setdefault("errors", [])
            for k, condition in enumerate(rule["conditions"]):
                condition["p"] = f"s-{i}-r-{j}-{k}"
                condition["n"] = k
                side, _colon, name = condition["subject"].partition(":")
                condition["attr"] = name if side == "attr" else ""
        words = step["text"].get("ja", "").replace("\n", " ")
        words = words if len(words) <= 24 else words[:23] + "…"
        kind = KIND_LABELS.get(step["kind"], step["kind"])
        step["kind_label"] = kind
        step["summary"] = f"{step['id']} — {words}" if words else f"{step['id']} — {str(kind).split(' ')[0]}"
