"""A resident reports a defect from LINE (linesim over HTTP, events processed by the real
worker): category, photos, place, words, confirm, a receipt number; and hostile input on the way."""

from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image

from madoguchi.chatbot.models import FlowState
from madoguchi.reports.models import Photo, Report
from madoguchi.reports.services import photo_add
from tests.conftest import run_tasks
from tests.reports.conftest import HERE, OSAKA, USER, jpeg, last_text, send_location, send_photo, tap


@pytest.fixture
def resident_in_flow(sim, channel, categories):
    sim.send(USER, {"type": "follow"})
    sim.text(USER, "不具合")
    run_tasks()
    assert "どの種類ですか" in last_text(sim, USER)
    tap(sim, USER, "道路")
    run_tasks()
    assert "写真を送ってください" in last_text(sim, USER)
    return USER


def test_a_resident_reports_a_pothole_and_gets_a_receipt_number(sim, resident_in_flow):
    send_photo(sim, USER, jpeg())
    run_tasks()
    assert "(1/3 枚)" in last_text(sim, USER)
    send_photo(sim, USER, jpeg((800, 600), (10, 120, 10)))
    run_tasks()
    tap(sim, USER, "次へ")
    run_tasks()
    assert "場所を教えてください" in last_text(sim, USER)
    send_location(sim, USER, *HERE)
    run_tasks()
    assert "どんな状態か" in last_text(sim, USER)
    sim.text(USER, "歩道に直径30cmほどの穴があいています")
    run_tasks()
    summary = last_text(sim, USER)
    assert "種類: 道路" in summary and "写真: 2 枚" in summary and "みどり市中央1丁目1-1" in summary
    tap(sim, USER, "送信する")
    run_tasks()

    report = Report.objects.get()
    assert report.status == Report.Status.RECEIVED
    assert report.number and report.number in last_text(sim, USER)
    assert report.department.name == "道路維持課"  # 北地区 has its own office; this point is not in it
    assert (report.latitude, report.longitude) == HERE
    assert report.description == "歩道に直径30cmほどの穴があいています"
    assert report.photos.count() == 2
    assert not FlowState.objects.exists()
    # Their own reports, from the menu word.
    sim.text(USER, "通報履歴")
    run_tasks()
    assert report.number in last_text(sim, USER) and "受付" in last_text(sim, USER)


def test_a_category_that_needs_a_call_shows_the_phone_number(sim, channel, categories):
    sim.text(USER, "通報")
    run_tasks()
    tap(sim, USER, "危険・緊急")
    run_tasks()
    assert "0120-000-110" in last_text(sim, USER)
    assert not Report.objects.exists() and not FlowState.objects.exists()


def test_a_text_file_named_jpg_is_refused_and_nothing_is_lost(sim, resident_in_flow):
    send_photo(sim, USER, jpeg())
    run_tasks()
    send_photo(sim, USER, b"#!/bin/sh\necho this is not a picture\n")
    run_tasks()
    assert "写真として読み取れませんでした" in last_text(sim, USER, 2)
    report = Report.objects.get()
    assert report.photos.count() == 1
    assert FlowState.objects.get().step == "photo"


