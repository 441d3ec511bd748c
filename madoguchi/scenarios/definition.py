"""A scenario's definition: its YAML form and the one schema every version is checked against.

The format is documented in docs/scenarios.md. Every problem is reported in Japanese, naming
the step and the field, so that staff can fix a draft without reading code. LINE's limits
(5,000 characters a text, 20 a label, 13 quick replies, 4 buttons, 5 messages a reply) are
checked here, so that a published scenario never builds a message LINE would refuse.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import yaml

from madoguchi.chatbot.answers import LANGUAGES
from madoguchi.chatbot.registry import has_postback_action

LANGUAGE_CODES = tuple(code for code, _label in LANGUAGES)
MAX_YAML_BYTES = 200_000
MAX_YAML_EVENTS = 40_000
MAX_YAML_DEPTH = 16  # a definition nests 13 deep at most (conditions in all/any)
MAX_STEPS = 200
MAX_TEXT = 5000
MAX_BUTTONS_TEXT = 160  # LINE's buttons template; 60 with a title
MAX_BUTTONS_TEXT_WITH_TITLE = 60
MAX_TITLE = 40
MAX_LABEL = 20
MAX_QUICK_REPLIES = 13
MAX_BUTTONS = 4
MAX_MESSAGES_PER_REPLY = 5
MAX_TRIGGERS = 20
MAX_CONDITION_DEPTH = 4

STEP_KINDS = ("message", "ask", "branch", "goto", "end")
CAPTURES = ("text", "number", "date", "photo", "location")
OPERATORS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "exists", "missing", "contains")
# Resident attributes a branch may test: the reply language, days since following, and what the
# resident registered (district code, audience, age band, interest codes, tag names, children).
ATTRIBUTES = (
    "language",
    "friend_days",
    "district",
    "audience",
    "age_band",
    "interests",
    "tags",
    "has_children",
    "child_age",
    "child_age_months",
)
LIST_ATTRIBUTES = ("interests", "tags")  # lists: contains (has), exists, missing
LIST_OPERATORS = ("contains", "exists", "missing")
ATTRIBUTE_VALUES = {  # attributes with a fixed set of values (Resident.Audience, Resident.AgeBand)
    "audience": ("resident", "tourist", "prospective"),
    "age_band": ("under20", "20s", "30s", "40s", "50s", "60s", "70plus"),
    "has_children": ("yes", "no"),
}
# What a waiting step can take from the registration instead of asking (`from_attr`).
FROM_ATTR_CHOICES = ("district", "audience", "age_band", "has_children")  # a message's choices
FROM_ATTR_DATES = ("youngest_child_birthdate",)  # an ask with capture: date
JUMPS = ("faq", "flow", "action", "handoff")  # where a choice or a goto step may leave to

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
VARIABLE = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
FAQ_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]{0,39})\}")
RELATIVE_DATE = re.compile(r"^today(?:([+-])(\d{1,3})([ymd]))?$")

STEP_KEYS = {
    "message": {"id", "kind", "text", "choices", "style", "title", "var", "next", "from_attr"},
    "ask": {
        "from_attr",
        "id",
        "kind",
        "text",
        "capture",
        "var",
        "next",
        "error",
        "min",
        "max",
        "integer",
        "max_length",
    },
    "branch": {"id", "kind", "rules", "else"},
    "goto": {"id", "kind", "step", *JUMPS},
    "end": {"id", "kind", "text"},
}
TOP_KEYS = {"slug", "title", "description", "triggers", "disaster", "start", "steps"}


class DefinitionInvalid(ValueError):
    """The definition cannot be saved; `errors` lists every problem, one Japanese line each.

    `located` says where each problem is, for editors that show it beside the field: one
    `Problem` per line of `errors`, in the same order."""

    def __init__(self, errors: list[str], located: list[Problem] | None = None):
        super().__init__("\n".join(errors))
        self.errors = errors
        self.located = located if located is not None else [Problem(None, "", e) for e in errors]


class Problem(NamedTuple):
    """One problem: the position of its step in `steps` (None: the scenario as a whole), where
    in the step (`ステップ「a」の 2 番目の選択肢の label`, as in the message) and what is wrong."""

    step: int | None
    where: str
    problem: str


# YAML


def definition_parse(content: bytes | str) -> dict[str, Any]:
    """Read a YAML (or JSON) document into plain data, refusing what could hurt the server.

    Only `safe_load` is used. Aliases are refused outright (an alias "bomb" expands a small file
    into billions of nodes), as are documents over 200 KB or nested deeper than a definition is.
    """
    raw = content.encode("utf-8") if isinstance(content, str) else content
    if len(raw) > MAX_YAML_BYTES:
        raise DefinitionInvalid([f"ファイルが大きすぎます ({MAX_YAML_BYTES // 1000} KB まで)。"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DefinitionInvalid(["文字コードが UTF-8 ではありません。UTF-8 で保存してください。"]) from None
    if "\x00" in text:
        raise DefinitionInvalid(["ファイルに NUL 文字が含まれています。"])
    try:
        _check_events(text)
        data = yaml.safe_load(text)
    except DefinitionInvalid:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1} 行目" if mark is not None else "どこか"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DefinitionInvalid([f"YAML の {where}を読み込めません ({problem})。"]) from None
    except RecursionError:
        raise DefinitionInvalid(["入れ子が深すぎます。"]) from None
    if not isinstance(data, dict):
        raise DefinitionInvalid(["シナリオは slug, title, steps などを持つマッピングで書いてください。"])
    return _plain(data)


def _check_events(text: str) -> None:
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        if count > MAX_YAML_EVENTS:
            raise DefinitionInvalid(["シナリオが大きすぎます (要素が多すぎます)。"])
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise DefinitionInvalid([f"{line} 行目: YAML のエイリアス (*) は使えません。"])
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise DefinitionInvalid(["入れ子が深すぎます。"])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _plain(value: Any) -> Any:
    """YAML turns 2026-04-01 into a date; definitions are stored as JSON, so dates become text."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return value


