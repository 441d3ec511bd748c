"""Deliveries in the console: the segment builder and its count, the composer and what it
refuses, approval by state and person, test sends, step deliveries, the staff's own LINE id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.core.models import AuditEntry, Channel
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import Delivery, MessageTemplate, Segment, Step, StepSequence
from madoguchi.residents.models import District, Resident
from tests.console.conftest import signed_in


@pytest.fixture
def town(resident: Resident) -> dict[str, Any]:
    """The fixture's resident (北地区, English) and two more: one in 南地区, one blocked in 北地区."""
    kita = District.objects.create(code="kita", name="北地区")
    minami = District.objects.create(code="minami", name="南地区")
    Resident.objects.filter(pk=resident.pk).update(district=kita, language="en-US")
    south = Resident.objects.create(
        channel=resident.channel, line_user_id="U" + "3" * 32, display_name="南の人", district=minami
    )
    blocked = Resident.objects.create(
        channel=resident.channel,
        line_user_id="U" + "4" * 32,
        display_name="ブロックした人",
        district=kita,
        status=Resident.Status.BLOCKED,
    )
    return {"channel": resident.channel, "north": resident, "south": south, "blocked": blocked}


def rows(*conditions: tuple[str, list[str], bool], match: str = "all") -> dict[str, Any]:
    data: dict[str, Any] = {"name": "テスト", "mode": "rows", "match": match}
    for n, (field, values, negated) in enumerate(conditions):
        data[f"row-{n}-field"] = field
        data[f"row-{n}-neg"] = "1" if negated else "0"
        data[f"row-{n}-{field}"] = values
    return data


# Segments


def test_the_rows_builder_saves_conditions_and_the_list_counts_them(staff_client, town):
    client = staff_client("delivery")
    response = client.post(reverse("console:segment_new"), rows(("district", ["kita"], False)))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.conditions == {"all": [{"field": "district", "in": ["kita"]}]}
    page = client.get(reverse("console:segments")).content.decode()
    assert "地区: kita" in page and "1 人" in page  # the blocked one is never counted
    # 含まない becomes "not"; the page opens again with the row as it was.
    client.post(
        reverse("console:segment_edit", kwargs={"segment_id": segment.pk}),
        rows(("district", ["kita"], True)),
    )
    segment.refresh_from_db()
    assert segment.conditions == {"all": [{"not": {"field": "district", "in": ["kita"]}}]}
    edit = client.get(reverse("console:segment_edit", kwargs={"segment_id": segment.pk})).content.decode()
    assert 'value="1" selected' in edit and 'value="kita" checked' in edit
    assert AuditEntry.objects.filter(action="messaging.segment.changed").exists()


def test_every_row_is_on_the_page_and_those_past_the_first_blank_one_wait_hidden(staff_client, town):
    client = staff_client("delivery")
    page = client.get(reverse("console:segment_new")).content.decode()
    assert page.count("data-row ") + page.count("data-row>") == 20  # ROWS_MAX
    assert page.count("data-row hidden") == 16  # four shown on a new segment
    assert "data-add-row" in page
    # A sixth condition (as 条件を追加 shows it) is saved like the first; five rows open again.
    conditions = [("district", ["kita"], False)] * 5 + [("district", ["minami"], True)]
    response = client.post(reverse("console:segment_new"), rows(*conditions))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.conditions["all"][-1] == {"not": {"field": "district", "in": ["minami"]}}
    edit = client.get(reverse("console:segment_edit", kwargs={"segment_id": segment.pk})).content.decode()
    assert edit.count("data-row hidden") == 20 - 7  # six used, one blank


