"""An FAQ entry's picture: shown before the answer on the phone, public for LINE, kept (never
fetched) by a sheet's import."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import openpyxl
import pytest
from PIL import Image

from madoguchi.faq.images import ImageRefused, faq_image_clean
from madoguchi.faq.models import FaqEntry, FaqImage, Question
from madoguchi.faq.services import faq_export_csv, faq_export_xlsx, faq_image_set, faq_import
from tests.conftest import run_tasks
from tests.faq.images import gif, jpeg_with_gps, png, png_bomb

MIDORI = Path(__file__).parents[2] / "madoguchi" / "faq" / "data" / "midori-faq.csv"
USER = "U" + "7" * 32


def test_a_cleaned_jpeg_keeps_no_exif_and_gets_a_small_preview(db):
    clean = faq_image_clean(jpeg_with_gps((3000, 2000)))
    picture = Image.open(io.BytesIO(clean.data))
    assert picture.format == "JPEG" and clean.content_type == "image/jpeg"
    assert not picture.getexif() and not picture.getexif().get_ifd(0x8825)  # no maker, no GPS
    assert b"PhoneMaker" not in clean.data
    assert (clean.width, clean.height) == (2400, 1600) == picture.size  # long side 2400
    preview = Image.open(io.BytesIO(clean.preview))
    assert preview.format == "JPEG" and max(preview.size) == 480 and len(clean.preview) < 1_000_000


def test_a_png_stays_a_png_with_its_transparency(db):
    clean = faq_image_clean(png(transparent=True))
    picture = Image.open(io.BytesIO(clean.data))
    assert (picture.format, picture.mode, clean.content_type) == ("PNG", "RGBA", "image/png")
    assert Image.open(io.BytesIO(clean.preview)).mode == "RGB"  # on white, as JPEG


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空です"),
        (b"hello, this is not a picture\n" * 10, "画像として読み取れません"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "画像として読み取れません",
        ),
        (b"<!doctype html><html><script>alert(document.cookie)</script></html>", "画像として読み取れません"),
        (gif(), "選んだファイルは GIF です"),
        (png_bomb(), "画素数が多すぎます"),
        (png((2000, 2000))[:3000], "壊れているか、途中で切れています"),
        (b"\xff\xd8\xff" + b"\x00" * 10_000_000, "大きすぎます (10 MB まで)"),
    ],
    ids=["empty", "text", "svg", "html", "gif", "bomb", "truncated", "huge"],
)
def test_hostile_files_are_refused_in_japanese(data, message):
    with pytest.raises(ImageRefused, match=re.escape(message)):
        faq_image_clean(data)


def _with_picture(external_id: str = "F018") -> FaqImage:
    entry = FaqEntry.objects.get(external_id=external_id)
    return faq_image_set(entry=entry, image=faq_image_clean(jpeg_with_gps()))


def test_the_answer_on_the_phone_shows_the_picture_first_and_linesim_can_fetch_it(
    sim, channel, live_server, settings
):
    settings.MADOGUCHI_PUBLIC_URL = live_server.url  # https in production; LINE fetches from here
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    picture = _with_picture("F018")
    sim.text(USER, "住民票 コンビニで取れる？")
    run_tasks()
    image, answer = sim.messages(USER)
    assert image["type"] == "image"
    assert image["originalContentUrl"] == f"{live_server.url}/faq/images/{picture.key}.jpg"
    assert image["previewImageUrl"] == f"{live_server.url}/faq/images/{picture.key}/preview.jpg"
    assert "コンビニ" in answer["text"] and answer["text"].endswith("解決しましたか?")
    fetched = httpx.get(image["originalContentUrl"])  # what LINE (and the phone page) loads
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert fetched.content == bytes(picture.data) and not Image.open(io.BytesIO(fetched.content)).getexif()
    preview = httpx.get(image["previewImageUrl"])
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).format == "JPEG"
    # The learning loop still works under the picture.
    helped = next(i for i in answer["quickReply"]["items"] if i["action"]["label"] == "解決した")
    sim.send(USER, {"type": "postback", "postback": {"data": helped["action"]["data"]}})
    run_tasks()
    assert Question.objects.get().helpful is True


def test_with_links_the_answer_is_picture_text_buttons_question_in_every_language(sim, channel):
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    FaqEntry.objects.filter(external_id="F018").update(
        links=[{"label": "コンビニ交付", "url": "https://example.jp/konbini"}],
        answers_by_language={"en": "You can get it at a convenience store."},
    )
    _with_picture("F018")
    sim.send(USER, {"type": "postback", "postback": {"data": "a=language&code=en"}})
    run_tasks()
    before = len(sim.messages(USER))
    sim.text(USER, "住民票 コンビニ")
    run_tasks()
    answer = sim.messages(USER)[before:]
    assert [m["type"] for m in answer] == ["image", "text", "template", "text"]  # within LINE's 5
    assert answer[1]["text"].startswith("You can get it")  # the same picture for every language
    assert answer[2]["template"]["actions"][0]["uri"] == "https://example.jp/konbini"
    assert "quickReply" in answer[3]


def test_a_removed_picture_stops_being_served_and_sent(sim, channel, live_server, settings):
    from madoguchi.faq.services import faq_image_remove

    settings.MADOGUCHI_PUBLIC_URL = live_server.url
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    picture = _with_picture("F018")
    url = f"{live_server.url}/faq/images/{picture.key}.jpg"
    assert httpx.get(url).status_code == 200
    assert httpx.get(url.replace(".jpg", ".png")).status_code == 404  # its own type only
    assert faq_image_remove(entry=picture.entry) is True
    assert httpx.get(url).status_code == 404
    sim.text(USER, "住民票 コンビニで取れる？")
    run_tasks()
    assert [m["type"] for m in sim.messages(USER)] == ["text"]


def test_export_and_import_keep_the_picture_and_never_fetch_another(db, settings):
    settings.MADOGUCHI_PUBLIC_URL = "https://madoguchi.city.midori.example"
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    picture = _with_picture("F018")
    other = _with_picture("F005")
    url = f"https://madoguchi.city.midori.example/faq/images/{picture.key}.jpg"
    exported = faq_export_csv()
    assert exported.splitlines()[0].endswith(",image") and url in exported
    # Round trip: the export comes back and every picture stays (same key, same bytes).
    for content, name in ((exported.encode(), "faq.csv"), (faq_export_xlsx(), "faq.xlsx")):
        report = faq_import(content, name)
        assert (report.updated, report.errors) == (125, [])
        assert FaqImage.objects.get(entry__external_id="F018").key == picture.key
        assert FaqImage.objects.count() == 2
    # The city's plain sheet (no image column) leaves pictures as they are.
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    assert FaqImage.objects.count() == 2
    # A URL that is not this entry's picture is refused by row, and nothing is fetched.
    header = "id,category,question,answer,department,image\n"
    for foreign in (
        "https://evil.example/faq/images/x.png",
        "https://madoguchi.city.midori.example/faq/images/" + other.key + ".jpg",  # F005's, not F018's
        "file:///etc/passwd",
    ):
        sheet = header + f"F018,証明書,住民票,変えた回答,市民課,{foreign}\n"
        report = faq_import(sheet.encode(), "faq.csv")
        assert report.updated == 0 and report.errors[0].startswith("2 行目: image 列")
        assert "コンソールの編集画面で登録" in report.errors[0]
        assert FaqImage.objects.get(entry__external_id="F018").key == picture.key
        assert FaqEntry.objects.get(external_id="F018").answer != "変えた回答"
    # A new entry cannot bring a picture from a sheet either.
    report = faq_import((header + f"N1,c,q,a,d,{url}\n").encode(), "faq.csv")
    assert report.created == 0 and "image 列" in report.errors[0]
    # An empty cell in the image column takes the picture away.
    report = faq_import((header + "F018,証明書,住民票,変えた回答,市民課,\n").encode(), "faq.csv")
    assert report.errors == [] and not FaqImage.objects.filter(entry__external_id="F018").exists()
    assert FaqImage.objects.filter(key=other.key).exists()


def test_the_excel_export_has_the_image_column_as_text(db, settings):
    settings.MADOGUCHI_PUBLIC_URL = "https://madoguchi.city.midori.example"
    faq_import(MIDORI.read_bytes(), "midori-faq.csv")
    picture = _with_picture("F001")
    sheet = openpyxl.load_workbook(io.BytesIO(faq_export_xlsx())).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["id", "category", "question", "answer", "department"] and header[-1] == "image"
    assert sheet.cell(row=2, column=len(header)).value.endswith(f"/faq/images/{picture.key}.jpg")
