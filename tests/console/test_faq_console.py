"""Staff edit the FAQ, import a sheet, and teach the bot the questions it could not answer."""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.core.models import AuditEntry
from madoguchi.faq.index import current_index
from madoguchi.faq.models import FaqEntry, Question, Synonym

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
            "answer_ja_easy": "おおきい ごみは でんわで もうしこみます。",
            "answer_vi": "Gọi điện cho trung tâm.",
            "links_text": "申込ページ https://example.jp/sodai",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.variants == ["大きいごみ 出したい", "そだいごみ"]
    assert entry.answer_in("en").startswith("Call") and entry.answer_in("ko") == entry.answer
    assert entry.answer_in("ja-easy").startswith("おおきい") and entry.answer_in("vi").startswith("Gọi")
    assert entry.links == [{"label": "申込ページ", "url": "https://example.jp/sodai"}]
    assert AuditEntry.objects.filter(action="faq.entry.changed").exists()
    export = client.get(reverse("console:faq_export")).content.decode("utf-8-sig")
    assert "大きいごみ 出したい|そだいごみ" in export and "おおきい ごみは" in export
    xlsx = client.get(reverse("console:faq_export_xlsx"))
    assert xlsx["Content-Disposition"] == 'attachment; filename="faq.xlsx"'
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active["A2"].value == "R1"


def test_the_editor_offers_every_language_staff_may_write_including_easy_japanese(staff_client, db):
    page = staff_client("dept_staff").get(reverse("console:faq_new")).content.decode()
    for label in (
        "回答 (やさしい にほんご)",
        "回答 (English)",
        "回答 (中文)",
        "回答 (한국어)",
        "回答 (Tiếng Việt)",
    ):
        assert label in page
    assert 'lang="ja"' in page and 'lang="vi"' in page


def test_a_link_that_is_not_https_is_refused(staff_client, db):
    response = staff_client("dept_staff").post(
        reverse("console:faq_new"),
        {"external_id": "L1", "question": "q", "answer": "a", "links_text": "罠 javascript:alert(1)"},
    )
    assert "https:// で始まる URL" in response.content.decode()
    assert not FaqEntry.objects.exists()


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


def test_the_learning_loop_turns_grouped_questions_into_a_variant(staff_client, db):
    FaqEntry.objects.create(
        external_id="R1", question="粗大ごみの申し込み方法", answer="受付センターへ電話してください。"
    )
    FaqEntry.objects.create(external_id="R2", question="指定ごみ袋の値段", answer="450円です。")
    asked = ["ぺけぽんを処分したい", "ぺけぽんを処分したい", "ぺけぽん処分したいです"]
    for text in asked:
        Question.objects.create(
            text=text, outcome=Question.Outcome.ABSTAINED, candidates=[{"id": "R1", "score": 0.1}]
        )
    client = staff_client("dept_manager")
    page = client.get(reverse("console:faq_questions")).content.decode()
    assert page.count('data-testid="question-group"') == 1  # one group of three
    assert "3 回" in page and "ぺけぽん処分したいです" in page
    assert "R1 粗大ごみの申し込み方法 の言い換えにする" in page
    assert AuditEntry.objects.filter(action="faq.questions.viewed").exists()
    ids = ",".join(str(pk) for pk in Question.objects.values_list("pk", flat=True))
    client.post(reverse("console:faq_add_variant"), {"text": asked[0], "entry": "R1", "questions": ids})
    assert FaqEntry.objects.get(external_id="R1").variants == [asked[0]]
    assert current_index().decide(asked[0]).answer_id == "R1"  # the bot has learnt it
    assert not Question.objects.filter(handled_at__isnull=True).exists()
    assert "答えられなかった質問はありません" in client.get(reverse("console:faq_questions")).content.decode()
    assert AuditEntry.objects.filter(action="faq.entry.variant_added").exists()