def test_the_live_count_gives_aggregates_by_district_and_language(staff_client, town):
    client = staff_client("delivery")
    everyone = client.post(reverse("console:segment_count"), rows()).json()
    assert everyone["count"] == 2
    assert {(d["label"], d["count"]) for d in everyone["districts"]} == {("北地区", 1), ("南地区", 1)}
    assert {(d["label"], d["count"]) for d in everyone["languages"]} == {("English", 1), ("日本語", 1)}
    north = client.post(reverse("console:segment_count"), rows(("district", ["kita"], False))).json()
    assert north["count"] == 1 and "display_name" not in json.dumps(north) and "山田" not in json.dumps(north)
    bad = client.post(reverse("console:segment_count"), {"mode": "json", "conditions_json": "{not json"})
    assert bad.status_code == 400 and "読めません" in bad.json()["error"]


def test_the_json_editor_takes_nested_trees_and_refuses_what_it_cannot_read(staff_client, town):
    client = staff_client("dept_manager")
    nested = {
        "any": [
            {"field": "district", "in": ["minami"]},
            {"all": [{"field": "registered", "is": True}, {"not": {"field": "language", "in": ["ja"]}}]},
        ]
    }
    ok = client.post(
        reverse("console:segment_new"),
        {"name": "入れ子", "mode": "json", "conditions_json": json.dumps(nested)},
    )
    assert ok.status_code == 302 and Segment.objects.get().conditions == nested
    edit = client.get(reverse("console:segment_edit", kwargs={"segment_id": Segment.objects.get().pk}))
    assert 'value="json" checked' in edit.content.decode()  # not one level: shown as JSON
    for source, problem in (
        ("{not json", "読めません"),
        ('{"field": "password", "in": ["x"]}', "知らない条件です"),
        ('{"all": [{"field": "district", "in": []}]}', "一つ以上"),
        ('{"all": [], "any": []}', "条件の一覧"),
        ("x" * 20_001, "長すぎます"),
    ):
        response = client.post(
            reverse("console:segment_new"), {"name": "悪い", "mode": "json", "conditions_json": source}
        )
        assert response.status_code == 400 and problem in response.content.decode(), source
    assert Segment.objects.count() == 1


def test_a_sample_of_names_is_for_staff_who_may_see_residents_and_is_logged(staff_client, town):
    manager = staff_client("dept_manager")
    names = manager.post(reverse("console:segment_sample"), rows(("district", ["kita"], False))).json()
    assert names == {"names": ["山田 花子"]}  # never the blocked one
    entry = AuditEntry.objects.filter(action="residents.resident.listed").latest("pk")
    assert entry.data["segment_sample"] == [town["north"].pk]
    assert staff_client("delivery", "doro").post(reverse("console:segment_sample"), rows()).status_code == 403


# The composer


def composer(segment: Segment | None, **content: str) -> dict[str, Any]:
    data = {
        "title": "お知らせ",
        "channel": Channel.objects.filter(is_confidential=False).first().pk,
        "target": "segment" if segment else "all",
        "segment": segment.pk if segment else "",
        "when": "now",
        "recurrence": "",
        "do": "save",
        "c-ja-0-type": "text",
        "c-ja-0-text": "こんにちは",
    }
    data.update(content)
    return data


@pytest.fixture
def north(town: dict[str, Any], make_staff: Any) -> Segment:
    owner = make_staff("delivery", "doro", username="segment-owner").user
    return Segment.objects.create(
        name="北", conditions={"all": [{"field": "district", "in": ["kita"]}]}, created_by=owner
    )


