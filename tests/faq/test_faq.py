"""The FAQ: import with hostile files, the ask command, and the FAQ in a real conversation."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from madoguchi.faq.index import current_index
from madoguchi.faq.models import FaqEntry, Question, Synonym
from madoguchi.faq.services import ImportRefused, faq_import
from tests.conftest import run_tasks

MIDORI = Path(__file__).parents[2] / "madoguchi" / "faq" / "data" / "midori-faq.csv"
USER = "U" + "9" * 32


@pytest.fixture
def midori(db):
    return faq_import(MIDORI.read_bytes(), "midori-faq.csv")


def test_the_midori_faq_imports_and_a_second_import_updates(midori):
    assert (midori.created, midori.updated, midori.errors) == (125, 0, [])
    again = faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    assert (again.created, again.updated) == (0, 125)
    assert FaqEntry.objects.get(external_id="F005").question.startswith("粗大ごみを出したい")


def test_shift_jis_csv_from_excel_and_xlsx_import(db):
    sjis = "id,category,question,answer,department\r\nX1,ごみ,ごみの日は?,月曜日です。,環境課\r\n".encode(
        "cp932"
    )
    assert faq_import(sjis, "faq.csv").created == 1
    book = openpyxl.Workbook()
    book.active.append(["id", "category", "question", "answer", "department", "variants"])
    book.active.append(["X2", "税", "住民税はいつ?", "6月です。", "税務課", "市民税の納期|県民税いつ"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert faq_import(buffer.getvalue(), "faq.xlsx").created == 1
    assert FaqEntry.objects.get(external_id="X2").variants == ["市民税の納期", "県民税いつ"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "faq.csv", "必要な列がありません"),
        (b"a,b\n1,2\n", "faq.csv", "必要な列がありません: id"),
        (b"\xff\xfe\x00garbage\x81", "faq.csv", "文字コード"),
        (b"PK\x03\x04not really excel", "faq.xlsx", "Excel ファイルを読み込めませんでした"),
        (b"x" * 10_000_001, "faq.csv", "大きすぎます"),
    ],
    ids=["empty", "wrong-columns", "bad-encoding", "broken-xlsx", "too-big"],
)
def test_files_that_cannot_be_imported_are_refused_in_japanese_and_change_nothing(db, content, name, message):
    with pytest.raises(ImportRefused, match=message):
        faq_import(content, name)
    assert not FaqEntry.objects.exists()


def test_bad_rows_are_reported_and_good_rows_imported(db):
    csv_text = (
        "id,category,question,answer,department\n"
        "G1,ごみ,ごみの日?,月曜日,環境課\n"
        ",ごみ,idがない,答え,環境課\n"
        "G3,ごみ,,答え,環境課\n"
        f"G4,ごみ,長い回答,{'あ' * 5001},環境課\n"
        'G5,ごみ,"=HYPERLINK(""x"")",普通の答え,環境課\n'
    )
    report = faq_import(csv_text.encode(), "faq.csv")
    assert report.created == 2
    assert [line.split(":")[0] for line in report.errors] == ["3 行目", "4 行目", "5 行目"]
    assert FaqEntry.objects.get(external_id="G5").question == '=HYPERLINK("x")'  # stored as text, never run


def test_ask_prints_one_json_line_per_query(midori, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("住民票 コンビニ\n明日雨ふる？\n横浜市の粗大ごみの出し方\n"))
    call_command("faq", "ask", "--json", "--stdin")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == [
        "住民票 コンビニ",
        "明日雨ふる？",
        "横浜市の粗大ごみの出し方",
    ]
    assert lines[0]["answer_id"] == "F018"
    assert lines[1]["answer_id"] is None and lines[2]["answer_id"] is None  # out of scope: abstain
    assert all(len(line["candidates"]) <= 5 for line in lines)


def test_ask_reads_crlf_lines_as_windows_saves_them(midori, capsys, monkeypatch):
    # As sys.stdin reads a file saved on Windows: the \r stays on each line.
    crlf = "住民票 コンビニ\r\n明日雨ふる？\r\n".encode()
    stdin = io.TextIOWrapper(io.BytesIO(crlf), encoding="utf-8", newline="")
    monkeypatch.setattr("sys.stdin", stdin)
    call_command("faq", "ask", "--json", "--stdin")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["住民票 コンビニ", "明日雨ふる？"]
    assert lines[0]["answer_id"] == "F018"


def test_import_command_reports_refusal(db, tmp_path):
    bad = tmp_path / "faq.csv"
    bad.write_bytes(b"a,b\n")
    with pytest.raises(CommandError, match="必要な列"):
        call_command("faq", "import", str(bad))


@pytest.mark.parametrize(
    "query",
    [
        "",
        " ",
        "あ" * 5000,
        "😀😀😀",
        "'; DROP TABLE faq_faqentry; --",
        "！？。、…",
        "\u0000",
        "<script>alert(1)</script>",
    ],
    ids=["empty", "space", "5000-chars", "emoji", "sql", "punctuation", "nul", "html"],
)
def test_odd_questions_never_break_the_matcher(midori, query):
    decision = current_index().decide(query)
    assert decision.kind in {"answer", "choices", "abstain"}
    assert decision.kind != "answer" or query.strip() == ""  # none of these is a real question


def test_staff_synonyms_change_the_index_at_once(midori):
    assert current_index().decide("ぺけぽん").kind == "abstain"
    Synonym.objects.create(term="ぺけぽん", means="住民票の写し コンビニ")
    assert current_index().decide("ぺけぽん コンビニ").answer_id == "F018"


def test_entries_out_of_their_validity_period_are_not_offered(midori):
    import datetime

    FaqEntry.objects.filter(external_id="F018").update(valid_until=datetime.date(2020, 1, 1))
    assert "F018" not in [c.id for c in current_index().decide("住民票 コンビニ").candidates]


def test_a_resident_gets_a_faq_answer_and_says_it_helped(sim, channel, midori):
    sim.text(USER, "住民票 コンビニで取れる？")
    run_tasks()
    [answer] = sim.messages(USER)
    assert "コンビニ" in answer["text"] and "担当" in answer["text"]
    helped = next(item for item in answer["quickReply"]["items"] if item["action"]["label"] == "解決した")
    sim.send(USER, {"type": "postback", "postback": {"data": helped["action"]["data"]}})
    run_tasks()
    question = Question.objects.get()
    assert question.outcome == Question.Outcome.ANSWERED and question.entry.external_id == "F018"
    assert question.helpful is True


def test_a_close_call_offers_three_choices_and_a_tap_answers(sim, channel, midori):
    sim.text(USER, "ソファー捨てたい")
    run_tasks()
    [choices] = sim.messages(USER)
    assert "この中にありますか" in choices["text"]
    items = [item["action"] for item in choices["quickReply"]["items"]]
    sofa = next(action for action in items if "粗大ごみを出したい" in action.get("displayText", ""))
    sim.send(USER, {"type": "postback", "postback": {"data": sofa["data"]}})
    run_tasks()
    assert "粗大ごみ受付センター" in sim.messages(USER)[-1]["text"]
    assert Question.objects.get().entry.external_id == "F005"


@pytest.mark.parametrize(
    "dates",
    [{"valid_until": "2020-01-01"}, {"valid_from": "2999-01-01"}],
    ids=["expired", "not-yet-valid"],
)
def test_an_entry_outside_its_dates_is_not_shown_by_a_jump_or_an_old_chip(sim, channel, midori, dates):
    FaqEntry.objects.filter(external_id="F005").update(**dates)
    sim.send(USER, {"type": "postback", "postback": {"data": "a=faq.show&id=F005"}})
    run_tasks()
    [answer] = sim.messages(USER)
    assert "粗大ごみ受付センター" not in answer["text"]
    assert "現在ご覧いただけません" in answer["text"]
    assert "メニュー" in [item["action"]["label"] for item in answer["quickReply"]["items"]]
    assert not Question.objects.filter(entry__external_id="F005").exists()


def test_out_of_scope_questions_get_the_menu_not_a_guess(sim, channel, midori):
    sim.text(USER, "明日雨ふる？")
    run_tasks()
    [answer] = sim.messages(USER)
    assert answer["text"].startswith("すみません")
    assert Question.objects.get().outcome == Question.Outcome.ABSTAINED


def test_the_menu_offers_topics_that_the_faq_answers(sim, channel, midori):
    sim.send(USER, {"type": "postback", "postback": {"data": "a=menu"}})
    run_tasks()
    chips = [item["action"] for item in sim.messages(USER)[-1]["quickReply"]["items"]]
    topic = next(
        chip
        for chip in chips
        if chip["type"] == "message" and chip["text"] == "住民票の写しはどこで取れますか"
    )
    sim.text(USER, topic["text"])  # what a tap on the chip sends
    run_tasks()
    assert "市民課" in sim.messages(USER)[-1]["text"]  # F017: where to get a 住民票


def test_answers_come_in_the_residents_language_where_staff_wrote_one(sim, channel, midori):
    FaqEntry.objects.filter(external_id="F018").update(
        answers_by_language={
            "ja-easy": "コンビニで じゅうみんひょうが とれます。",
            "en": "You can get it at a convenience store.",
        }
    )
    sim.send(USER, {"type": "postback", "postback": {"data": "a=language&code=ja-easy"}})
    sim.text(USER, "住民票 コンビニ")
    run_tasks()
    assert sim.messages(USER)[-1]["text"].startswith("コンビニで じゅうみんひょうが とれます。")
    sim.send(USER, {"type": "postback", "postback": {"data": "a=language&code=ko"}})
    sim.text(USER, "住民票 コンビニ")
    run_tasks()
    assert "マルチコピー機" in sim.messages(USER)[-1]["text"]  # no Korean written: Japanese


FULL_SHEET = (
    "id,category,question,answer,department,variants,valid_from,valid_until,links,answer_ja-easy,answer_en\n"
    "L1,ごみ,粗大ごみの出し方,予約してください。,環境課,大きいごみ|そだいごみ,2026-04-01,2027/03/31,"
    '"申込 https://example.jp/sodai|料金表 https://example.jp/fee",よやくして ください。,Book first.\n'
    'L2,税,"=1+1","-2",税務課,,,,,,\n'
)


def test_the_sheet_carries_dates_links_and_answers_in_other_languages(db):
    report = faq_import(FULL_SHEET.encode(), "faq.csv")
    assert (report.created, report.errors) == (2, [])
    entry = FaqEntry.objects.get(external_id="L1")
    assert entry.variants == ["大きいごみ", "そだいごみ"]
    assert (str(entry.valid_from), str(entry.valid_until)) == ("2026-04-01", "2027-03-31")
    assert entry.links == [
        {"label": "申込", "url": "https://example.jp/sodai"},
        {"label": "料金表", "url": "https://example.jp/fee"},
    ]
    assert entry.answers_by_language == {"ja-easy": "よやくして ください。", "en": "Book first."}
    assert FaqEntry.objects.get(external_id="L2").question == "=1+1"


def test_csv_and_excel_exports_come_back_unchanged_and_never_as_formulas(db, tmp_path):
    from madoguchi.faq.services import faq_export_csv, faq_export_xlsx

    faq_import(FULL_SHEET.encode(), "faq.csv")
    before = list(FaqEntry.objects.order_by("external_id").values())
    exported = faq_export_csv()
    assert "'=1+1" in exported and "'-2" in exported  # Excel shows these as text
    book = openpyxl.load_workbook(io.BytesIO(faq_export_xlsx()))
    sheet = book.active
    assert [c.value for c in sheet[1]][:6] == [
        "id",
        "category",
        "question",
        "answer",
        "department",
        "variants",
    ]
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value)
    for content, name in ((exported.encode(), "faq.csv"), (faq_export_xlsx(), "faq.xlsx")):
        FaqEntry.objects.all().delete()
        assert faq_import(content, name).created == 2
        after = list(FaqEntry.objects.order_by("external_id").values())
        strip = ("id", "updated_at")
        assert [{k: v for k, v in e.items() if k not in strip} for e in after] == [
            {k: v for k, v in e.items() if k not in strip} for e in before
        ]
    call_command("faq", "export", "-o", str(tmp_path / "faq.xlsx"))
    assert openpyxl.load_workbook(tmp_path / "faq.xlsx").active["A2"].value == "L1"


def test_reimporting_the_plain_city_sheet_keeps_what_staff_added(midori):
    FaqEntry.objects.filter(external_id="F018").update(
        variants=["コンビニ 住民票"], answers_by_language={"ja-easy": "コンビニで とれます。"}
    )
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    entry = FaqEntry.objects.get(external_id="F018")
    assert entry.variants == ["コンビニ 住民票"] and entry.answers_by_language == {
        "ja-easy": "コンビニで とれます。"
    }


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("2026-13-40,,,", "valid_from の日付「2026-13-40」を読めません"),
        ("2027-01-01,2026-01-01,,", "掲載終了日が開始日より前です"),
        (",,javascript:alert(1),", "https:// で始まる URL"),
        (",,a https://x.jp|b https://x.jp|c https://x.jp|d https://x.jp|e https://x.jp,", "4 つまで"),
        (f",,,{'あ' * 5001}", "answer_en が長すぎます"),
    ],
    ids=["bad-date", "dates-reversed", "not-https", "five-links", "long-translation"],
)
def test_rows_with_bad_dates_links_or_translations_are_refused_by_row(db, cells, message):
    sheet = (
        f"id,category,question,answer,department,valid_from,valid_until,links,answer_en\nB1,c,q,a,d,{cells}\n"
    )
    report = faq_import(sheet.encode(), "faq.csv")
    assert report.created == 0 and message in report.errors[0] and report.errors[0].startswith("2 行目")


def test_excel_date_cells_are_read_as_dates(db):
    import datetime

    book = openpyxl.Workbook()
    book.active.append(["id", "category", "question", "answer", "department", "valid_until"])
    book.active.append(["X3", "税", "住民税はいつ?", "6月です。", "税務課", datetime.datetime(2027, 3, 31)])
    buffer = io.BytesIO()
    book.save(buffer)
    assert faq_import(buffer.getvalue(), "faq.xlsx").errors == []
    assert str(FaqEntry.objects.get(external_id="X3").valid_until) == "2027-03-31"