def test_a_group_becomes_a_new_entry_and_its_questions_are_handled(staff_client, db):
    FaqEntry.objects.create(external_id="F125", question="既存", answer="a")
    pets = [
        Question.objects.create(text=text, outcome=Question.Outcome.ABSTAINED)
        for text in ("ペットの火葬はどこで", "ペット 火葬")
    ]
    other = Question.objects.create(text="明日の天気", outcome=Question.Outcome.ABSTAINED)
    client = staff_client("dept_staff")
    page = client.get(reverse("console:faq_questions")).content.decode()
    link = re.search(r'href="(/console/faq/new/\?group=[0-9]+)"[^>]*>新しい質問として登録', page)
    assert link is not None
    form = client.get(html.unescape(link.group(1))).content.decode()
    assert 'value="F126"' in form and "ペットの火葬はどこで" in form and "ペット 火葬" in form
    ids = ",".join(str(q.pk) for q in pets)
    response = client.post(
        reverse("console:faq_new"),
        {
            "external_id": "F126",
            "question": "ペットの火葬はどこで",
            "variants_text": "ペット 火葬",
            "answer": "市の斎場で受け付けます。",
            "is_active": "on",
            "from_questions": ids,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("console:faq_questions")
    entry = FaqEntry.objects.get(external_id="F126")
    for question in Question.objects.filter(pk__in=[q.pk for q in pets]):
        assert question.resolution == Question.Resolution.NEW_ENTRY and question.resolved_entry == entry
    assert Question.objects.get(pk=other.pk).handled_at is None
    assert current_index().decide("ペットの火葬はどこでできますか").answer_id == "F126"


def test_dismissed_questions_leave_the_list(staff_client, db):
    weather = Question.objects.create(text="明日の天気", outcome=Question.Outcome.ABSTAINED)
    client = staff_client("dept_staff")
    client.post(reverse("console:faq_dismiss"), {"questions": f"{weather.pk},abc,;DROP TABLE,-1"})
    weather.refresh_from_db()
    assert weather.resolution == Question.Resolution.DISMISSED and weather.handled_by is not None
    assert AuditEntry.objects.filter(action="faq.questions.dismissed").exists()


def test_staff_are_offered_only_their_departments_entries(staff_client, departments, db):
    FaqEntry.objects.create(
        external_id="D1", question="道路の穴", answer="道路維持課へ。", department=departments["doro"]
    )
    Question.objects.create(
        text="道路の穴を直して", outcome=Question.Outcome.ABSTAINED, candidates=[{"id": "D1", "score": 0.1}]
    )
    client = staff_client("dept_staff", "gomi")
    assert "D1 道路の穴 の言い換えにする" not in client.get(reverse("console:faq_questions")).content.decode()
    response = client.post(reverse("console:faq_add_variant"), {"text": "道路の穴を直して", "entry": "D1"})
    assert response.status_code == 404
    assert FaqEntry.objects.get(external_id="D1").variants == []


def test_hostile_wordings_are_shown_as_text_and_refused_when_empty(staff_client, db):
    FaqEntry.objects.create(external_id="R1", question="粗大ごみ", answer="a")
    Question.objects.create(text="<script>alert(1)</script>", outcome=Question.Outcome.ABSTAINED)
    Question.objects.create(text="あ" * 500, outcome=Question.Outcome.ABSTAINED)
    client = staff_client("dept_staff")
    page = client.get(reverse("console:faq_questions")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    page = client.post(reverse("console:faq_add_variant"), {"text": "  ", "entry": "R1"}, follow=True)
    assert "言い換えにする質問を選んでください" in page.content.decode()
    client.post(reverse("console:faq_add_variant"), {"text": "い" * 5000, "entry": "R1"})
    assert FaqEntry.objects.get(external_id="R1").variants == ["い" * 500]


def test_staff_add_a_synonym_the_bot_uses_at_once_and_try_a_question(staff_client, db):
    FaqEntry.objects.create(
        external_id="S1", question="住民票の写しをコンビニで取りたい", answer="取れます。"
    )
    client = staff_client("dept_staff")
    url = reverse("console:faq_synonyms")
    assert "ソファ" in client.get(url).content.decode()  # the defaults are listed
    assert current_index().decide("ぺけぽん").kind == "abstain"
    response = client.post(url, {"term": "ぺけぽん", "means": "住民票の写し コンビニ"})
    assert response.status_code == 302
    page = client.get(url, {"q": "ぺけぽん コンビニ"}).content.decode()
    assert 'data-testid="trial-kind">' in page and "<td>S1</td>" in page
    assert AuditEntry.objects.filter(action="faq.synonym.created").exists()
    synonym = Synonym.objects.get()
    client.post(reverse("console:faq_synonym_delete", kwargs={"synonym_id": synonym.pk}))
    assert not Synonym.objects.exists() and current_index().decide("ぺけぽん").kind == "abstain"


@pytest.mark.parametrize(
    ("term", "means", "message"),
    [
        ("の", "住民票", "助詞や記号だけ"),
        ("！？", "住民票", "助詞や記号だけ"),
        ("  ", "住民票", "このフィールドは必須です"),
    ],
    ids=["particle", "punctuation", "blank"],
)
def test_synonyms_that_would_match_every_question_are_refused(staff_client, db, term, means, message):
    page = staff_client("dept_staff").post(reverse("console:faq_synonyms"), {"term": term, "means": means})
    assert message in page.content.decode()
    assert not Synonym.objects.exists()