def test_compose_every_kind_of_message_in_two_languages(staff_client, north):
    client = staff_client("delivery")
    flex = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "避難所"}]},
    }
    response = client.post(
        reverse("console:delivery_new"),
        composer(
            north,
            **{
                "c-ja-0-text": "{name}さん、こんにちは",
                "c-ja-1-type": "image",
                "c-ja-1-url": "https://example.jp/a.png",
                "c-ja-2-type": "sticker",
                "c-ja-2-package_id": "446",
                "c-ja-2-sticker_id": "1988",
                "c-ja-3-type": "buttons",
                "c-ja-3-title": "防災",
                "c-ja-3-card_text": "避難所を確かめましょう",
                "c-ja-3-b0-label": "地図",
                "c-ja-3-b0-value": "https://example.jp/map",
                "c-ja-3-b1-label": "相談",
                "c-ja-3-b1-value": "相談したい",
                "c-ja-4-type": "flex",
                "c-ja-4-alt_text": "避難所の案内",
                "c-ja-4-flex": json.dumps(flex),
                "c-ja-quick": "はい\n地図 | https://example.jp/map",
                "c-en-on": "1",
                "c-en-0-type": "text",
                "c-en-0-text": "Hello",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    delivery = Delivery.objects.get()
    ja = delivery.content["ja"]
    assert [m["type"] for m in ja["messages"]] == ["text", "image", "sticker", "buttons", "flex"]
    assert ja["messages"][3]["actions"] == [
        {"label": "地図", "uri": "https://example.jp/map"},
        {"label": "相談", "text": "相談したい"},
    ]
    assert ja["quick_replies"] == [
        {"label": "はい", "text": "はい"},
        {"label": "地図", "uri": "https://example.jp/map"},
    ]
    assert delivery.content["en"] == {"messages": [{"type": "text", "text": "Hello"}]}
    assert delivery.status == Delivery.Status.DRAFT and delivery.segment == north
    detail = client.get(response["Location"]).content.decode()
    assert "山田 花子さん、こんにちは" in detail and "避難所" in detail and "English" in detail
    # Editing shows what was saved.
    edit = client.get(reverse("console:delivery_edit", kwargs={"delivery_id": delivery.pk})).content.decode()
    assert "{name}さん、こんにちは" in edit and "https://example.jp/map" in edit


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"c-ja-5-type": "text", "c-ja-5-text": "6 件目"}, "5 件まで"),
        ({"c-ja-0-text": "あ" * 5001}, "5000 文字まで"),
        ({"c-ja-0-type": "image", "c-ja-0-url": "http://example.jp/a.png"}, "https://"),
        ({"c-ja-0-type": "image", "c-ja-0-url": "javascript:alert(1)"}, "https://"),
        (
            {
                "c-ja-0-type": "buttons",
                "c-ja-0-card_text": "x",
                "c-ja-0-b0-label": "a",
                "c-ja-0-b0-value": "http://x.jp",
            },
            "https://",
        ),
        ({"c-ja-0-type": "flex", "c-ja-0-alt_text": "a", "c-ja-0-flex": "{oops"}, "JSON を読めません"),
        (
            {"c-ja-0-type": "flex", "c-ja-0-alt_text": "a", "c-ja-0-flex": '{"type": "box"}'},
            "bubble か carousel",
        ),
        ({"c-ja-0-type": "video"}, "知らない種類"),
        ({"c-ja-0-type": "sticker", "c-ja-0-package_id": "1; drop", "c-ja-0-sticker_id": "2"}, "数字"),
        ({"c-ja-0-type": ""}, "1〜5 件"),
        ({"title": ""}, "件名"),
        ({"when": "at", "scheduled_at": ""}, "配信日時を入れてください"),
        ({"channel": "99999"}, "LINE アカウント"),
    ],
)
def test_the_composer_refuses_hostile_input_and_keeps_what_was_typed(staff_client, north, fields, problem):
    client = staff_client("delivery")
    response = client.post(reverse("console:delivery_new"), composer(north, **fields))
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not Delivery.objects.exists()


def test_the_counseling_channel_is_never_offered(staff_client, north, conversations):
    client = staff_client("delivery")
    page = client.get(reverse("console:delivery_new")).content.decode()
    assert "みどり市公式" in page and "こころの相談" not in page
    counseling = Channel.objects.get(is_confidential=True)
    response = client.post(reverse("console:delivery_new"), composer(north, channel=str(counseling.pk)))
    assert response.status_code == 400 and not Delivery.objects.exists()


