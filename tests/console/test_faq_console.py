"""Staff edit the FAQ, import a sheet, and teach the bot the questions it could not answer."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.core.models import AuditEntry
from madoguchi.faq.index import current_index
from madoguchi.faq.models import FaqEntry, Question

SHEET = (
    "id,category,question,answer,department\n"
    "R1,ごみ,粗大ごみの申し込み方法,粗大ごみ受付センターへ電話してください。,環境課\n"
)


def test_import_edit_and_export(staff_client):
    client = staff_client("dept_staff")
    upload = SimpleUploadedFile("faq.csv", SHEET.encode(), content_type="text/csv")
    page = client.post(reverse("console:faq_import"), {"file": upload}, follow=True).content.decode()
    assert "新規 1 件" in page
    entry = FaqEntry.objects.get(external_id="R1")
    response = client.post(
        reverse("console:faq_edit", kwargs={"entry_id": entry.pk}),
        {
            "external_id": "R1",
            "category": "ごみ",
            "question": "粗大ごみの申し込み方法",
            "answer": "粗大ごみ受付センターへ電話してください。",
            "department_label": "環境課",
            "variants_text": "大きいごみ 出したい\nそだいごみ",
            "answer_en": "Call the oversized-garbage centre.",
            "answer_easy": "おおきい ごみは でんわで もうしこみます。",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.variants == ["大きいごみ 出したい", "そだいごみ"]
    assert entry.answer_in("en").startswith("Call") and entry.answer_in("ko") == entry.answer
    assert AuditEntry.objects.filter(action="faq.entry.changed").exists()
    export = client.get(reverse("console:faq_export")).content.decode("utf-8-sig")
    assert "大きいごみ 出したい|そだいごみ" in export


def test_a_refused_sheet_is_explained_in_japanese(staff_client, db):
    upload = SimpleUploadedFile("faq.csv", b"foo,bar\n1,2\n", content_type="text/csv")
    page = (
        staff_client("dept_staff")
        .post(reverse("console:faq_import"), {"file": upload}, follow=True)
        .content.decode()
    )
    assert "必要な列がありません" in page
    assert not FaqEntry.objects.exists()


def test_dates_in_the_wrong_order_are_refused(staff_client, db):
    response = staff_client("dept_staff").post(
        reverse("console:faq_new"),
        {
            "external_id": "D1",
            "question": "q",
            "answer": "a",
            "valid_from": "2026-12-01",
            "valid_until": "2026-01-01",
        },
    )
    assert "掲載終了日は開始日より後にしてください" in response.content.decode()


def test_the_learning_loop_turns_an_unanswered_question_into_a_variant(staff_client, db):
    FaqEntry.objects.create(
        external_id="R1", question="粗大ごみの申し込み方法", answer="受付センターへ電話してください。"
    )
    FaqEntry.objects.create(external_id="R2", question="指定ごみ袋の値段", answer="450円です。")
    asked = "ぺけぽんを処分したい"
    for _ in range(2):
        Question.objects.create(
            text=asked, outcome=Question.Outcome.ABSTAINED, candidates=[{"id": "R1", "score": 0.1}]
        )
    client = staff_client("dept_manager")
    page = client.get(reverse("console:faq_questions")).content.decode()
    assert asked in page and "R1 粗大ごみの申し込み方法 の言い換えにする" in page
    assert AuditEntry.objects.filter(action="faq.questions.viewed").exists()
    client.post(reverse("console:faq_add_variant"), {"text": asked, "entry": "R1"})
    assert FaqEntry.objects.get(external_id="R1").variants == [asked]
    assert current_index().decide(asked).answer_id == "R1"  # the bot has learnt it
