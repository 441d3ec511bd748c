"""Shelter imports with the real files (七尾市: standard dataset; 尼崎市: GSI) and hostile CSVs."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.core.models import AuditEntry
from madoguchi.disaster.importers import MAX_FILE_BYTES, ImportRefused, capacity_of, parse
from madoguchi.disaster.models import Shelter
from madoguchi.disaster.services import shelter_import
from tests.disaster.conftest import AMAGASAKI, AMAGASAKI_EVACUATION, NANAO

GSI_HEADER = (
    "NO,共通ID,都道府県名及び市町村名,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,"
    "大規模な火事,内水氾濫,火山現象,指定避難所との住所同一,緯度,経度,備考"
)


def gsi(*rows: str) -> bytes:
    return ("\r\n".join([GSI_HEADER, *rows]) + "\r\n").encode()


GOOD_ROW = "1,E0001,兵庫県尼崎市,市民体育館,兵庫県尼崎市東七松町1,1,,1,1,1,,1,,,34.72,135.41,"


def test_the_standard_dataset_of_nanao_imports_every_site_with_its_flags(db):
    report = shelter_import(NANAO.read_bytes(), NANAO.name)
    assert (report.created, report.updated, report.errors) == (112, 0, [])
    assert Shelter.objects.filter(source="standard").count() == 112
    assert Shelter.objects.filter(earthquake=True).count() == 93
    assert Shelter.objects.filter(volcano=True).count() == 0
    hall = Shelter.objects.get(name="御祓地区コミュニティセンター")
    assert hall.key == "CC0000000504" and hall.kind == "emergency"
    assert hall.hazards == ["flood", "landslide", "storm_surge", "earthquake", "tsunami", "inland_flood"]
    assert hall.address == "石川県七尾市一本杉町124"  # full-width digits folded
    assert (hall.latitude, hall.longitude) == (37.04826, 136.96136)
    assert hall.capacity == 191 and hall.capacity_text.startswith("屋内191人")
    assert hall.community == "御祓地区(25町会)"
    assert hall.status == "closed"
    school = Shelter.objects.get(name="七尾中学校")
    assert school.capacity == 1371 + 5470
    assert AuditEntry.objects.filter(action="disaster.shelters.imported").count() == 1


def test_gsi_files_of_amagasaki_import_both_kinds_and_no_site_is_for_earthquakes(db):
    report = shelter_import(AMAGASAKI.read_bytes(), AMAGASAKI.name, fmt="gsi")
    assert (report.created, report.errors) == (112, [])
    assert Shelter.objects.filter(flood=True).count() == 81
    assert Shelter.objects.filter(fire=True).count() == 65
    assert not Shelter.objects.filter(earthquake=True).exists()  # as Amagasaki registered them
    oshima = Shelter.objects.get(key="E2820200001201")
    assert oshima.name == "大島小学校" and oshima.address == "兵庫県尼崎市稲葉荘2-10-7"
    assert oshima.hazards == ["flood", "storm_surge", "tsunami", "inland_flood"]
    report = shelter_import(AMAGASAKI_EVACUATION.read_bytes(), AMAGASAKI_EVACUATION.name)
    assert report.created == 85
    assert Shelter.objects.filter(kind="evacuation").count() == 85
    assert Shelter.objects.get(key="E2820200001111").hazards == []


def test_importing_again_updates_the_sites_and_keeps_the_status_staff_set(db):
    shelter_import(NANAO.read_bytes(), NANAO.name)
    Shelter.objects.filter(name="七尾中学校").update(status="open")
    report = shelter_import(NANAO.read_bytes(), NANAO.name)
    assert (report.created, report.updated) == (0, 112)
    assert Shelter.objects.get(name="七尾中学校").status == "open"


def test_shift_jis_as_gsi_publishes_it_is_read(db):
    shelter_import(gsi(GOOD_ROW).decode().encode("cp932"), "mergeFromCity_2.csv")
    assert Shelter.objects.get().name == "市民体育館"


def test_a_format_that_does_not_match_the_header_is_refused():
    with pytest.raises(ImportRefused, match="自治体標準オープンデータセット形式を指定しましたが"):
        parse(AMAGASAKI.read_bytes(), AMAGASAKI.name, "standard")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("避難所一覧".encode("utf-16"), "テキスト(CSV)ではない"),
        (b"\xff\xfe\xfa\xfb\x80\x81\xfd", "文字コードが UTF-8 でも Shift_JIS でもありません"),
        (b"", "空のファイル"),
        ("名前,場所\n体育館,どこか\n".encode(), "見出し行が分かりません"),
        ("共通ID,施設・場所名,住所,緯度\nE1,体育館,市内,34.7\n".encode(), "必要な列がありません: 経度、洪水"),
        (b"x" * (MAX_FILE_BYTES + 1), "ファイルが大きすぎます"),
        (
            (
                GSI_HEADER
                + "\n"
                + "\n".join(f"{i},E{i},市,館{i},所,1,,,,,,,,,34.7,135.4," for i in range(20_002))
            ).encode(),
            "行が多すぎます",
        ),
    ],
    ids=["utf16", "not-utf8-nor-sjis", "empty", "unknown-header", "missing-columns", "huge", "too-many-rows"],
)
def test_a_file_that_cannot_be_used_is_refused_with_a_japanese_reason(data, reason):
    with pytest.raises(ImportRefused, match=re.escape(reason)):
        parse(data, "upload.csv")


def test_bad_rows_are_refused_by_line_with_the_reason_and_the_rest_imported(db):
    data = gsi(
        GOOD_ROW,
        "2,E0002,市,緯度なし,住所,1,,,,,,,,,,135.41,",
        "3,E0003,市,北緯が文字,住所,1,,,,,,,,,北緯34度,135.41,",
        "4,E0004,市,入れ違い,住所,1,,,,,,,,,135.41,34.72,",
        "5,E0005,市,海外,住所,1,,,,,,,,,51.5,-0.12,",
        '6,E0006,市,"=HYPERLINK(""http://evil.example"",""押して"")",住所,1,,,,,,,,,34.72,135.41,',
        "7,E0007,市,@SUM(A1),住所,1,,,,,,,,,34.72,135.41,",
        "8,E0001,市,重複,住所,1,,,,,,,,,34.72,135.41,",
        "9,,市,ID なし,住所,1,,,,,,,,,34.72,135.41,",
        "10,E0010,市,非数,住所,1,,,,,,,,,nan,inf,",
    )
    report = shelter_import(data, "mixed.csv")
    assert report.created == 1 and Shelter.objects.get().key == "E0001"
    assert report.errors == [
        "3 行目: 緯度・経度が数値ではありません(「」「135.41」)",
        "4 行目: 緯度・経度が数値ではありません(「北緯34度」「135.41」)",
        "5 行目: 緯度・経度が日本の範囲外です(135.41, 34.72)。列の入れ違いや誤記がないか確かめてください",
        "6 行目: 緯度・経度が日本の範囲外です(51.5, -0.12)。列の入れ違いや誤記がないか確かめてください",
        '7 行目: 数式のようなセルがあります(「=HYPERLINK("http://e」)',
        "8 行目: 数式のようなセルがあります(「@SUM(A1)」)",
        "9 行目: 共通ID「E0001」が重複しています",
        "10 行目: 共通ID が空です",
        "11 行目: 緯度・経度が数値ではありません(「nan」「inf」)",
    ]


def test_a_file_of_only_bad_rows_is_refused_as_a_whole(db):
    with pytest.raises(ImportRefused, match="取り込める行がありません"):
        shelter_import(gsi("1,E1,市,館,所,1,,,,,,,,,x,y,"), "bad.csv")
    assert not Shelter.objects.exists()


def test_the_command_imports_and_refuses_in_japanese(db, tmp_path, capsys):
    call_command("shelters", "import", str(NANAO), "--format", "standard")
    assert "created 112" in capsys.readouterr().out
    broken = tmp_path / "broken.csv"
    broken.write_bytes("名前\n体育館\n".encode())
    with pytest.raises(CommandError, match="見出し行が分かりません"):
        call_command("shelters", "import", str(broken))
    with pytest.raises(CommandError, match="国土地理院形式を指定しましたが"):
        call_command("shelters", "import", str(NANAO), "--format", "gsi")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("屋内191人／屋外0人(面積の1/2)", 191),
        ("屋内２,７３６人屋外11,700人（面積の1/2）", 14436),
        ("500", 500),
        ("", None),
        ("未定", None),
    ],
)
def test_capacity_is_the_head_counts_written(text, count):
    assert capacity_of(text) == count
