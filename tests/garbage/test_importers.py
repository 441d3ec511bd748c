"""Imports with the real open-data files, and with hostile ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from madoguchi.core.models import AuditEntry
from madoguchi.garbage.importers import MAX_FILE_BYTES, ImportRefused, parse_5374, parse_sorting
from madoguchi.garbage.models import Area, AreaRule, Category, Center, Item
from madoguchi.garbage.selectors import area_by_slug, area_collections
from madoguchi.garbage.services import import_5374, sorting_import

DATA = Path(__file__).resolve().parents[2] / "madoguchi" / "garbage" / "data"
KANAZAWA = DATA / "kanazawa"
TSU = DATA / "tsu"


def kanazawa_files() -> dict[str, bytes]:
    names = ("area_days.csv", "center.csv", "description.csv", "remarks.csv", "target.csv")
    return {name: (KANAZAWA / name).read_bytes() for name in names}


@pytest.mark.django_db
def test_the_real_kanazawa_5374_folder_imports_whole():
    report = import_5374(kanazawa_files())
    assert report.areas == 71 and report.errors == []
    assert report.created == Item.objects.filter(source="5374").count() >= 1200
    # The four collection categories keep description.csv's text and colour.
    burnable = Category.objects.get(name="燃やすごみ")
    assert burnable.color == "#ea3b13" and "半透明の袋" in burnable.description
    assert set(Category.objects.values_list("name", flat=True)) >= {
        "燃やすごみ",
        "燃やさないごみ",
        "資源",
        "あきびん",
        "有料粗大ごみ",
        "市で収集しない",
    }
    asano = Area.objects.get(name="浅野川")
    assert asano.center.name == "東部管理センター"
    assert asano.center.closed_from == date(2022, 12, 30) and asano.center.closed_until == date(2023, 1, 3)
    assert AreaRule.objects.get(area=asano, category__name="資源").rule == "火1 火3 火5"
    # The calendar of a real area over the real closure: Monday 2023-01-02 → 01-09.
    january = [(c.day, c.category) for c in area_collections(asano, date(2023, 1, 1), date(2023, 1, 10))]
    assert (date(2023, 1, 2), "燃やすごみ") not in january
    assert (date(2023, 1, 9), "燃やすごみ") in january and (date(2023, 1, 5), "燃やすごみ") in january
    spray = Item.objects.get(source="5374", name="スプレー缶(スプレー)")
    assert spray.category.name == "資源" and "穴をあける" in spray.notice and spray.reading
    assert AuditEntry.objects.filter(action="garbage.calendar.imported").exists()


@pytest.mark.django_db
def test_importing_5374_again_updates_instead_of_duplicating():
    import_5374(kanazawa_files())
    slug = Area.objects.get(name="浅野川").slug
    report = import_5374(kanazawa_files())
    assert report.created == 0 and report.updated >= 1200
    assert Area.objects.count() == 71 and Area.objects.get(name="浅野川").slug == slug
    assert area_by_slug(slug) is not None


@pytest.mark.django_db
def test_the_real_tsu_table_with_readings_imports():
    report = sorting_import((TSU / "tsu_gomi.ja.utf8.csv").read_bytes(), "tsu_gomi.ja.utf8.csv")
    assert report.created == 3984 and report.errors == []
    fridge = Item.objects.get(source="tsu", name="冷蔵庫・冷凍庫・冷凍冷蔵庫")
    assert fridge.reading.startswith("れいぞうこ") and fridge.category.name == "家電4品目"
    assert Category.objects.filter(name="燃やせるゴミ").exists()


@pytest.mark.django_db
def test_the_real_tsu_original_with_bom_and_multiline_cells_imports():
    parsed = parse_sorting((TSU / "original.csv").read_bytes(), "original.csv")
    assert len(parsed.items) + len(parsed.errors) == 3984
    assert len(parsed.items) >= 3900
    assert all("\ufeff" not in item.key for item in parsed.items[:3])
    assert any("\n" in item.notice for item in parsed.items)
    assert next(i for i in parsed.items if i.name == "アートパネル（金属製）").category == "金属"


@pytest.mark.django_db
def test_the_real_kanazawa_dictionary_tsv_imports_with_sub_categories_as_notes():
    report = sorting_import((KANAZAWA / "H27_gomi_jiten.tsv").read_bytes(), "H27_gomi_jiten.tsv")
    assert report.created >= 1200
    cup = Item.objects.get(source="jiten", name="アイスクリームのカップ容器", key__endswith="プラスチック製")
    assert cup.category.name == "資源" and "容プラ" in cup.notice


@pytest.mark.django_db
def test_replace_hides_items_missing_from_the_new_file():
    sorting_import(
        b"type,name,notice\n\xe7\x87\x83\xe3\x82\x84\xe3\x81\x99\xe3\x81\x94\xe3\x81\xbf,A,\n", "a.csv"
    )
    report = sorting_import("type,name,notice\n資源,B,\n".encode(), "b.csv", replace=True)
    assert report.deactivated == 1
    assert list(Item.objects.filter(is_active=True).values_list("name", flat=True)) == ["B"]


def test_shift_jis_is_read():
    parsed = parse_sorting("type,name,notice\n燃やすごみ,紙くず,\n".encode("cp932"), "sjis.csv")
    assert parsed.items[0].name == "紙くず" and parsed.items[0].category == "燃やすごみ"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("type,name,notice\n燃やすごみ,紙くず,\n".encode("utf-16"), "CSV"),  # UTF-16 has NUL bytes
        (b"type,name\n\x81\x7f\x85\x40" * 10, "文字コード"),
        (b"PK\x03\x04\x00\x00binary", "CSV"),
        (b"", "空"),
        ("品名,種類\nA,B\n".encode(), "見出し"),
        (b"a" * (MAX_FILE_BYTES + 1), "大きすぎ"),
        (b"type,name,notice\n=1+1,x,\n", "取り込める品目がありません"),
    ],
)
def test_hostile_sorting_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImportRefused) as error:
        parse_sorting(data, "x.csv")
    assert reason in str(error.value)


def test_bad_rows_are_reported_and_skipped_not_the_file():
    text = (
        "type,name,notice\n"
        "燃やすごみ,紙くず,\n"
        '燃やすごみ,"=HYPERLINK(""http://evil"")",\n'
        "資源,@SUM(A1),\n"
        ",名前だけ,\n"
        f"資源,{'長' * 300},\n"
        "燃やすごみ,紙くず,\n"
        "資源,+cmd,\n"
        "資源,缶,-2+3\n"
        "資源,<script>alert(1)</script>,\n"
    )
    parsed = parse_sorting(text.encode(), "x.csv")
    assert [i.name for i in parsed.items] == ["紙くず", "<script>alert(1)</script>"]
    assert len(parsed.errors) == 7
    assert parsed.errors[0].startswith("3 行目") and "数式" in parsed.errors[0]


def test_too_many_rows_are_refused():
    text = "type,name,notice\n" + "資源,x,\n" * 20_002
    with pytest.raises(ImportRefused, match="行が多すぎ"):
        parse_sorting(text.encode(), "x.csv")


def test_5374_folder_without_area_days_or_with_bad_cells():
    with pytest.raises(ImportRefused, match=r"area_days\.csv"):
        parse_5374({"center.csv": b"a,b,c\n"})
    with pytest.raises(ImportRefused, match="列"):
        parse_5374({"area_days.csv": "地区,センター\nA,B\n".encode()})
    with pytest.raises(ImportRefused, match="見出し"):
        parse_5374({"area_days.csv": "地区,センター,=cmd\nA,B,月\n".encode()})
    parsed = parse_5374(
        {
            "area_days.csv": (
                "地区,センター,燃やすごみ,資源\n"
                "北,東部,月 木,水2\n"
                "南,東部,月曜日,水2\n"
                "=evil,東部,月,水1\n"
                "北,東部,火,水3\n"
                "西,東部,*1,金4:4 6\n"
            ).encode("cp932"),
            "remarks.csv": "ID,注意事項\n1,火2 火4\n".encode(),
            "center.csv": (
                "名称,休止開始日,休止終了日\n"
                "東部,2024/12/31,2025/01/03\n"
                "西部,2024/13/01,2025/01/03\n"  # no 13th month
                "南部,2024/12/01,2025/03/01\n"  # three months
            ).encode(),
        }
    )
    assert [a.name for a in parsed.areas] == ["北", "西"]
    assert parsed.areas[1].rules == {"燃やすごみ": "火2 火4", "資源": "金4:4 6"}
    assert [c.name for c in parsed.centers] == ["東部"]
    assert len(parsed.errors) == 5
    assert any("月曜日" in e for e in parsed.errors)


@pytest.mark.django_db
def test_an_area_without_a_known_center_gets_one_without_closure():
    import_5374({"area_days.csv": "地区,センター,燃やすごみ\n北,新センター,月\n".encode()})
    assert Center.objects.get(name="新センター").closed_from is None
