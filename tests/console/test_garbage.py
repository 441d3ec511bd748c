"""The garbage department's console pages: items, categories' holiday policy, areas' rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse

from madoguchi.core.models import AuditEntry
from madoguchi.garbage.models import AreaRule, Category, Center, Item
from madoguchi.garbage.selectors import area_collections


def test_staff_search_and_edit_an_item(staff_client, garbage_objects: dict[str, Any]):
    client = staff_client("dept_staff")
    Item.objects.create(name="スプレー缶", reading="すぷれかん", category=garbage_objects["GC"], key="k2")
    page = client.get(reverse("console:garbage_items"), {"q": "すぷれ"}).content.decode()
    assert "スプレー缶" in page and "紙くず" not in page
    item = garbage_objects["GI"]
    response = client.post(
        reverse("console:garbage_item", args=[item.pk]),
        {
            "name": "紙くず(汚れたもの)",
            "reading": "かみくず",
            "category": item.category_id,
            "notice": "袋へ",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "紙くず(汚れたもの)" and item.reading == "かみくず"
    assert AuditEntry.objects.filter(action="garbage.item.updated", object_id=str(item.pk)).exists()


def test_a_new_item_and_hostile_input(staff_client, garbage_objects: dict[str, Any]):
    client = staff_client("dept_manager")
    category = garbage_objects["GC"]
    ok = client.post(
        reverse("console:garbage_item_new"), {"name": "ガラス", "category": category.pk, "is_active": "on"}
    )
    assert ok.status_code == 302 and Item.objects.get(name="ガラス").source == "staff"
    for name in ("=HYPERLINK(1)", "x" * 201, ""):
        refused = client.post(reverse("console:garbage_item_new"), {"name": name, "category": category.pk})
        assert refused.status_code == 200 and 'role="alert"' in refused.content.decode()
    other = client.post(reverse("console:garbage_item_new"), {"name": "y", "category": 999999})
    assert other.status_code == 200 and not Item.objects.filter(name="y").exists()


def test_the_holiday_policy_is_a_setting_staff_change(staff_client, garbage_objects: dict[str, Any]):
    client = staff_client("dept_manager")
    category, area = garbage_objects["GC"], garbage_objects["GA"]
    monday = date(2024, 11, 4)  # 振替休日
    assert [c.day for c in area_collections(area, monday, monday)] == [monday]
    response = client.post(
        reverse("console:garbage_category", args=[category.pk]),
        {"description": "袋に入れて", "color": "#ea3b13", "sort_order": 1, "holiday_policy": "move"},
    )
    assert response.status_code == 302
    assert Category.objects.get(pk=category.pk).holiday_policy == "move"
    assert [c.day for c in area_collections(area, monday, date(2024, 11, 5))] == [date(2024, 11, 5)]
    assert AuditEntry.objects.filter(action="garbage.category.updated").exists()
    bad = client.post(
        reverse("console:garbage_category", args=[category.pk]),
        {"description": "", "color": "red;}", "sort_order": 1, "holiday_policy": "never"},
    )
    assert bad.status_code == 200 and Category.objects.get(pk=category.pk).holiday_policy == "move"


def test_area_rules_are_edited_in_5374_grammar_and_checked(staff_client, garbage_objects: dict[str, Any]):
    client = staff_client("dept_staff")
    category, area = garbage_objects["GC"], garbage_objects["GA"]
    url = reverse("console:garbage_area", args=[area.pk])
    assert client.post(url, {"category": category.pk, "rule": "火1 火3 火5"}).status_code == 302
    assert AreaRule.objects.get(area=area, category=category).rule == "火1 火3 火5"
    refused = client.post(url, {"category": category.pk, "rule": "毎週火曜"})
    assert refused.status_code == 400 and "読めません" in refused.content.decode()
    assert AreaRule.objects.get(area=area, category=category).rule == "火1 火3 火5"
    assert client.post(url, {"category": "abc", "rule": "月"}).status_code == 302
    assert AuditEntry.objects.filter(action="garbage.rule.updated").count() == 1


def test_the_month_view_shows_moved_collections(staff_client, garbage_objects: dict[str, Any]):
    area = garbage_objects["GA"]
    area.center = Center.objects.create(
        name="東部",
        closed_from=date(2022, 12, 30),
        closed_until=date(2023, 1, 3),
        closure_handling="week_shift",
    )
    area.save()
    AreaRule.objects.filter(area=area).update(rule="火1 火3")
    client = staff_client("dept_staff")
    page = client.get(reverse("console:garbage_area", args=[area.pk]), {"month": "2023-01"})
    body = page.content.decode()
    assert "2023年1月" in body and "1/3分" in body
    # A month that does not parse falls back to this month rather than failing.
    assert (
        client.get(reverse("console:garbage_area", args=[area.pk]), {"month": "99999-1"}).status_code == 200
    )


def test_staff_set_the_coming_new_year_closure(staff_client, garbage_objects: dict[str, Any]):
    client = staff_client("dept_manager")
    center, area = garbage_objects["GK"], garbage_objects["GA"]
    url = reverse("console:garbage_center", args=[center.pk])
    saved = client.post(
        url, {"closed_from": "2024-12-29", "closed_until": "2025-01-03", "closure_handling": "week_shift"}
    )
    assert saved.status_code == 302
    # 月 木: Monday 12/30 and Thursday 1/2 move a week, to 1/6 and 1/9 (regular days anyway).
    area = type(area).objects.select_related("center").get(pk=area.pk)
    days = [c.day for c in area_collections(area, date(2024, 12, 26), date(2025, 1, 9))]
    assert days == [date(2024, 12, 26), date(2025, 1, 6), date(2025, 1, 9)]
    assert AuditEntry.objects.filter(action="garbage.center.updated").exists()
    for bad in (
        {"closed_from": "2025-01-03", "closed_until": "2024-12-29", "closure_handling": "skip"},
        {"closed_from": "2024-12-01", "closed_until": "2025-03-01", "closure_handling": "skip"},
        {"closed_from": "2024-12-29", "closed_until": "", "closure_handling": "skip"},
        {"closed_from": "not a date", "closed_until": "2025-01-03", "closure_handling": "skip"},
    ):
        refused = client.post(url, bad)
        assert refused.status_code == 200 and 'role="alert"' in refused.content.decode(), bad
    center.refresh_from_db()
    assert center.closed_from == date(2024, 12, 29) and center.closure_handling == "week_shift"


def test_staff_choose_the_districts_an_area_serves(staff_client, garbage_objects: dict[str, Any]):
    from madoguchi.garbage.models import Area, DistrictArea
    from madoguchi.residents.models import District

    client = staff_client("dept_staff")
    area = garbage_objects["GA"]
    other = Area.objects.create(name="南", slug="south")
    kita = District.objects.create(code="kita", name="北地区")
    minami = District.objects.create(code="minami", name="南地区")
    DistrictArea.objects.create(district=minami, area=other)
    url = reverse("console:garbage_area", args=[area.pk])
    assert "いまは 南" in client.get(url).content.decode()
    response = client.post(url, {"action": "districts", "district": [kita.pk, minami.pk, "x", "999999"]})
    assert response.status_code == 302
    assert set(DistrictArea.objects.filter(area=area).values_list("district__code", flat=True)) == {
        "kita",
        "minami",
    }
    assert not DistrictArea.objects.filter(area=other).exists()
    client.post(url, {"action": "districts", "district": [kita.pk]})
    assert list(DistrictArea.objects.values_list("district__code", flat=True)) == ["kita"]
    assert AuditEntry.objects.filter(action="garbage.area.districts_set").count() == 2


def test_staff_import_a_sorting_table_and_see_refused_rows(staff_client, garbage_objects: dict[str, Any]):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = staff_client("dept_staff")
    table = "type,name,notice\n資源,空き缶,洗う\n資源,=cmd|' /C calc'!A0,\n".encode("cp932")
    response = client.post(
        reverse("console:garbage_import_sorting"),
        {"file": SimpleUploadedFile("table.csv", table)},
        follow=True,
    )
    body = response.content.decode()
    assert "新規 1 件" in body and "3 行目" in body and "数式" in body
    assert Item.objects.filter(name="空き缶", source="5374").exists()
    refused = client.post(
        reverse("console:garbage_import_sorting"),
        {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04\x00binary")},
        follow=True,
    )
    assert "CSV" in refused.content.decode()
    empty = client.post(reverse("console:garbage_import_sorting"), {}, follow=True)
    assert "ファイルを選んでください" in empty.content.decode()
    assert AuditEntry.objects.filter(action="garbage.items.imported").count() == 1


def test_staff_import_the_real_5374_files(staff_client, garbage_objects: dict[str, Any]):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from madoguchi.garbage.models import Area
    from tests.garbage.test_importers import KANAZAWA

    client = staff_client("dept_manager")
    files = [
        SimpleUploadedFile(name, (KANAZAWA / name).read_bytes())
        for name in ("area_days.csv", "center.csv", "description.csv")
    ]
    response = client.post(reverse("console:garbage_import_5374"), {"files": files}, follow=True)
    assert "収集地区 71" in response.content.decode()
    assert Area.objects.filter(name="浅野川", center__name="東部管理センター").exists()
    wrong = client.post(
        reverse("console:garbage_import_5374"),
        {"files": [SimpleUploadedFile("../../etc/passwd", b"x")]},
        follow=True,
    )
    assert "5374 のファイルではありません" in wrong.content.decode()
    missing = client.post(
        reverse("console:garbage_import_5374"),
        {"files": [SimpleUploadedFile("center.csv", b"a,b,c\n")]},
        follow=True,
    )
    assert "area_days.csv がありません" in missing.content.decode()


def test_uploads_over_the_limit_are_refused_through_the_console(
    staff_client, garbage_objects: dict[str, Any]
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from madoguchi.garbage.importers import MAX_FILE_BYTES
    from madoguchi.garbage.models import Area

    client = staff_client("dept_manager")
    header = "type,name,notice\n資源,空き缶,洗う\n".encode()
    too_big = header + b"#" * (MAX_FILE_BYTES + 1 - len(header))
    items_before, areas_before = Item.objects.count(), Area.objects.count()
    refused = client.post(
        reverse("console:garbage_import_sorting"),
        {"file": SimpleUploadedFile("table.csv", too_big)},
        follow=True,
    )
    assert "ファイルが大きすぎます(上限 5,000,000 バイト)。" in refused.content.decode()
    big_calendar = b"area,center\n" + b"#" * MAX_FILE_BYTES
    refused = client.post(
        reverse("console:garbage_import_5374"),
        {"files": [SimpleUploadedFile("area_days.csv", big_calendar)]},
        follow=True,
    )
    assert "ファイルが大きすぎます(上限 5,000,000 バイト)。" in refused.content.decode()
    assert (Item.objects.count(), Area.objects.count()) == (items_before, areas_before)
    assert not AuditEntry.objects.filter(
        action__in=["garbage.items.imported", "garbage.calendar.imported"]
    ).exists()
