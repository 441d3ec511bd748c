"""The definition schema: the demo flows pass; hostile and mistaken YAML is refused, in Japanese,
naming the step and the field."""

from __future__ import annotations

from datetime import date

import pytest

from madoguchi.scenarios.definition import (
    DefinitionInvalid,
    date_from_spec,
    definition_dump,
    definition_load,
)
from tests.scenarios.conftest import DATA

HEAD = "slug: test\ntitle: テスト\nsteps:\n"


def problems(source: str | bytes) -> list[str]:
    with pytest.raises(DefinitionInvalid) as refused:
        definition_load(source)
    return refused.value.errors


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_demo_flows_are_valid_and_survive_export(path):
    definition = definition_load(path.read_bytes())
    assert definition_load(definition_dump(definition)) == definition


def test_json_is_accepted_too():
    definition = definition_load('{"slug": "j", "title": "J", "steps": [{"id": "a", "kind": "end"}]}')
    assert definition["start"] == "a"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # An alias "billion laughs": a few hundred bytes that expand to billions of nodes.
        (
            'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
            "エイリアス (*) は使えません",
        ),
        ("a: " + "x" * 300_000, "ファイルが大きすぎます"),
        ("a: " + "[" * 50 + "]" * 50, "入れ子が深すぎます"),
        ("a: " + "[" * 5000, "入れ子が深すぎます"),
        ("steps: [" + "1, " * 50_000 + "1]", "大きすぎます"),
        ("!!python/object/apply:os.system ['echo pwned']", "読み込めません"),
        ("slug: x\ntitle: [unclosed", "2 行目を読み込めません"),
        (b"slug: \xff\xfe", "UTF-8"),
        ("slug: a\x00b", "NUL"),
        ("- just\n- a list", "マッピングで書いてください"),
        ("", "マッピングで書いてください"),
    ],
    ids=[
        "alias-bomb",
        "huge",
        "deep",
        "unclosed-deep",
        "many-nodes",
        "python-tag",
        "syntax",
        "not-utf8",
        "nul",
        "list",
        "empty",
    ],
)
def test_hostile_yaml_is_refused_before_it_can_hurt(source, expected):
    assert any(expected in problem for problem in problems(source))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("  - {id: a, kind: teleport}", "ステップ「a」: kind「teleport」はありません"),
        ("  - {id: a, kind: end, nxt: b}", "ステップ「a」の nxt: end のステップでは使えない項目です。"),
        (
            "  - {id: a, kind: message, text: hi, next: nowhere}",
            "ステップ「a」の next: ステップ「nowhere」はありません。",
        ),
        ("  - {id: a, kind: end}\n  - {id: a, kind: end}", "同じ id のステップが 2 つあります"),
        ("  - {id: A B, kind: end}", "1 番目のステップ: id は半角英小文字"),
        (
            "  - {id: a, kind: message, text: hi, next: b}\n  - {id: b, kind: goto, step: a}",
            "「a」→「b」→「a」 が入力を待たずに繰り返します (無限ループ)",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {var: x, op: eq, value: '1'}, next: a}], else: a}\n"
            "  - {id: b, kind: ask, capture: text, var: x, text: q, next: a}",
            "無限ループ",
        ),
        (
            "  - {id: a, kind: message, text: '" + "あ" * 5001 + "'}",
            "ja の文章が長すぎます (5001 文字、5000 文字まで)",
        ),
        (
            "  - id: a\n    kind: message\n    text: q\n    choices:\n"
            + "".join(f"      - {{label: c{i}, next: a}}\n" for i in range(14)),
            "選択肢が多すぎます (14 個、クイックリプライは 13 個まで)",
        ),
        (
            "  - id: a\n    kind: message\n    style: buttons\n    text: q\n    choices:\n"
            + "".join(f"      - {{label: c{i}, next: a}}\n" for i in range(5)),
            "選択肢が多すぎます (5 個、ボタンは 4 個まで)",
        ),
        (
            "  - id: a\n    kind: message\n    style: buttons\n    text: '" + "あ" * 161 + "'\n"
            "    choices: [{label: x, next: a}]",
            "ステップ「a」の text: ja の文章が長すぎます (161 文字、160 文字まで)",
        ),
        (
            "  - id: a\n    kind: message\n    text: q\n    choices: [{label: {ja: はい, en: "
            + "y" * 21
            + "}, next: a}]",
            "1 番目の選択肢の label: en の文章が長すぎます (21 文字、20 文字まで)",
        ),
        ("  - {id: a, kind: message, text: {en: hello}}", "日本語 (ja) の文章が必要です"),
        ("  - {id: a, kind: message, text: {ja: x, fr: y}}", "言語コード fr は使えません"),
        (
            "  - {id: a, kind: message, text: 'hi {nobody}'}",
            "{nobody} はどのステップでも記録されない変数です",
        ),
        (
            "  - {id: a, kind: message, text: q, choices: [{label: x, next: a, faq: F001}]}",
            "行き先 (next, faq, flow, action, handoff) を 1 つだけ",
        ),
        ("  - {id: a, kind: goto, action: rm-rf}", "action「rm-rf」という操作はありません"),
        ("  - {id: a, kind: goto, action: scenario.start}", "action「scenario.start」という操作はありません"),
        ("  - {id: a, kind: goto, faq: '../../x'}", "faq にはよくある質問の ID"),
        ("  - {id: a, kind: goto, handoff: 'yes'}", "handoff は true と書いてください"),
        (
            "  - {id: a, kind: ask, capture: video, var: v, text: q, next: a}",
            "capture: text, number, date, photo, location",
        ),
        (
            "  - {id: a, kind: ask, capture: number, var: v, text: q, next: a, min: 9, max: 1}",
            "min が max より大きく",
        ),
        (
            "  - {id: a, kind: ask, capture: date, var: v, text: q, next: a, min: yesterday}",
            "today-18y のように",
        ),
        (
            "  - {id: a, kind: ask, capture: text, var: v, text: q, next: a, max_length: 100000}",
            "1〜1000 の整数",
        ),
        ("  - {id: a, kind: ask, capture: text, var: 'Bad Var', text: q, next: a}", "変数名は半角英小文字"),
        (
            "  - {id: a, kind: message, text: q, var: v, choices: [{label: x, value: yes, next: b}]}\n"
            "  - {id: b, kind: end}",
            "yes/no は引用符で囲む",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {var: ghost, op: eq, value: '1'}, next: b}], else: b}\n"
            "  - {id: b, kind: end}",
            "変数「ghost」はどのステップでも記録されません",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {attr: password, op: eq, value: '1'}, next: b}],"
            " else: b}\n  - {id: b, kind: end}",
            "attr は language, friend_days, district, audience, age_band, interests, tags, has_children",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {attr: tags, op: eq, value: 子育て世帯}, next: b}],"
            " else: b}\n  - {id: b, kind: end}",
            "attr「tags」に使える op は contains, exists, missing です",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {attr: audience, op: in, value: [resident, alien]},"
            " next: b}], else: b}\n  - {id: b, kind: end}",
            "attr「audience」の value は resident, tourist, prospective のいずれかです (alien)",
        ),
        (
            "  - {id: a, kind: ask, capture: text, var: v, text: q, next: a, from_attr: district}",
            "from_attr は capture: date のときだけ",
        ),
        (
            "  - {id: a, kind: message, text: q, from_attr: password, var: v,"
            " choices: [{label: x, next: b}]}\n"
            "  - {id: b, kind: end}",
            "ステップ「a」の from_attr: district, audience, age_band, has_children のいずれか",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {attr: language, op: like, value: en}, next: b}],"
            " else: b}\n  - {id: b, kind: end}",
            "op は eq, ne",
        ),
        (
            "  - {id: a, kind: branch, rules: [{if: {all: [{all: [{all: [{all: "
            "[{attr: language, op: exists}]}]}]}]}, next: b}], else: b}\n  - {id: b, kind: end}",
            "条件の入れ子が深すぎます",
        ),
    ],
)
def test_mistakes_are_named_by_step_and_field_in_japanese(steps, expected):
    found = problems(HEAD + steps + "\n")
    assert any(expected in problem for problem in found), found