def test_script_in_content_is_shown_as_text_in_the_preview(staff_client, north):
    client = staff_client("delivery")
    script = "<script>alert('x')</script>"
    response = client.post(
        reverse("console:delivery_new"), composer(north, do="preview", **{"c-ja-0-text": script})
    )
    page = response.content.decode()
    assert response.status_code == 200 and script not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'data-testid="estimate">1 人' in page  # the blocked one is not counted
    assert not Delivery.objects.exists()  # a preview saves nothing


def test_many_recipients_with_a_name_placeholder_are_warned_about(staff_client, town, settings, monkeypatch):
    monkeypatch.setattr("madoguchi.console.delivery_views.NAME_PLACEHOLDER_WARN", 1)
    client = staff_client("delivery")
    page = client.post(
        reverse("console:delivery_new"), composer(None, do="preview", **{"c-ja-0-text": "{name}さん"})
    ).content.decode()
    assert "1 人に 1 回ずつ" in page
    quiet = client.post(reverse("console:delivery_new"), composer(None, do="preview")).content.decode()
    assert "1 人に 1 回ずつ" not in quiet


def test_posts_without_the_csrf_token_are_refused(make_staff, north):
    client = signed_in(make_staff("delivery"))
    client.handler.enforce_csrf_checks = True
    assert client.post(reverse("console:delivery_new"), composer(north)).status_code == 403
    assert client.post(reverse("console:segment_count"), rows()).status_code == 403
    assert not Delivery.objects.exists()


def test_save_as_a_template_and_start_from_it(staff_client, north):
    client = staff_client("delivery")
    client.post(
        reverse("console:delivery_new"),
        composer(
            north, do="template", template_name="ごみの日", **{"c-ja-0-text": "あすは燃やすごみの日です"}
        ),
    )
    template = MessageTemplate.objects.get(name="ごみの日")
    page = client.get(reverse("console:delivery_new"), {"template": template.pk}).content.decode()
    assert "あすは燃やすごみの日です" in page
    assert not Delivery.objects.exists()


# Approval


@pytest.fixture
def pending(north: Segment, make_staff: Any) -> tuple[Delivery, Client]:
    author = make_staff("delivery", "gomi", username="author")
    client = signed_in(author)
    client.post(reverse("console:delivery_new"), composer(north, is_emergency="on"))
    delivery = Delivery.objects.get()
    client.post(reverse("console:delivery_submit", kwargs={"delivery_id": delivery.pk}))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING_APPROVAL
    return delivery, client


def test_an_emergency_needs_another_approver_and_shows_why(pending, make_staff):
    delivery, author = pending
    url = reverse("console:delivery_decide", kwargs={"delivery_id": delivery.pk, "action": "approve"})
    page = author.post(url, follow=True).content.decode()
    assert "緊急配信は、作成者とは別の職員が承認してください。" in page
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING_APPROVAL
    listed = author.get(reverse("console:deliveries")).content.decode()
    assert 'class="crisis"' in listed and "緊急" in listed


def test_return_needs_a_reason_and_cancel_a_confirmation(pending, make_staff):
    delivery, _author = pending
    chief = signed_in(make_staff("dept_manager", "gomi", username="chief"))
    back = reverse("console:delivery_decide", kwargs={"delivery_id": delivery.pk, "action": "return"})
    assert "理由を書いてください" in chief.post(back, follow=True).content.decode()
    chief.post(back, {"reason": "日付を確かめてください"})
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DRAFT
    assert AuditEntry.objects.get(action="messaging.delivery.returned").reason == "日付を確かめてください"
    cancel = reverse("console:delivery_decide", kwargs={"delivery_id": delivery.pk, "action": "cancel"})
    chief.post(cancel)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DRAFT  # not without the confirmation
    chief.post(cancel, {"confirm": "1"})
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.CANCELLED and delivery.cancelled_by.get_username() == "chief"


