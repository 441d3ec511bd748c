"""Staff give an FAQ entry a picture in the editor, replace it and take it away; hostile files
are refused in Japanese and nothing is saved; only those who may edit the entry can."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from madoguchi.core.models import AuditEntry
from madoguchi.faq.models import FaqEntry, FaqImage
from tests.console.conftest import signed_in
from tests.faq.images import gif, jpeg_with_gps, png, png_bomb

FIELDS = {
    "external_id": "G001",
    "category": "ごみ",
    "question": "ごみの分け方を知りたい",
    "answer": "分別表のとおりに分けてください。",
    "department_label": "ごみ減量課",
    "is_active": "on",
}


def _upload(data: bytes, name: str = "bunbetsu.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def entry(departments) -> FaqEntry:
    return FaqEntry.objects.create(
        external_id="G001",
        question="ごみの分け方を知りたい",
        answer="分別表のとおりに分けてください。",
        department=departments["gomi"],
    )


def test_a_new_entry_with_a_camera_jpeg_keeps_the_picture_without_its_location(staff_client, db):
    client = staff_client("dept_staff")
    response = client.post(
        reverse("console:faq_new"),
        {**FIELDS, "image": _upload(jpeg_with_gps(), "map.jpg", "image/jpeg")},
    )
    assert response.status_code == 302
    picture = FaqImage.objects.get(entry__external_id="G001")
    stored = Image.open(io.BytesIO(bytes(picture.data)))
    assert stored.format == "JPEG" and not stored.getexif().get_ifd(0x8825) and not stored.getexif()
    assert AuditEntry.objects.filter(action="faq.entry.image_set", object_id=str(picture.entry_id)).exists()
    page = client.get(reverse("console:faq_edit", kwargs={"entry_id": picture.entry_id})).content.decode()
    # The picture is shown to staff, its alt text the question (the picture is the same in every language).
    assert f'src="/faq/images/{picture.key}.jpg" alt="ごみの分け方を知りたい"' in page
    assert "画像を外す" in page
    served = client.get(f"/faq/images/{picture.key}.jpg")
    assert served["Content-Type"] == "image/jpeg" and served["X-Content-Type-Options"] == "nosniff"


def test_a_new_upload_replaces_the_picture_under_a_new_url_and_removing_it_takes_it_away(staff_client, entry):
    client = staff_client("dept_staff")
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    client.post(url, {**FIELDS, "image": _upload(png())})
    first = FaqImage.objects.get(entry=entry)
    assert first.content_type == "image/png"
    client.post(url, {**FIELDS, "image": _upload(jpeg_with_gps(), "map.jpg", "image/jpeg")})
    second = FaqImage.objects.get(entry=entry)
    assert second.key != first.key and second.content_type == "image/jpeg"
    assert client.get(f"/faq/images/{first.key}.png").status_code == 404
    # Saving without a file keeps the picture.
    client.post(url, {**FIELDS, "answer": "変えました。"})
    assert FaqImage.objects.get(entry=entry).key == second.key
    response = client.post(url, {**FIELDS, "image_remove": "on"})
    assert response.status_code == 302 and not FaqImage.objects.filter(entry=entry).exists()
    assert AuditEntry.objects.filter(action="faq.entry.image_removed", object_id=str(entry.pk)).exists()
    assert client.get(f"/faq/images/{second.key}.jpg").status_code == 404
    assert "画像はありません" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"just some text\n" * 20, "bunbetsu.png", "画像として読み取れません"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "bunbetsu.png",
            "画像として読み取れません",
        ),
        (b"<html><body><script>alert(1)</script></body></html>", "bunbetsu.png", "画像として読み取れません"),
        (gif(), "bunbetsu.png", "選んだファイルは GIF です"),
        (png_bomb(), "bunbetsu.png", "画像の画素数が多すぎます"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10_000_000, "bunbetsu.png", "画像が大きすぎます (10 MB まで)"),
    ],
    ids=["text", "svg-as-png", "html-as-png", "gif-as-png", "decompression-bomb", "huge"],
)
def test_hostile_uploads_are_refused_in_japanese_and_nothing_is_saved(
    staff_client, entry, data, name, message
):
    client = staff_client("dept_staff")
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    response = client.post(url, {**FIELDS, "answer": "書き換え", "image": _upload(data, name)})
    assert response.status_code == 200
    assert message in response.content.decode()
    entry.refresh_from_db()
    assert entry.answer == "分別表のとおりに分けてください。"  # the whole form was refused
    assert not FaqImage.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="faq.entry").exists()
    new = client.post(
        reverse("console:faq_new"), {**FIELDS, "external_id": "G002", "image": _upload(data, name)}
    )
    assert message in new.content.decode() and not FaqEntry.objects.filter(external_id="G002").exists()


@pytest.mark.parametrize("role", ["delivery", "counselor", "operator", "auditor"])
def test_roles_without_the_faq_cannot_upload(make_staff, entry, role):
    client = signed_in(make_staff(role))
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    assert client.post(url, {**FIELDS, "image": _upload(png())}).status_code == 403
    assert not FaqImage.objects.exists()


def test_another_departments_staff_cannot_reach_the_entry_and_visitors_are_sent_to_sign_in(make_staff, entry):
    other = signed_in(make_staff("dept_staff", "doro"))
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    assert other.post(url, {**FIELDS, "image": _upload(png())}).status_code == 404
    anonymous = Client(HTTP_HOST="127.0.0.1")
    response = anonymous.post(url, {**FIELDS, "image": _upload(png())})
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    assert not FaqImage.objects.exists()


def test_an_upload_without_the_csrf_token_is_refused(make_staff, entry):
    client = signed_in(make_staff("dept_manager"))
    client.handler.enforce_csrf_checks = True
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    assert client.post(url, {**FIELDS, "image": _upload(png())}).status_code == 403
    assert not FaqImage.objects.exists()


def test_the_image_fields_are_translated_for_english_speaking_staff(staff_client, entry, settings):
    client = staff_client("dept_staff")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("console:faq_edit", kwargs={"entry_id": entry.pk})
    page = client.get(url).content.decode()
    assert "Image (JPEG or PNG, up to 10 MB)" in page and "No image." in page
    refused = client.post(url, {**FIELDS, "image": _upload(gif())}).content.decode()
    assert "Choose a JPEG or PNG image (the file chosen is GIF)." in refused