KEY_ORDER = [
    "id",
    "kind",
    "slug",
    "title",
    "description",
    "triggers",
    "disaster",
    "start",
    "steps",
    "text",
    "capture",
    "var",
    "min",
    "max",
    "integer",
    "max_length",
    "error",
    "style",
    "choices",
    "label",
    "value",
    "rules",
    "if",
    "all",
    "any",
    "attr",
    "from_attr",
    "op",
    "next",
    "else",
    "step",
    *JUMPS,
    *LANGUAGE_CODES,
]


class _Dumper(yaml.SafeDumper):
    pass


def _text_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line texts as `|` blocks, as staff write them.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text_block)


def definition_dump(definition: dict[str, Any]) -> str:
    """The definition as YAML, keys in reading order (PostgreSQL's jsonb does not keep it)."""
    rank = {key: i for i, key in enumerate(KEY_ORDER)}

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            keys = sorted(value, key=lambda k: (rank.get(k, len(rank)), k))
            return {k: ordered(value[k]) for k in keys}
        if isinstance(value, list):
            return [ordered(v) for v in value]
        return value

    return yaml.dump(ordered(definition), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


# Dates, shared by validation and the runtime


def date_from_spec(spec: str, today: date) -> date | None:
    """`2026-04-01`, `today`, `today-18y`, `today+6m`, `today-30d`; None if it is neither."""
    match = RELATIVE_DATE.match(spec)
    if match is None:
        try:
            return date.fromisoformat(spec)
        except ValueError:
            return None
    sign, amount, unit = match.groups()
    if sign is None:
        return today
    n = int(amount) * (-1 if sign == "-" else 1)
    if unit == "d":
        return today + timedelta(days=n)
    months = today.year * 12 + today.month - 1 + (n * 12 if unit == "y" else n)
    year, month_index = divmod(months, 12)
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(today.day, last_day))


