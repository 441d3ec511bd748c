"""A resident's page, APPI export and erasure with a second person's approval; every view logged."""

from __future__ import annotations

import csv
import io
import json

from django.urls import reverse

from madoguchi.channels.line.models import InboundEvent
from madoguchi.core.audit import audit_verify
from madoguchi.core.models import AuditEntry
from madoguchi.residents.models import Resident
from tests.console.conftest import signed_in


def _event(resident, text):
    return InboundEvent.objects.create(
        channel=resident.channel,
        webhook_event_id=f"01EV{text}",
        event_type="message",
        source_user_id=resident.line_user_id,
        occurred_at=resident.created_at,
        payload={
            "type": "message",
            "source": {"userId": resident.line_user_id},
            "message": {"type": "text", "text": text},
        },
        status="done",
    )


def test_opening_a_resident_is_logged_with_who_and_where(staff_client, resident):
    _event(resident, "ソファーを捨てたい")
    page = staff_client("dept_staff").get(reverse("console:resident", kwargs={"resident_id": resident.pk}))
    assert page.status_code == 200
    html = page.content.decode()
    assert "山田 花子" in html and "ソファーを捨てたい" in html  # profile and timeline
    entry = AuditEntry.objects.get(action="residents.resident.viewed")
    assert entry.actor_label == "dept_staff-gomi" and entry.object_id == str(resident.pk)
    assert entry.ip_address == "192.0.2.10"


def test_searching_residents_is_logged(staff_client, resident):
    page = staff_client("counselor").get(reverse("console:residents"), {"q": "山田"})
    assert "山田 花子" in page.content.decode()
    assert AuditEntry.objects.get(action="residents.resident.listed").data == {"query": "山田"}


def test_export_json_and_csv_hold_everything_and_log_the_reason(staff_client, resident):
    _event(resident, '=HYPERLINK("http://evil")')
    client = staff_client("dept_manager")
    data = json.loads(
        client.get(
            reverse("console:resident_export", kwargs={"resident_id": resident.pk, "fmt": "json"}),
            {"reason": "本人からの開示請求"},
        ).content
    )
    assert data["resident"]["display_name"] == "山田 花子"
    assert data["events"][0]["payload"]["message"]["text"].startswith("=HYPERLINK")
    assert AuditEntry.objects.get(action="residents.resident.exported").reason == "本人からの開示請求"
    response = client.get(
        reverse("console:resident_export", kwargs={"resident_id": resident.pk, "fmt": "csv"})
    )
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["resident", "", "display_name", "山田 花子"] in rows
    assert response["Content-Disposition"].endswith('.csv"')


def test_erasure_needs_a_second_person_and_then_anonymises(make_staff, resident):
    from madoguchi.faq.learning import waiting_questions
    from madoguchi.faq.models import Question

    _event(resident, "いじめの相談です")
    Question.objects.create(resident=resident, text="山田花子の住所変更", outcome=Question.Outcome.ABSTAINED)
    first = make_staff("dept_manager", "gomi", username="manager-one")
    second = make_staff("dept_manager", "gomi", username="manager-two")
    asker = signed_in(first)
    asker.post(
        reverse("console:resident_erasure", kwargs={"resident_id": resident.pk}), {"reason": "本人の削除請求"}
    )
    request = resident.erasure_requests.get()
    # The one who asked cannot approve.
    page = asker.post(reverse("console:erasure_approve", kwargs={"request_id": request.pk}), follow=True)
    assert "依頼した本人は承認できません" in page.content.decode()
    resident.refresh_from_db()
    assert resident.display_name == "山田 花子"
    # A second person approves.
    signed_in(second).post(reverse("console:erasure_approve", kwargs={"request_id": request.pk}))
    resident.refresh_from_db()
    assert resident.display_name == "" and resident.anonymised_at is not None
    assert resident.line_user_id.startswith("anon-")
    event = InboundEvent.objects.get()
    assert "message" not in event.payload and event.source_user_id == resident.line_user_id
    assert "いじめ" not in json.dumps(event.payload, ensure_ascii=False)
    # What the resident asked the bot goes too, and leaves the learning loop's list.
    assert Question.objects.get().text == "" and not waiting_questions().exists()
    assert AuditEntry.objects.filter(action="residents.erasure.approved", actor_label="manager-two").exists()
    assert audit_verify().problem == ""


def test_erasure_without_a_reason_is_refused_in_japanese(staff_client, resident):
    page = staff_client("dept_manager").post(
        reverse("console:resident_erasure", kwargs={"resident_id": resident.pk}), {"reason": ""}, follow=True
    )
    assert "削除の理由を入力してください" in page.content.decode()
    assert not resident.erasure_requests.exists()


def test_a_missing_resident_is_a_clear_404(staff_client, db):
    assert (
        staff_client("dept_staff")
        .get(reverse("console:resident", kwargs={"resident_id": 999999}))
        .status_code
        == 404
    )


def test_auditor_searches_and_exports_the_log(staff_client, resident):
    staff_client("dept_staff").get(reverse("console:resident", kwargs={"resident_id": resident.pk}))
    auditor = staff_client("auditor", None)
    page = auditor.get(reverse("console:audit"), {"action": "residents.resident.viewed"}).content.decode()
    assert "dept_staff-gomi" in page
    export = auditor.get(reverse("console:audit_export"), {"action": "residents.", "reason": "定期監査"})
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "residents.resident.viewed" in body
    assert AuditEntry.objects.get(action="core.audit.exported").reason == "定期監査"


def test_staff_are_created_with_the_password_policy(staff_client, departments):
    admin = staff_client("admin", None)
    weak = admin.post(
        reverse("console:staff"),
        {"username": "sato", "role": "dept_staff", "department": departments["gomi"].pk, "password": "sato"},
    )
    assert "パスワード" in weak.content.decode() and weak.status_code == 200
    ok = admin.post(
        reverse("console:staff"),
        {
            "username": "sato",
            "full_name": "佐藤",
            "role": "dept_staff",
            "department": departments["gomi"].pk,
            "password": "Hakone-Yumoto-2026",
        },
    )
    assert ok.status_code == 302
    assert AuditEntry.objects.filter(action="accounts.staff.created").exists()
    assert Resident.objects.count() == 0


def test_the_timeline_and_dashboard_show_faq_questions(staff_client, resident):
    from madoguchi.faq.models import Question

    Question.objects.create(resident=resident, text="ぺけぽん捨てたい", outcome=Question.Outcome.ABSTAINED)
    client = staff_client("dept_staff")
    page = client.get(reverse("console:resident", kwargs={"resident_id": resident.pk})).content.decode()
    assert "よくある質問" in page and "回答なし" in page
    dashboard = client.get(reverse("console:dashboard")).content.decode()
    assert 'data-testid="unanswered">1<' in dashboard