def test_more_messages_in_a_row_than_one_reply_holds_are_refused():
    chain = "".join(f"  - {{id: m{i}, kind: message, text: t{i}, next: m{i + 1}}}\n" for i in range(6))
    found = problems(HEAD + chain + "  - {id: m6, kind: end}\n")
    assert (
        "ステップ「m0」: 入力を待たずに 6 通のメッセージが続きます (LINE の 1 回の返信は 5 通まで)。" in found
    )


def test_top_level_mistakes():
    found = problems(
        "slug: 台風\ntitle: ''\ntriggers: [" + ", ".join(["x"] * 21) + "]\nsteps: []\nowner: me\n"
    )
    assert any(p.startswith("slug:") for p in found)
    assert any(p.startswith("title:") for p in found)
    assert any(p.startswith("triggers:") for p in found)
    assert any(p.startswith("steps:") for p in found)
    assert any(p.startswith("owner: 知らない項目です") for p in found)


def test_relative_dates():
    today = date(2024, 3, 31)
    assert date_from_spec("today", today) == today
    assert date_from_spec("today-18y", today) == date(2006, 3, 31)
    assert date_from_spec("today-1m", today) == date(2024, 2, 29)  # the end of a shorter month
    assert date_from_spec("today+30d", today) == date(2024, 4, 30)
    assert date_from_spec("2026-04-01", today) == date(2026, 4, 1)
    assert date_from_spec("tomorrow", today) is None