# Validation


class _Checker:
    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.errors: list[str] = []
        self.step_ids: set[str] = set()
        self.variables: set[str] = set()
        self.located: list[Problem] = []
        self.current: int | None = None  # the position of the step being checked

    def fail(self, where: str, problem: str) -> None:
        if len(self.errors) < 100:
            self.errors.append(f"{where}: {problem}")
            self.located.append(Problem(self.current, where, problem))

    def text(self, value: Any, where: str, limit: int, *, required: bool = True) -> None:
        """A text is a string, or one per language ({"ja": ..., "en": ...}) with ja required."""
        if value is None:
            if required:
                self.fail(where, "文章がありません。")
            return
        if isinstance(value, str):
            variants = {"ja": value}
        elif isinstance(value, dict):
            unknown = [k for k in value if k not in LANGUAGE_CODES]
            if unknown:
                self.fail(
                    where,
                    f"言語コード {', '.join(map(str, unknown))} は使えません "
                    f"({', '.join(LANGUAGE_CODES)} のいずれか)。",
                )
            if "ja" not in value:
                self.fail(where, "日本語 (ja) の文章が必要です。")
            variants = {k: v for k, v in value.items() if k in LANGUAGE_CODES}
        else:
            self.fail(where, "文字列か、言語ごとの文章 (ja: ...) で書いてください。")
            return
        for language, text in variants.items():
            if not isinstance(text, str) or not text.strip():
                self.fail(where, f"{language} の文章が空です。")
            elif len(text) > limit:
                self.fail(where, f"{language} の文章が長すぎます ({len(text)} 文字、{limit} 文字まで)。")

    def texts_in(self, value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, str))

    def step_ref(self, value: Any, where: str) -> None:
        if value is None or value == "":
            self.fail(where, "行き先のステップを選んでください。")
        elif not isinstance(value, str) or value not in self.step_ids:
            self.fail(where, f"ステップ「{value}」はありません。")

    def jump(self, item: dict[str, Any], where: str) -> None:
        if "faq" in item and (not isinstance(item["faq"], str) or not FAQ_ID.match(item["faq"])):
            self.fail(where, "faq にはよくある質問の ID (例: F082) を書いてください。")
        if "flow" in item and (not isinstance(item["flow"], str) or not SLUG.match(item["flow"])):
            self.fail(where, "flow には別のシナリオの slug を書いてください。")
        if "action" in item:
            action = item["action"]
            if (
                not isinstance(action, str)
                or action.startswith("scenario.")
                or not has_postback_action(action)
            ):
                self.fail(where, f"action「{action}」という操作はありません。")
        if "handoff" in item and item["handoff"] is not True:
            self.fail(where, "handoff は true と書いてください。")

    def check(self) -> None:
        data = self.data
        for key in data:
            if key not in TOP_KEYS:
                self.fail(key, f"知らない項目です ({', '.join(sorted(TOP_KEYS))} が使えます)。")
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug):
            self.fail(
                "slug", "半角英小文字・数字・ハイフン 50 文字までで書いてください (例: typhoon-support)。"
            )
        title = data.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > 100:
            self.fail("title", "名称を 100 文字までで書いてください。")
        description = data.get("description", "")
        if not isinstance(description, str) or len(description) > 500:
            self.fail("description", "説明は 500 文字までの文字列で書いてください。")
        triggers = data.get("triggers", [])
        if not isinstance(triggers, list) or len(triggers) > MAX_TRIGGERS:
            self.fail("triggers", f"開始する言葉は {MAX_TRIGGERS} 個までのリストで書いてください。")
        elif any(not isinstance(t, str) or not t.strip() or len(t) > 30 for t in triggers):
            self.fail("triggers", "開始する言葉は 1〜30 文字の文字列で書いてください。")
        if not isinstance(data.get("disaster", False), bool):
            self.fail("disaster", "disaster (災害時のシナリオ) は true か false で書いてください。")
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            self.fail("steps", "ステップを 1 つ以上、リストで書いてください。")
            return
        if len(steps) > MAX_STEPS:
            self.fail("steps", f"ステップが多すぎます ({len(steps)} 個、{MAX_STEPS} 個まで)。")
            return
        named: list[tuple[str, dict[str, Any]]] = []
        position: dict[str, int] = {}
        for number, step in enumerate(steps, start=1):
            self.current = number - 1
            where = f"{number} 番目のステップ"
            if not isinstance(step, dict):
                self.fail(where, "id と kind を持つマッピングで書いてください。")
                continue
            step_id = step.get("id")
            if not isinstance(step_id, str) or not STEP_ID.match(step_id):
                self.fail(where, "id は半角英小文字・数字・_・- の 40 文字までで書いてください。")
                continue
            if step_id in self.step_ids:
                self.fail(f"ステップ「{step_id}」", "同じ id のステップが 2 つあります。")
                continue
            self.step_ids.add(step_id)
            named.append((step_id, step))
            position[step_id] = number - 1
            if step.get("kind") in ("ask", "message") and isinstance(step.get("var"), str):
                self.variables.add(step["var"])
                if step.get("kind") == "ask" and step.get("capture") == "date":
                    self.variables.add(f"{step['var']}_age")  # full years since the date
        self.current = None
        start = data.get("start", named[0][0] if named else None)
        if start is not None:
            self.step_ref(start, "start")
        for step_id, step in named:
            self.current = position[step_id]
            self.check_step(step_id, step)
        self.current = None
        if not self.errors:
            self.check_graph(dict(named), position)

    def check_step(self, step_id: str, step: dict[str, Any]) -> None:
        where = f"ステップ「{step_id}」"
        kind = step.get("kind")
        if kind not in STEP_KINDS:
            self.fail(where, f"kind「{kind}」はありません ({', '.join(STEP_KINDS)} のいずれか)。")
            return
        for key in step:
            if key not in STEP_KEYS[kind]:
                self.fail(f"{where}の {key}", f"{kind} のステップでは使えない項目です。")
        for key in ("text", "error", "title"):
            for text in self.texts_in(step.get(key)):
                for name in PLACEHOLDER.findall(text):
                    if name not in self.variables:
                        self.fail(f"{where}の {key}", f"{{{name}}} はどのステップでも記録されない変数です。")
        if "var" in step and (not isinstance(step["var"], str) or not VARIABLE.match(step["var"])):
            self.fail(f"{where}の var", "変数名は半角英小文字・数字・_ の 40 文字までで書いてください。")
        getattr(self, f"check_{kind}")(step, where)

    def check_message(self, step: dict[str, Any], where: str) -> None:
        style = step.get("style", "quick_replies")
        if style not in ("quick_replies", "buttons"):
            self.fail(f"{where}の style", "quick_replies か buttons を書いてください。")
        choices = step.get("choices")
        buttons = style == "buttons"
        if buttons:
            limit = MAX_BUTTONS_TEXT_WITH_TITLE if "title" in step else MAX_BUTTONS_TEXT
            self.text(step.get("title"), f"{where}の title", MAX_TITLE, required=False)
        else:
            limit = MAX_TEXT
            if "title" in step:
                self.fail(f"{where}の title", "title は style: buttons のときだけ使えます。")
        self.text(step.get("text"), f"{where}の text", limit)
        if choices is None:
            if buttons:
                self.fail(f"{where}の choices", "ボタンがありません。")
            if "var" in step:
                self.fail(f"{where}の var", "var は choices があるときだけ使えます。")
            if "next" in step:
                self.step_ref(step["next"], f"{where}の next")
            return
        if "next" in step:
            self.fail(f"{where}の next", "choices があるときは、選択肢ごとに next を書いてください。")
        if "from_attr" in step:
            if step["from_attr"] not in FROM_ATTR_CHOICES:
                self.fail(
                    f"{where}の from_attr", f"{', '.join(FROM_ATTR_CHOICES)} のいずれかを書いてください。"
                )
            elif "var" not in step:
                self.fail(f"{where}の from_attr", "from_attr には var が要ります。")
        maximum = MAX_BUTTONS if buttons else MAX_QUICK_REPLIES
        if not isinstance(choices, list) or not choices:
            self.fail(f"{where}の choices", "選択肢をリストで書いてください。")
            return
        if len(choices) > maximum:
            what = "ボタン" if buttons else "クイックリプライ"
            self.fail(
                f"{where}の choices", f"選択肢が多すぎます ({len(choices)} 個、{what}は {maximum} 個まで)。"
            )
        for number, choice in enumerate(choices, start=1):
            self.check_choice(choice, f"{where}の {number} 番目の選択肢")

    def check_choice(self, choice: Any, where: str) -> None:
        if not isinstance(choice, dict):
            self.fail(where, "label と next (または faq / flow / action / handoff) で書いてください。")
            return
        allowed = {"label", "value", "next", *JUMPS}
        for key in choice:
            if key not in allowed:
                self.fail(f"{where}の {key}", "選択肢では使えない項目です。")
        self.text(choice.get("label"), f"{where}の label", MAX_LABEL)
        if "value" in choice and (
            isinstance(choice["value"], bool)
            or not isinstance(choice["value"], str | int | float)
            or len(str(choice["value"])) > 100
        ):
            self.fail(
                f"{where}の value", "100 文字までの文字列か数で書いてください (yes/no は引用符で囲む)。"
            )
        targets = [key for key in ("next", *JUMPS) if key in choice]
        if len(targets) != 1:
            self.fail(where, "行き先 (next, faq, flow, action, handoff) を 1 つだけ書いてください。")
        elif targets[0] == "next":
            self.step_ref(choice["next"], f"{where}の next")
        else:
            self.jump(choice, where)

    def check_ask(self, step: dict[str, Any], where: str) -> None:
        self.text(step.get("text"), f"{where}の text", MAX_TEXT)
        if "from_attr" in step and (
            step.get("capture") != "date" or step["from_attr"] not in FROM_ATTR_DATES
        ):
            self.fail(
                f"{where}の from_attr",
                f"from_attr は capture: date のときだけ、{', '.join(FROM_ATTR_DATES)} を書けます。",
            )
        self.text(step.get("error"), f"{where}の error", MAX_TEXT, required=False)
        capture = step.get("capture")
        if capture not in CAPTURES:
            self.fail(f"{where}の capture", f"{', '.join(CAPTURES)} のいずれかを書いてください。")
        if "var" not in step:
            self.fail(f"{where}の var", "答えを記録する変数名が必要です。")
        self.step_ref(step.get("next"), f"{where}の next")
        bounds = [key for key in ("min", "max") if key in step]
        if capture == "number":
            for key in bounds:
                if isinstance(step[key], bool) or not isinstance(step[key], int | float):
                    self.fail(f"{where}の {key}", "数で書いてください。")
            if "integer" in step and not isinstance(step["integer"], bool):
                self.fail(f"{where}の integer", "true か false を書いてください。")
        elif capture == "date":
            today = date.today()
            for key in bounds:
                if not isinstance(step[key], str) or date_from_spec(step[key], today) is None:
                    self.fail(
                        f"{where}の {key}", "日付 (2026-04-01) か today, today-18y のように書いてください。"
                    )
        elif bounds:
            self.fail(f"{where}の {bounds[0]}", "min / max は number と date のときだけ使えます。")
        if all(isinstance(step.get(k), int | float) for k in ("min", "max")) and step["min"] > step["max"]:
            self.fail(f"{where}の min", "min が max より大きくなっています。")
        if "max_length" in step:
            length = step["max_length"]
            if capture != "text":
                self.fail(f"{where}の max_length", "max_length は text のときだけ使えます。")
            elif isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 1000:
                self.fail(f"{where}の max_length", "1〜1000 の整数で書いてください。")
        if "integer" in step and capture != "number":
            self.fail(f"{where}の integer", "integer は number のときだけ使えます。")

    def check_branch(self, step: dict[str, Any], where: str) -> None:
        rules = step.get("rules")
        if not isinstance(rules, list) or not rules or len(rules) > 50:
            self.fail(
                f"{where}の rules", "条件 (if) と行き先 (next) の組を 1〜50 個、リストで書いてください。"
            )
            rules = []
        for number, rule in enumerate(rules, start=1):
            rule_where = f"{where}の {number} 番目の条件"
            if not isinstance(rule, dict) or set(rule) != {"if", "next"}:
                self.fail(rule_where, "if と next だけを書いてください。")
                continue
            self.condition(rule["if"], rule_where, 1)
            self.step_ref(rule["next"], f"{rule_where}の next")
        self.step_ref(step.get("else"), f"{where}の else")

    def condition(self, cond: Any, where: str, depth: int) -> None:
        if depth > MAX_CONDITION_DEPTH:
            self.fail(where, "条件の入れ子が深すぎます。")
            return
        if not isinstance(cond, dict):
            self.fail(where, "var (または attr)、op、value で書いてください。")
            return
        if set(cond) in ({"all"}, {"any"}):
            parts = next(iter(cond.values()))
            if not isinstance(parts, list) or not parts or len(parts) > 20:
                self.fail(where, "all / any には条件を 1〜20 個、リストで書いてください。")
                return
            for part in parts:
                self.condition(part, where, depth + 1)
            return
        unknown = set(cond) - {"var", "attr", "op", "value"}
        if unknown:
            self.fail(where, f"条件では使えない項目です: {', '.join(sorted(unknown))}")
        if ("var" in cond) == ("attr" in cond):
            self.fail(where, "var か attr のどちらか 1 つを書いてください。")
        elif "var" in cond and cond["var"] not in self.variables:
            self.fail(where, f"変数「{cond['var']}」はどのステップでも記録されません。")
        elif "attr" in cond and cond["attr"] not in ATTRIBUTES:
            self.fail(where, f"attr は {', '.join(ATTRIBUTES)} のいずれかです。")
        op = cond.get("op")
        if op not in OPERATORS:
            self.fail(where, f"op は {', '.join(OPERATORS)} のいずれかです。")
            return
        value = cond.get("value")
        attr = cond.get("attr")
        if attr in LIST_ATTRIBUTES and op not in LIST_OPERATORS:
            self.fail(where, f"attr「{attr}」に使える op は {', '.join(LIST_OPERATORS)} です。")
            return
        if attr in ATTRIBUTE_VALUES and op in ("eq", "ne", "in", "not_in"):
            allowed = ATTRIBUTE_VALUES[attr]
            given = value if isinstance(value, list) else [value]
            wrong = [str(v) for v in given if v not in allowed]
            if wrong:
                self.fail(
                    where,
                    f"attr「{attr}」の value は {', '.join(allowed)} のいずれかです ({', '.join(wrong)})。",
                )
                return
        if op in ("exists", "missing"):
            if "value" in cond:
                self.fail(where, f"{op} には value を書きません。")
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not value or len(value) > 50:
                self.fail(where, f"{op} の value は 1〜50 個のリストで書いてください。")
            elif any(isinstance(v, bool) or not isinstance(v, str | int | float) for v in value):
                self.fail(where, "value のリストには文字列か数を書いてください。")
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(where, "value には文字列か数を書いてください (yes/no は引用符で囲む)。")

    def check_goto(self, step: dict[str, Any], where: str) -> None:
        targets = [key for key in ("step", *JUMPS) if key in step]
        if len(targets) != 1:
            self.fail(where, "行き先 (step, faq, flow, action, handoff) を 1 つだけ書いてください。")
        elif targets[0] == "step":
            self.step_ref(step["step"], f"{where}の step")
        else:
            self.jump(step, where)

    def check_end(self, step: dict[str, Any], where: str) -> None:
        self.text(step.get("text"), f"{where}の text", MAX_TEXT, required=False)

    def check_graph(self, steps: dict[str, dict[str, Any]], position: dict[str, int]) -> None:
        """Steps that follow each other without waiting for the resident must not loop, and
        must not send more messages than one LINE reply holds."""
        following = {step_id: automatic_next(step) for step_id, step in steps.items()}
        sent: dict[str, int] = {}
        visiting: list[str] = []

        def walk(step_id: str) -> int:
            if step_id in sent:
                return sent[step_id]
            if step_id in visiting:
                loop = [*visiting[visiting.index(step_id) :], step_id]
                raise _Loop("→".join(f"「{s}」" for s in loop))
            visiting.append(step_id)
            step = steps[step_id]
            after = max((walk(n) for n in following[step_id]), default=0)
            visiting.pop()
            if "from_attr" in step:  # asks (one message, then waits) or is filled in (none)
                sent[step_id] = max(1, after)
            else:
                sent[step_id] = (1 if messages_sent(step) else 0) + after
            return sent[step_id]

        for step_id in steps:
            try:
                count = walk(step_id)
            except _Loop as loop:
                self.current = None
                self.fail("steps", f"{loop} が入力を待たずに繰り返します (無限ループ)。")
                return
            if count > MAX_MESSAGES_PER_REPLY:
                self.current = position[step_id]
                self.fail(
                    f"ステップ「{step_id}」",
                    f"入力を待たずに {count} 通のメッセージが続きます "
                    f"(LINE の 1 回の返信は {MAX_MESSAGES_PER_REPLY} 通まで)。",
                )