def test_only_the_author_submits(north, make_staff):
    author = signed_in(make_staff("delivery", "gomi", username="author"))
    author.post(reverse("console:delivery_new"), composer(north))
    delivery = Delivery.objects.get()
    other = signed_in(make_staff("delivery", "gomi", username="other"))
    page = other.get(reverse("console:delivery", kwargs={"delivery_id": delivery.pk})).content.decode()
    assert "承認に回す" not in page
    other.post(reverse("console:delivery_submit", kwargs={"delivery_id": delivery.pk}))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DRAFT


# The staff member's own LINE id and the test send


def test_staff_set_their_own_line_id(staff_client):
    client = staff_client("dept_staff")
    client.post(reverse("console:my_settings"), {"line_user_id": "U" + "a" * 32})
    page = client.get(reverse("console:my_settings")).content.decode()
    assert "U" + "a" * 32 in page
    refused = client.post(reverse("console:my_settings"), {"line_user_id": "<script>"})
    assert "英数字 64 文字まで" in refused.content.decode() and "<script>" not in refused.content.decode()


def test_a_test_send_reaches_the_staff_members_own_line(sim, channel, make_staff):
    profile = make_staff("delivery", "gomi", username="tester")
    profile.line_user_id = "U" + "7" * 32
    profile.save()
    sim.http.put("/_sim/users", json={"userIds": [profile.line_user_id]}).raise_for_status()
    client = signed_in(profile)
    client.post(
        reverse("console:delivery_new"),
        composer(None, channel=str(channel.pk), **{"c-ja-0-text": "{name}さんへの試し"}),
    )
    delivery = Delivery.objects.get()
    page = client.post(
        reverse("console:delivery_test", kwargs={"delivery_id": delivery.pk}), {"language": "ja"}, follow=True
    ).content.decode()
    assert "テスト送信しました" in page
    assert [m["text"] for m in sim.messages(profile.line_user_id)] == ["（お名前）さんへの試し"]
    assert AuditEntry.objects.filter(action="messaging.delivery.test_sent").exists()


# Step deliveries


def test_a_step_sequence_with_steps_and_the_active_toggle(staff_client, resident):
    client = staff_client("dept_manager")
    response = client.post(
        reverse("console:step_sequence_new"),
        {"name": "子育て応援", "channel": resident.channel_id, "trigger": "child_birthdate", "segment": ""},
    )
    sequence = StepSequence.objects.get()
    assert response["Location"] == reverse("console:step_sequence", kwargs={"sequence_id": sequence.pk})
    step_url = reverse("console:step_new", kwargs={"sequence_id": sequence.pk})
    bad = client.post(
        step_url, {"months": "4", "days": "0", "send_time": "10:00", "c-ja-0-type": "text", "c-ja-0-text": ""}
    )
    assert bad.status_code == 400 and not Step.objects.exists()
    client.post(
        step_url,
        {
            "months": "4",
            "days": "0",
            "send_time": "09:30",
            "c-ja-0-type": "text",
            "c-ja-0-text": "4か月児健診のご案内",
        },
    )
    step = Step.objects.get()
    assert (step.months, step.days, str(step.send_time)) == (4, 0, "09:30:00")
    assert step.content == content_from_text("4か月児健診のご案内")
    page = client.get(response["Location"]).content.decode()
    assert "4 か月 0 日後" in page and "4か月児健診のご案内" in page
    client.post(reverse("console:step_sequence_toggle", kwargs={"sequence_id": sequence.pk}))
    sequence.refresh_from_db()
    assert sequence.is_active
    client.post(
        reverse("console:step_edit", kwargs={"sequence_id": sequence.pk, "step_id": step.pk}),
        {"do": "delete"},
    )
    assert not Step.objects.exists()
    assert AuditEntry.objects.filter(action="messaging.step.deleted").exists()