def test_a_photo_larger_than_the_limit_is_refused(sim, resident_in_flow, settings):
    # A lowered limit keeps this quick (test_photos.py sends a 30 MB file at the real limit).
    settings.LINE_CONTENT_MAX_BYTES = 1_000_000
    noise = Image.frombytes("RGB", (1200, 1200), random.Random(7).randbytes(1200 * 1200 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 1_000_000
    send_photo(sim, USER, out.getvalue())
    run_tasks()
    assert "写真を受け取れませんでした" in last_text(sim, USER, 2)
    assert not Photo.objects.exists()


def test_the_photo_keeps_no_exif_and_its_position_becomes_the_place(sim, resident_in_flow):
    send_photo(sim, USER, jpeg(gps=True))
    run_tasks()
    photo = Photo.objects.get()
    cleaned = Image.open(io.BytesIO(base64.b64decode(photo.data)))
    assert not cleaned.getexif()
    assert photo.content_type == "image/jpeg"
    report = Report.objects.get()
    assert report.place == Report.Place.PHOTO
    assert report.latitude == pytest.approx(35.4037, abs=1e-4) and report.longitude == pytest.approx(
        139.3459, abs=1e-4
    )
    tap(sim, USER, "次へ")
    run_tasks()
    tap(sim, USER, "写真の撮影場所でよい")
    run_tasks()
    assert "どんな状態か" in last_text(sim, USER)


def test_a_photo_taken_outside_the_city_gives_no_place(sim, resident_in_flow):
    send_photo(sim, USER, jpeg(gps=OSAKA))
    run_tasks()
    assert "(1/3 枚)" in last_text(sim, USER)
    photo = Photo.objects.get()
    assert not Image.open(io.BytesIO(base64.b64decode(photo.data))).getexif()
    report = Report.objects.get()
    assert report.latitude is None and report.place != Report.Place.PHOTO
    tap(sim, USER, "次へ")
    run_tasks()
    # Asked for the place as usual, without offering the photo's position.
    prompt = sim.messages(USER)[-1]
    assert "場所を教えてください" in prompt["text"] and "撮影場所" not in prompt["text"]
    labels = [item["action"]["label"] for item in prompt["quickReply"]["items"]]
    assert "位置情報を送る" in labels and "写真の撮影場所でよい" not in labels
    send_location(sim, USER, *HERE)
    run_tasks()
    assert "どんな状態か" in last_text(sim, USER)
    assert (Report.objects.get().latitude, Report.objects.get().place) == (HERE[0], Report.Place.MAP)


def test_a_report_in_an_area_goes_to_the_areas_department(sim, resident_in_flow):
    north_point = (35.47, 139.35)  # in 北地区, which has its own road office
    tap(sim, USER, "写真なしで進む")
    run_tasks()
    send_location(sim, USER, *north_point, address="みどり市北町3丁目")
    run_tasks()
    sim.text(USER, "ガードレールが曲がっています")
    run_tasks()
    tap(sim, USER, "送信する")
    run_tasks()
    report = Report.objects.get()
    assert report.status == Report.Status.RECEIVED
    assert report.area.name == "北地区" and report.department.name == "北部道路事務所"
    assert report.category.department.name == "道路維持課"  # the category alone would go there


def test_a_place_outside_the_city_is_refused(sim, resident_in_flow):
    tap(sim, USER, "写真なしで進む")
    run_tasks()
    send_location(sim, USER, *OSAKA, address="大阪市北区")
    run_tasks()
    assert "みどり市の外の場所のようです" in last_text(sim, USER, 2)
    assert FlowState.objects.get().step == "location"
    assert Report.objects.get().latitude is None
    # A typed landmark is accepted instead.
    sim.text(USER, "中央公園の南口トイレ前")
    run_tasks()
    assert "どんな状態か" in last_text(sim, USER)
    report = Report.objects.get()
    assert report.address == "中央公園の南口トイレ前" and report.place == Report.Place.TYPED


def test_a_ten_thousand_character_description_is_asked_again_and_nothing_is_lost(sim, resident_in_flow):
    send_photo(sim, USER, jpeg())
    run_tasks()
    tap(sim, USER, "次へ")
    run_tasks()
    send_location(sim, USER, *HERE)
    run_tasks()
    sim.text(USER, "穴" * 10_000)
    run_tasks()
    assert "説明が長すぎます (10000 文字)" in last_text(sim, USER, 2)
    state = FlowState.objects.get()
    assert state.step == "description"
    report = Report.objects.get()
    assert report.description == "" and report.photos.count() == 1 and report.has_point
    sim.text(USER, "<script>alert('x')</script> 穴があります")
    run_tasks()
    tap(sim, USER, "送信する")
    run_tasks()
    assert Report.objects.get().description == "<script>alert('x')</script> 穴があります"


def test_a_stale_button_does_nothing(sim, resident_in_flow):
    old = Report.objects.get()
    sim.text(USER, "やめる")
    run_tasks()
    sim.send(USER, {"type": "postback", "postback": {"data": f"a=reports.confirm&r={old.pk}"}})
    run_tasks()
    assert "この通報の入力は終わっています" in last_text(sim, USER)
    assert Report.objects.get().status == Report.Status.DRAFT


def test_an_event_processed_again_keeps_its_photo_once(sim, resident_in_flow):
    send_photo(sim, USER, jpeg())
    run_tasks()
    photo = Photo.objects.get()
    fetched = sim.stats()["endpoints"]["GET /v2/bot/message/{messageId}/content"]
    assert photo_add(photo.report, line_message_id=photo.line_message_id) == photo
    assert Photo.objects.count() == 1
    assert sim.stats()["endpoints"]["GET /v2/bot/message/{messageId}/content"] == fetched


def test_a_resident_who_chose_english_is_asked_in_english(sim, channel, categories):
    sim.set_profile(USER, displayName="Alex", language="en")
    sim.send(USER, {"type": "follow"})
    sim.text(USER, "不具合")
    run_tasks()
    assert "What kind of problem is it?" in last_text(sim, USER)
    tap(sim, USER, "Roads")
    run_tasks()
    assert "Please send photos (up to 3)" in last_text(sim, USER)
    tap(sim, USER, "No photo")
    run_tasks()
    assert "Where is it?" in last_text(sim, USER)
