"""Staff build scenarios with forms, step by step: the form gives back exactly the definition the
YAML path gives, goes through the same schema, shows each problem beside its step in Japanese and
saves nothing until the whole scenario is valid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import translation

from madoguchi.console import scenario_form
from madoguchi.core.models import AuditEntry
from madoguchi.scenarios.definition import definition_dump, definition_load, definition_validate
from madoguchi.scenarios.models import Scenario, ScenarioVersion
from madoguchi.scenarios.services import scenario_import
from tests.console.conftest import signed_in
from tests.console.scenario_forms import form_fields
from tests.scenarios.conftest import DATA

NEW = reverse("console:scenario_new")


def edit_url(scenario: Scenario) -> str:
    return reverse("console:scenario_edit", kwargs={"scenario_id": scenario.pk})


def press(client: Any, url: str, fields: dict[str, Any], op: str, **changes: Any) -> Any:
    """Change some fields and press the button whose op this is, as a person would."""
    return client.post(url, {**fields, **changes, "op": op})


def card(page: str, n: int) -> str:
    """The HTML of the n-th step's card (from its start to the next card's)."""
    start = page.index(f'id="step-{n}"')
    end = page.find('id="step-', start + 10)
    return page[start : end if end != -1 else len(page)]


def kinds(fields: dict[str, Any]) -> list[str]:
    return [value for name, value in fields.items() if re.fullmatch(r"s-\d+-kind", name)]


@pytest.mark.parametrize("name", ["typhoon-support", "kosodate-guide"])
def test_the_demo_flows_load_into_the_form_and_save_back_identical(staff_client, name):
    published = scenario_import((DATA / f"{name}.yaml").read_bytes(), publish=True)
    client = staff_client("admin", None)
    page = client.get(edit_url(published.scenario)).content.decode()
    fields = form_fields(page)
    assert "yaml" not in kinds(fields)  # every step in fields, none left to YAML
    assert fields["s-0-text-en"]  # the English texts are in the form, beside the Japanese
    response = press(client, edit_url(published.scenario), fields, "save")
    assert response.status_code == 302
    draft = Scenario.objects.get(pk=published.scenario_id).draft
    assert draft.definition == published.definition
    assert draft.definition == definition_load((DATA / f"{name}.yaml").read_bytes())
    entry = AuditEntry.objects.filter(action="scenarios.version.saved").latest("pk")
    assert entry.data["editor"] == "form"


@pytest.mark.parametrize("name", ["typhoon-support", "kosodate-guide"])
def test_the_conversion_gives_back_the_same_definition_without_the_page(name):
    definition = definition_load((DATA / f"{name}.yaml").read_bytes())
    state = scenario_form.editor_from_definition(definition)
    again, problems = scenario_form.definition_from_editor(state)
    assert problems == []
    assert definition_validate(again) == definition


def test_a_step_the_fields_cannot_hold_is_kept_as_its_own_yaml(staff_client):
    source = """slug: nested
title: 入れ子
steps:
  - {id: age, kind: ask, capture: number, var: age, text: "年齢は?", next: check}
  - id: check
    kind: branch
    rules:
      - if:
          any:
            - {all: [{var: age, op: ge, value: 65}, {attr: language, op: eq, value: ja}]}
            - {var: age, op: lt, value: 6}
        next: free
    else: bye
  - {id: free, kind: end, text: 無料です。}
  - {id: bye, kind: end}
