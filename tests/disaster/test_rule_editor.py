"""The console's editor for alert rules: list, create, edit, disable; districts as a segment of
the rule's own; Japanese errors; CSRF, permissions and audit; and a rule that sends at once,
labelled and confirmed, sending actual alerts only."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from madoguchi.core.models import AuditEntry, Channel
from madoguchi.disaster.intake import alert_ingest
from madoguchi.disaster.models import AlertDelivery, AlertFeed, AlertRule
from madoguchi.messaging.models import Delivery, Segment
from madoguchi.residents.models import District
from tests.console.conftest import signed_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
LANDSLIDE = (FIXTURES / "jma" / "17_01_01_190529_VXWW50.xml").read_bytes()
TSUNAMI = (FIXTURES / "cap" / "wcatwc-warning.cap").read_bytes()


@pytest.fixture
def city(db) -> Channel:
    for order, (code, name) in enumerate([("kita", "北地区"), ("minami", "南地区"), ("minato", "港地区")]):
        District.objects.create(code=code, name=name, sort_order=order)
    return Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )


def form(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "福岡県の土砂災害",
        "area_codes": "4020400、４０１３３００",  # 、 and full-width digits are fine
        "kind": "landslide",
        "min_severity": "severe",
        "template": "evacuate",
        "districts": ["kita", "minato"],
        "action": "draft",
        "is_active": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_staff_create_a_rule_with_districts_and_it_makes_a_draft_for_them(city, make_staff):
    manager = make_staff("delivery")
    client = signed_in(manager)
    page = client.get(reverse("console:alert_rule_new")).content.decode()
    for label in ("地域コード", "深刻度(この程度以上)", "避難指示", "北地区", "下書きを作る", "承認なし"):
        assert label in page
    response = client.post(reverse("console:alert_rule_new"), form())
    assert response.status_code == 302 and response["location"] == reverse("console:alert_rules")
    rule = AlertRule.objects.get()
    assert (rule.area_codes, rule.kind, rule.owner, rule.channel) == (
        "4020400, 4013300",
        "landslide",
        manager.user,
        city,
    )
    assert rule.segment is not None
    assert rule.segment.conditions == {"all": [{"field": "district", "in": ["kita", "minato"]}]}
    entry = AuditEntry.objects.get(action="disaster.alert_rule.created")
    assert entry.actor == manager.user and entry.data["districts"] == ["kita", "minato"]
    listing = client.get(reverse("console:alert_rules")).content.decode()
    assert (
        "福岡県の土砂災害" in listing
        and "北地区、港地区" in listing
        and "気象庁: 土砂災害警戒情報" in listing
    )

    [draft] = alert_ingest(LANDSLIDE).deliveries
    assert draft.status == Delivery.Status.DRAFT and draft.segment == rule.segment
    assert draft.target == Delivery.Target.SEGMENT


def test_editing_keeps_the_segment_until_the_districts_change_and_none_means_everyone(city, make_staff):
    client = signed_in(make_staff("dept_manager"))
    client.post(reverse("console:alert_rule_new"), form())
    rule = AlertRule.objects.get()
    first = rule.segment
    edit = reverse("console:alert_rule_edit", args=[rule.pk])
    assert 'value="kita" checked' in client.get(edit).content.decode().replace(' id="id_districts_0"', "")
    client.post(edit, form(name="福岡県の土砂災害(改)"))
    rule.refresh_from_db()
    assert rule.segment == first and rule.name == "福岡県の土砂災害(改)"
    client.post(edit, form(districts=["minami"]))
    rule.refresh_from_db()
    assert rule.segment != first and rule.segment.conditions["all"][0]["in"] == ["minami"]
    assert Segment.objects.filter(pk=first.pk).exists()  # drafts already made keep theirs
    client.post(edit, form(districts=None))
    rule.refresh_from_db()
    assert rule.segment is None
    changed = AuditEntry.objects.filter(action="disaster.alert_rule.changed").order_by("pk")
    assert [e.data["fields"] for e in changed] == [["name"], ["name", "segment"], ["segment"]]


def test_a_segment_set_in_the_admin_site_is_kept_unless_staff_choose_districts(city, make_staff):
    profile = make_staff("delivery")
    segment = Segment.objects.create(
        name="高齢者のいる世帯", conditions={"field": "age_band", "in": ["70s"]}, created_by=profile.user
    )
    rule = AlertRule.objects.create(
        name="既存", channel=city, template="elderly", segment=segment, owner=profile.user
    )
    client = signed_in(profile)
    edit = reverse("console:alert_rule_edit", args=[rule.pk])
    assert "管理サイトで設定した配信先" in client.get(edit).content.decode()
    client.post(edit, form(keep_segment="on", districts=None))
    rule.refresh_from_db()
    assert rule.segment == segment
    client.post(edit, form(districts=["kita"]))
    rule.refresh_from_db()
    assert rule.segment != segment and rule.segment.conditions["all"][0]["in"] == ["kita"]


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"name": ""}, "name", "入力してください。"),
        ({"area_codes": "4020400; DROP TABLE"}, "area_codes", "地域コードは半角英数字で"),
        ({"min_severity": "apocalyptic"}, "min_severity", "選択肢から選んでください。"),
        ({"template": ""}, "template", "入力してください。"),
        ({"districts": ["atlantis"]}, "districts", "選択肢から選んでください。"),
        ({"action": "immediate"}, "confirm_immediate", "確認のチェックを入れてから保存してください"),
        (
            {"action": "immediate", "confirm_immediate": "on", "area_codes": ""},
            "area_codes",
            "地域コードを入れて",
        ),
        (
            {"action": "immediate", "confirm_immediate": "on", "min_severity": "moderate"},
            "min_severity",
            "「重大」以上にしてください",
        ),
        ({"name": "あ" * 101}, "name", "100 文字以内で入れてください。"),
    ],
)
def test_invalid_rules_are_refused_with_japanese_errors(city, make_staff, fields, field, error):
    client = signed_in(make_staff("delivery"))
    response = client.post(reverse("console:alert_rule_new"), form(**fields))
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors[field])
    assert "入力を確かめてください。" in response.content.decode()
    assert (
        not AlertRule.objects.exists()
        and not AuditEntry.objects.filter(action__startswith="disaster.").exists()
    )


def test_only_staff_with_the_permission_reach_the_editor_and_posts_need_the_csrf_token(city, make_staff):
    owner = make_staff("delivery")
    rule = AlertRule.objects.create(name="規則", channel=city, template="elderly", owner=owner.user)
    for role in ("dept_staff", "auditor", "operator", "admin"):
        client = signed_in(make_staff(role))
        assert client.get(reverse("console:alert_rules")).status_code == 403
        assert client.post(reverse("console:alert_rule_new"), form()).status_code == 403
        assert (
            client.post(reverse("console:alert_rule_active", args=[rule.pk]), {"active": "0"}).status_code
            == 403
        )
    assert AlertRule.objects.count() == 1 and AlertRule.objects.get().is_active
    assert AuditEntry.objects.filter(action="console.access.denied").count() == 12
    strict = signed_in(owner)
    strict.handler.enforce_csrf_checks = True
    assert strict.post(reverse("console:alert_rule_new"), form()).status_code == 403
    assert (
        strict.post(reverse("console:alert_rule_active", args=[rule.pk]), {"active": "0"}).status_code == 403
    )
    assert AlertRule.objects.count() == 1 and AlertRule.objects.get().is_active
    # The alert list links to the editor for those who may edit, and not for the others.
    assert "alert-rules-link" in signed_in(owner).get(reverse("console:alerts")).content.decode()


def test_disable_and_enable_and_an_immediate_rule_needs_the_tick_box_to_come_back(city, make_staff):
    profile = make_staff("delivery")
    client = signed_in(profile)
    rule = AlertRule.objects.create(
        name="即時",
        channel=city,
        area_codes="4020400",
        kind="landslide",
        template="emergency",
        action="immediate",
        owner=profile.user,
    )
    toggle = reverse("console:alert_rule_active", args=[rule.pk])
    listing = client.get(reverse("console:alert_rules")).content.decode()
    assert "rule-immediate" in listing and "緊急配信としてただちに送る(承認なし)" in listing
    client.post(toggle, {"active": "0"})
    rule.refresh_from_db()
    assert not rule.is_active
    assert not alert_ingest(LANDSLIDE).deliveries  # a disabled rule makes nothing
    response = client.post(toggle, {"active": "1"}, follow=True)
    assert "確認のチェックを入れてください" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.is_active
    client.post(toggle, {"active": "1", "confirm": "yes"})
    rule.refresh_from_db()
    assert rule.is_active
    actions = list(
        AuditEntry.objects.filter(action__startswith="disaster.alert_rule.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["disaster.alert_rule.disabled", "disaster.alert_rule.enabled"]


def test_an_immediate_rule_sends_actual_alerts_at_once_and_lets_an_exercise_wait(city, make_staff):
    profile = make_staff("delivery")
    client = signed_in(profile)
    response = client.post(
        reverse("console:alert_rule_new"),
        form(
            name="津波警報はただちに",
            area_codes="AKZ185",
            kind="Geo",
            min_severity="extreme",
            template="emergency",
            districts=None,
            action="immediate",
            confirm_immediate="on",
        ),
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.action == AlertRule.Action.IMMEDIATE
    assert AuditEntry.objects.get(action="disaster.alert_rule.created").data["action"] == "immediate"
    edit_page = client.get(reverse("console:alert_rule_edit", args=[rule.pk])).content.decode()
    assert "職員の承認を待たずに緊急配信が始まります" in edit_page

    [sent] = alert_ingest(TSUNAMI).deliveries
    sent.refresh_from_db()
    assert sent.is_emergency and sent.approved_by == profile.user
    assert sent.status not in (Delivery.Status.DRAFT, Delivery.Status.PENDING_APPROVAL)
    assert AuditEntry.objects.filter(
        action="messaging.delivery.sent_at_once", object_id=str(sent.pk)
    ).exists()

    exercise = TSUNAMI.replace(b"<status>Actual</status>", b"<status>Exercise</status>", 1)
    exercise = exercise.replace(b"<identifier>", b"<identifier>exercise-", 1)
    [waiting] = alert_ingest(exercise).deliveries
    assert waiting.status == Delivery.Status.PENDING_APPROVAL
    assert AlertDelivery.objects.count() == 2


def test_the_disaster_pages_read_in_english(city, make_staff, settings):
    owner = make_staff("delivery")
    AlertRule.objects.create(
        name="津波",
        channel=city,
        area_codes="AKZ185",
        kind="Geo",
        min_severity="extreme",
        template="emergency",
        action="immediate",
        owner=owner.user,
    )
    AlertFeed.objects.create(name="JMA", url="http://127.0.0.1:9/feed.xml", last_error="x", failures=2)
    client = signed_in(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    rules = client.get(reverse("console:alert_rules")).content.decode()
    for text in (
        "Alert rules",
        "Add a rule",
        "Emergency delivery sent at once (no approval)",
        "CAP: Geo",
        "All friends",
    ):
        assert text in rules, text
    edit = client.get(reverse("console:alert_rule_new")).content.decode()
    for text in ("Area codes", "Severity (at least)", "Districts to send to", "Evacuation order (level 4)"):
        assert text in edit, text
    alerts = client.get(reverse("console:alerts")).content.decode()
    for text in ("Alerts received", "Feeds", "Poll failed (2 times in a row)", "Nothing received yet."):
        assert text in alerts, text
    safety = client.get(reverse("console:safety_new")).content.decode()
    assert "e.g. Earthquake, 3 December" in safety
    for page in (rules, edit, alerts, safety):
        assert "警報の規則" not in page and "受信フィード" not in page
