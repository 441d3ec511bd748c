"""みどり市's defect-report set-up: categories (with the departments that handle them), districts,
an Open311 key for nobody, and a few sample reports with drawn photos. Idempotent."""

from __future__ import annotations

import io
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from madoguchi.accounts.models import Department
from madoguchi.reports.models import Area, Category, Report, Route
from madoguchi.reports.photos import photo_clean
from madoguchi.reports.services import photo_keep, report_change_status, report_publish, report_submit

# (code, name, English name, department code, department name, urgent phone, urgent text)
CATEGORIES = [
    ("road", "道路", "Roads", "doro", "道路維持課", "", ""),
    ("park", "公園", "Parks", "koen", "公園緑地課", "", ""),
    ("streetlight", "街灯", "Streetlights", "doro", "道路維持課", "", ""),
    ("river", "河川", "Rivers", "kasen", "河川課", "", ""),
    ("dumping", "不法投棄", "Illegal dumping", "gomi", "ごみ減量課", "", ""),
    ("other", "その他", "Other", None, None, "", ""),
    (
        "danger",
        "危険・緊急",
        "Danger now",
        None,
        None,
        "0120-000-119",
        "道路の陥没、倒木、川のあふれなど、いま危険なときはすぐにお電話ください (24時間)。",
    ),
]
AREAS = [
    ("kita", "北地区", 35.43, 139.20, 35.50, 139.50),
    ("chuo", "中央地区", 35.38, 139.20, 35.43, 139.50),
    ("minami", "南地区", 35.30, 139.20, 35.38, 139.50),
]
# (category, lat, lng, address, description, status, published outcome)
SAMPLES = [
    (
        "road",
        35.4037,
        139.3459,
        "みどり市中央1丁目1-1 市役所前",
        "歩道に直径30cmほどの穴があいています。",
        "received",
        "",
    ),
    (
        "road",
        35.40372,
        139.34592,
        "市役所前の歩道",
        "市役所前の歩道の穴、自転車が転びそうでした。",
        "received",
        "",
    ),
    (
        "streetlight",
        35.4102,
        139.3388,
        "中央公園の北側",
        "街灯が3日前から消えています。夜は真っ暗です。",
        "in_progress",
        "",
    ),
    (
        "park",
        35.3955,
        139.3521,
        "みなみ公園",
        "ブランコの鎖が切れています。",
        "done",
        "鎖を交換しました (11月20日)。",
    ),
    ("dumping", 35.4460, 139.3305, "北山林道の入口", "冷蔵庫とタイヤが捨てられています。", "in_progress", ""),
]


def _photo(seed: int) -> bytes:
    image = Image.new("RGB", (800, 600), (120 + seed * 20, 120, 110))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250 + seed * 10, 250, 550, 420), fill=(40, 35, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


@transaction.atomic
def demo_reports() -> None:
    categories = {}
    for order, (code, name, name_en, dept_code, dept_name, phone, urgent) in enumerate(CATEGORIES):
        department = None
        if dept_code:
            department, _ = Department.objects.get_or_create(code=dept_code, defaults={"name": dept_name})
        categories[code], _ = Category.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "department": department,
                "urgent_phone": phone,
                "urgent_text": urgent,
                "order": order,
            },
        )
    for code, name, south, west, north, east in AREAS:
        Area.objects.update_or_create(
            code=code, defaults={"name": name, "south": south, "west": west, "north": north, "east": east}
        )
    kita_roads, _ = Department.objects.get_or_create(code="doro-kita", defaults={"name": "北部道路事務所"})
    Route.objects.update_or_create(
        category=categories["road"], area=Area.objects.get(code="kita"), defaults={"department": kita_roads}
    )
    if Report.objects.filter(description=SAMPLES[0][4]).exists():
        return
    for seed, (code, lat, lng, address, text, status, outcome) in enumerate(SAMPLES):
        report = Report.objects.create(
            category=categories[code],
            latitude=lat,
            longitude=lng,
            address=address,
            description=text,
            place="map",
        )
        photo = photo_keep(report, photo_clean(_photo(seed)))
        report = report_submit(report)
        Report.objects.filter(pk=report.pk).update(
            submitted_at=timezone.now() - timedelta(days=len(SAMPLES) - seed)
        )
        if status in ("in_progress", "done"):
            report_change_status(report, actor=None, status="in_progress")
        if status == "done":
            report_change_status(report, actor=None, status="done", message=outcome)
            report_publish(report, actor=None, public=True, note=outcome, photo_ids=[photo.pk])