"""
    published = scenario_import(source.encode(), publish=True)
    client = staff_client("admin", None)
    page = client.get(edit_url(published.scenario)).content.decode()
    fields = form_fields(page)
    assert kinds(fields) == ["ask", "yaml", "end", "end"]
    assert "any:" in fields["s-1-source"]
    assert press(client, edit_url(published.scenario), fields, "save").status_code == 302
    assert Scenario.objects.get(pk=published.scenario_id).draft.definition == published.definition


def test_build_a_scenario_from_scratch_with_the_buttons(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    assert kinds(fields) == ["message", "end"]  # a starter: a question with choices, and an end
    fields = form_fields(
        press(client, NEW, fields, "add", add_kind="ask", slug="sodai", title="粗大ごみ").content.decode()
    )
    assert kinds(fields) == ["message", "end", "ask"] and fields["s-2-id"] == "ask-3"
    fields = form_fields(press(client, NEW, fields, "up:2").content.decode())
    assert kinds(fields) == ["message", "ask", "end"]
    fields.update(
        {
            "s-1-text-ja": "いくつ出しますか。",
            "s-1-capture": "number",
            "s-1-var": "count",
            "s-1-next": "thanks",
            "s-0-c-0-target": "ask-3",
            "triggers": "粗大ごみ、そだいごみ",
        }
    )
    page = press(client, NEW, fields, "refresh").content.decode()  # a menu changed: min / max appear
    fields = form_fields(page)
    assert fields["s-1-min"] == "" and fields["s-1-text-ja"] == "いくつ出しますか。"
    response = press(client, NEW, fields, "save", **{"s-1-min": "1", "s-1-max": "5"})
    assert response.status_code == 302, response.content.decode()
    scenario = Scenario.objects.get(slug="sodai")
    assert scenario.department.code == "gomi"
    definition = scenario.draft.definition
    assert definition["triggers"] == ["粗大ごみ", "そだいごみ"]
    assert definition["steps"][1] == {
        "id": "ask-3",
        "kind": "ask",
        "capture": "number",
        "var": "count",
        "min": 1,
        "max": 5,
        "text": "いくつ出しますか。",
        "next": "thanks",
    }
    assert definition["steps"][0]["choices"][0] == {"label": "はい", "next": "ask-3"}
    assert definition["steps"][0]["choices"][1] == {"label": "職員と話す", "handoff": True}


def test_renaming_a_step_renames_every_reference_to_it(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    fields = form_fields(press(client, NEW, fields, "refresh", **{"s-1-id": "bye"}).content.decode())
    assert fields["s-0-c-0-target"] == "bye" and fields["s-1-id"] == "bye"


def test_the_operations_add_move_and_delete_steps_choices_and_rules():
    state = scenario_form.editor_new()
    scenario_form.editor_apply(state, "add", add_kind="branch")
    scenario_form.editor_apply(state, "add", add_kind="choices")
    assert [s["kind"] for s in state["steps"]] == ["message", "end", "branch", "message"]
    assert len(state["steps"][3]["choices"]) == 2
    scenario_form.editor_apply(state, "add-condition:2:0")
    scenario_form.editor_apply(state, "add-rule:2")
    assert [len(r["conditions"]) for r in state["steps"][2]["rules"]] == [2, 1]
    scenario_form.editor_apply(state, "delete-condition:2:0:1")
    scenario_form.editor_apply(state, "down-choice:0:0")
    assert state["steps"][0]["choices"][0]["target"]["to"] == "handoff"
    scenario_form.editor_apply(state, "delete-choice:0:1")
    scenario_form.editor_apply(state, "down:0")
    scenario_form.editor_apply(state, "delete:3")
    assert [s["id"] for s in state["steps"]] == ["thanks", "start", "branch-3"]
    for nonsense in ("delete:99", "up:0", "down:2", "explode:1", "delete-choice:0:9", "x" * 500):
        scenario_form.editor_apply(state, nonsense)
    assert [s["id"] for s in state["steps"]] == ["thanks", "start", "branch-3"]


def test_a_branch_on_an_answer_and_on_the_residents_language(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    fields = form_fields(press(client, NEW, fields, "add", add_kind="ask").content.decode())
    fields = form_fields(press(client, NEW, fields, "add", add_kind="branch").content.decode())
    fields.update(
        {
            "slug": "age-check",
            "s-0-c-0-target": "ask-3",
            "s-2-text-ja": "お子さんは何歳ですか。",
            "s-2-capture": "number",
            "s-2-var": "age",
            "s-2-next": "branch-4",
        }
    )
    fields = form_fields(press(client, NEW, fields, "add-condition:3:0").content.decode())
    fields.update(
        {
            "s-3-r-0-match": "any",
            "s-3-r-0-0-subject": "var:age",
            "s-3-r-0-0-op": "lt",
            "s-3-r-0-0-value": "6",
            "s-3-r-0-1-subject": "attr:language",
            "s-3-r-0-1-op": "not_in",
            "s-3-r-0-1-value": "ja、ja-easy",
            "s-3-r-0-next": "thanks",
            "s-3-else": "start",
        }
    )
    response = press(client, NEW, fields, "save")
    assert response.status_code == 302, response.content.decode()
    branch = Scenario.objects.get(slug="age-check").draft.definition["steps"][3]
    assert branch == {
        "id": "branch-4",
        "kind": "branch",
        "rules": [
            {
                "if": {
                    "any": [
                        {"var": "age", "op": "lt", "value": 6},
                        {"attr": "language", "op": "not_in", "value": ["ja", "ja-easy"]},
                    ]
                },
                "next": "thanks",
            }
        ],
        "else": "start",
    }


def test_texts_in_other_languages_are_written_in_the_form(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    assert "s-0-text-en" not in fields  # only Japanese until a language is ticked
    fields = form_fields(press(client, NEW, fields, "refresh", languages=["en", "ja-easy"]).content.decode())
    fields.update({"slug": "tagengo", "s-0-text-en": "Choose one.", "s-0-c-0-label-ja-easy": "はい"})
    assert press(client, NEW, fields, "save").status_code == 302
    step = Scenario.objects.get(slug="tagengo").draft.definition["steps"][0]
    assert step["text"] == {"ja": "知りたいことを選んでください。", "en": "Choose one."}
    assert step["choices"][0]["label"] == {"ja": "はい", "ja-easy": "はい"}


def test_a_missing_text_a_dangling_jump_and_a_long_text_are_shown_beside_their_steps(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    fields = form_fields(press(client, NEW, fields, "add", add_kind="message").content.decode())
    fields.update(
        {
            "slug": "broken",
            "s-0-text-ja": "",
            "s-0-c-0-target": "nowhere",
            "s-2-text-ja": "あ" * 5001,
        }
    )
    response = press(client, NEW, fields, "save")
    assert response.status_code == 400
    page = response.content.decode()
    assert "3 件の問題があります。" in page and "保存していません。" in page
    assert "文章がありません。" in card(page, 0)
    assert "next: ステップ「nowhere」はありません。" in card(page, 0)
    assert "nowhere (ありません)" in card(page, 0)  # the menu keeps what was sent, marked
    assert "ja の文章が長すぎます (5001 文字、5000 文字まで)。" in card(page, 2)
    assert 'href="#step-2"' in page  # the list at the top leads to the step
    assert not Scenario.objects.exists()
    # What staff typed stays in the form, to be corrected.
    assert form_fields(page)["s-2-text-ja"] == "あ" * 5001


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "s-1-id",
            "x'; DROP TABLE scenarios_scenario;--",
            "id は半角英小文字・数字・_・- の 40 文字までで書いてください。",
        ),
        (
            "s-1-id",
            "<script>alert(1)</script>",
            "id は半角英小文字・数字・_・- の 40 文字までで書いてください。",
        ),
        ("slug", "🐈‍⬛-neko", "半角英小文字・数字・ハイフン 50 文字までで書いてください"),
        ("slug", "' OR 1=1 --", "半角英小文字・数字・ハイフン 50 文字までで書いてください"),
        ("s-0-c-0-label-ja", "🐈" * 21, "ja の文章が長すぎます (21 文字、20 文字まで)。"),
        ("s-0-c-0-label-ja", "は" * 5000, "ja の文章が長すぎます (5000 文字、20 文字まで)。"),
        ("s-0-text-ja", "<b>" * 1700, "ja の文章が長すぎます (5100 文字、5000 文字まで)。"),
        ("s-0-c-1-to", "flow", "flow には別のシナリオの slug を書いてください。"),
        ("title", "", "名称を 100 文字までで書いてください。"),
    ],
)
def test_hostile_and_wrong_input_is_refused_in_japanese_and_nothing_is_saved(
    staff_client, field, value, expected
):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    fields["slug"] = "hostile"
    response = press(client, NEW, fields, "save", **{field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert expected in page
    assert "<script>alert(1)</script>" not in page  # shown back escaped, never as markup
    assert not Scenario.objects.exists() and not ScenarioVersion.objects.exists()


def test_emoji_sql_and_markup_in_a_text_are_kept_as_text(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    text = "🌀台風🐈‍⬛ '; DROP TABLE residents_resident; -- <script>alert('x')</script> & {district"
    response = press(client, NEW, fields, "save", slug="texts", **{"s-1-text-ja": text})
    assert response.status_code == 302
    scenario = Scenario.objects.get(slug="texts")
    assert scenario.draft.definition["steps"][1]["text"] == text
    page = client.get(edit_url(scenario)).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert form_fields(page)["s-1-text-ja"] == text


def test_check_lists_the_problems_or_says_there_are_none_and_saves_nothing(staff_client):
    client = staff_client("dept_manager")
    fields = form_fields(client.get(NEW).content.decode())
    assert "問題はありません。" in press(client, NEW, fields, "check").content.decode()
    page = press(client, NEW, fields, "check", **{"s-1-id": ""}).content.decode()
    assert "行き先のステップを選んでください。" not in page  # the reference keeps its old id
    assert "id は半角英小文字" in page
    assert not Scenario.objects.exists()


def test_a_slug_in_use_or_another_departments_cannot_be_taken(staff_client):
    road = staff_client("dept_manager", "doro")
    fields = form_fields(road.get(NEW).content.decode())
    assert press(road, NEW, fields, "save", slug="road-guide").status_code == 302
    again = press(road, NEW, fields, "save", slug="road-guide").content.decode()
    assert "slug「road-guide」はすでに使われています。" in again
    gomi = staff_client("dept_manager", "gomi")
    taken = press(gomi, NEW, fields, "save", slug="road-guide").content.decode()
    assert "slug「road-guide」は別の課のシナリオで使われています。" in taken
    assert Scenario.objects.get(slug="road-guide").versions.count() == 1


def test_the_form_edits_only_the_draft_and_keeps_the_slug(staff_client, scenario):
    client = staff_client("admin", None)
    fields = form_fields(client.get(edit_url(scenario)).content.decode())
    assert "slug" not in fields  # shown, not editable
    response = press(client, edit_url(scenario), fields, "save", slug="stolen", **{"s-0-text-ja": "改訂"})
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.slug == "demo"
    assert scenario.published.number == 1 and scenario.published.definition["steps"][0]["text"] == "おわり"
    assert scenario.draft.number == 2 and scenario.draft.definition["steps"][0]["text"] == "改訂"


def test_only_staff_who_manage_scenarios_in_the_department_may_use_the_form(staff_client, make_staff):
    road = staff_client("dept_manager", "doro")
    fields = form_fields(road.get(NEW).content.decode())
    press(road, NEW, fields, "save", slug="road-guide")
    scenario = Scenario.objects.get(slug="road-guide")
    fields = form_fields(road.get(edit_url(scenario)).content.decode())
    other = staff_client("dept_manager", "gomi")
    assert other.get(edit_url(scenario)).status_code == 404
    assert press(other, edit_url(scenario), fields, "save", **{"s-1-text-ja": "乗っ取り"}).status_code == 404
    for role in ("dept_staff", "operator", "auditor", "counselor"):
        client = staff_client(role, "doro") if role != "auditor" else staff_client(role, None)
        assert press(client, NEW, fields, "save", slug=f"by-{role}").status_code == 403
        assert press(client, edit_url(scenario), fields, "save").status_code == 403
    assert Scenario.objects.count() == 1 and scenario.versions.count() == 1
    # CSRF: the form's posts need the token, as every console write does.
    csrf = signed_in(make_staff("admin", None, username="csrf-admin"))
    csrf.handler.enforce_csrf_checks = True
    assert press(csrf, edit_url(scenario), fields, "save").status_code == 403
    assert scenario.versions.count() == 1


def test_the_form_speaks_english_when_staff_choose_english(staff_client, settings):
    client = staff_client("dept_manager")
    with translation.override("en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = client.get(NEW).content.decode()
    assert (
        "Save draft" in page
        and "Add a step" in page
        and "Question (text, number, date, photo, location)" in page
    )
    assert "下書きを保存" not in page


def test_posted_counts_are_bounded():
    data = QueryDict(mutable=True)
    data.update({"steps": "99999", "s-0-choices": "5000", "s-0-kind": "message"})
    state = scenario_form.editor_from_post(data)
    assert len(state["steps"]) == scenario_form.MAX_FORM_STEPS
    assert len(state["steps"][0]["choices"]) == scenario_form.MAX_FORM_CHOICES


def test_a_long_scenario_in_six_languages_fits_in_one_post(staff_client):
    languages = ("ja", "ja-easy", "en", "zh", "ko", "vi")
    steps: list[dict[str, Any]] = [
        {
            "id": f"q{n}",
            "kind": "message",
            "text": {code: f"{code} {n} 番目の質問" for code in languages},
            "choices": [
                {"label": {code: f"{code} はい" for code in languages}, "next": f"q{n + 1}"},
                {"label": {code: f"{code} いいえ" for code in languages}, "next": "bye"},
            ],
        }
        for n in range(120)
    ]
    steps[-1]["choices"][0]["next"] = "bye"
    source = {"slug": "long", "title": "長い", "steps": [*steps, {"id": "bye", "kind": "end"}]}
    published = scenario_import(definition_dump(source).encode(), publish=True)
    client = staff_client("admin", None)
    fields = form_fields(client.get(edit_url(published.scenario)).content.decode())
    assert len(fields) > 3000
    assert press(client, edit_url(published.scenario), fields, "save").status_code == 302
    assert Scenario.objects.get(slug="long").draft.definition == published.definition
