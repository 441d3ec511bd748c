"""Rich menus in the console: the editor refuses hostile uploads, the disaster switch asks for
confirmation, is audited and puts a banner across every page."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from madoguchi.core.models import AuditEntry
from madoguchi.richmenus.models import DisasterMode, RichMenu
from tests.console.conftest import signed_in


def _png(width=2500, height=843):
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def _form(**extra):
    data = {
        "slug": "kanko",
        "title": "観光",
        "audience": "tourist",
        "tab_order": "0",
        "grid": "compact3",
        "chat_bar_text": "観光メニュー",
    }
    for n, (kind, label, value) in enumerate(
        [
            ("message", "観光案内", "観光"),
            ("feature", "職員と話す", "handoff"),
            ("uri", "登録", "/liff/register/"),
        ]
    ):
        data |= {f"cell-{n}-kind": kind, f"cell-{n}-label": label, f"cell-{n}-value": value}
    return data | extra


def test_the_editor_saves_a_menu_and_refuses_a_hostile_image(make_staff):
    client = signed_in(make_staff("delivery", None))
    page = client.get(reverse("console:richmenu_new"))
    assert page.status_code == 200 and "大・6 分割 (3×2)" in page.content.decode()
    fake = SimpleUploadedFile("menu.png", b"<?php echo 1; ?>", content_type="image/png")
    refused = client.post(reverse("console:richmenu_new"), _form(image=fake))
    assert refused.status_code == 400
    assert "画像として読み取れません" in refused.content.decode()
    assert not RichMenu.objects.exists()
    good = SimpleUploadedFile("menu.png", _png(), content_type="image/png")
    saved = client.post(reverse("console:richmenu_new"), _form(image=good))
    menu = RichMenu.objects.get()
    assert saved.status_code == 302 and menu.cells[2] == {
        "kind": "uri",
        "label": "登録",
        "value": "/liff/register/",
    }
    image = client.get(reverse("console:richmenu_image", kwargs={"menu_id": menu.pk}))
    assert image["Content-Type"] == "image/png" and image.content == _png()
    assert AuditEntry.objects.filter(action="richmenus.menu.created").count() == 1


def test_the_disaster_switch_needs_confirmation_is_audited_and_shows_a_banner(make_staff, rich_menu):
    spec_cells = [{"kind": "feature", "label": "職員", "value": "handoff"}]
    RichMenu.objects.create(
        slug="disaster",
        title="災害時",
        audience="default",
        is_disaster=True,
        grid="large1",
        image=_png(2500, 1686),
        image_type="image/png",
        cells=spec_cells,
    )
    client = signed_in(make_staff("delivery", None))
    url = reverse("console:disaster_switch")
    assert "全員のメニューを災害時のメニューに切り替える" in client.get(url).content.decode()
    unconfirmed = client.post(url, {"switch": "on"})
    assert unconfirmed.status_code == 400 and "確認のチェック" in unconfirmed.content.decode()
    assert not DisasterMode.objects.filter(is_on=True).exists()
    done = client.post(url, {"switch": "on", "confirm": "yes", "reason": "台風 10 号"})
    assert done.status_code == 302
    other = signed_in(make_staff("dept_staff"))
    banner = other.get(reverse("console:dashboard")).content.decode()
    assert 'data-testid="disaster-banner"' in banner and "災害モード中" in banner
    entry = AuditEntry.objects.get(action="richmenus.disaster_mode.on")
    assert entry.data["reason"] == "台風 10 号"
    # A second press from a stale page does not switch it off by mistake.
    again = client.post(url, {"switch": "on", "confirm": "yes"})
    assert again.status_code == 400 and "状態がすでに変わっています" in again.content.decode()
    client.post(url, {"switch": "off", "confirm": "yes"})
    assert 'data-testid="disaster-banner"' not in other.get(reverse("console:dashboard")).content.decode()


def test_the_switch_refuses_a_post_without_csrf(make_staff, rich_menu):
    from django.test import Client

    profile = make_staff("admin", None)
    client = signed_in(profile)
    strict = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    strict.cookies = client.cookies
    response = strict.post(reverse("console:disaster_switch"), {"switch": "on", "confirm": "yes"})
    assert response.status_code == 403
    assert not DisasterMode.objects.filter(is_on=True).exists()