class _Loop(Exception):
    pass


def waits_for_input(step: dict[str, Any]) -> bool:
    return step["kind"] == "ask" or (step["kind"] == "message" and bool(step.get("choices")))


def automatic_next(step: dict[str, Any]) -> list[str]:
    """The steps that run right after this one without the resident doing anything."""
    if "from_attr" in step:  # filled from the registration: it may go on without waiting
        if step["kind"] == "ask":
            return [step["next"]] if isinstance(step.get("next"), str) else []
        return [
            c["next"]
            for c in step.get("choices") or []
            if isinstance(c, dict) and isinstance(c.get("next"), str)
        ]
    if waits_for_input(step):
        return []
    if step["kind"] == "message":
        return [step["next"]] if step.get("next") else []
    if step["kind"] == "branch":
        return [*(rule["next"] for rule in step["rules"]), step["else"]]
    if step["kind"] == "goto" and "step" in step:
        return [step["step"]]
    return []


def messages_sent(step: dict[str, Any]) -> bool:
    kind = step["kind"]
    if kind == "goto":
        return "step" not in step  # leaving: the FAQ entry, the other scenario ... answers
    return kind in ("message", "ask") or (kind == "end" and "text" in step)


def definition_validate(data: Any) -> dict[str, Any]:
    """The definition if it is valid, with `start` filled in; else DefinitionInvalid."""
    if not isinstance(data, dict):
        raise DefinitionInvalid(["シナリオは slug, title, steps などを持つマッピングで書いてください。"])
    checker = _Checker(data)
    checker.check()
    if checker.errors:
        raise DefinitionInvalid(checker.errors, checker.located)
    return {**data, "start": data.get("start", data["steps"][0]["id"])}


def definition_load(content: bytes | str) -> dict[str, Any]:
    """Parse and validate in one go (imports, the console editor)."""
    return definition_validate(definition_parse(content))
