"""Credits the open data asks for, shown wherever the imported guide or calendar is shown."""

from __future__ import annotations

from madoguchi.garbage.models import Area, Item

# By import source (Item.Source); the calendar (areas) comes from 5374 files.
CREDITS = {
    "5374": "出典：金沢市オープンデータ（ごみ分別・収集日）、Code for Kanazawa 5374 を経由",
    "jiten": "出典：金沢市オープンデータ（ごみ分別辞典）",
    "tsu": (
        "このコンテンツは、以下の著作物を改変して利用しています。"
        "津市オープンデータライブラリ ごみ分別表、クリエイティブ・コモンズ・ライセンス 表示 2.1 日本"
    ),
}


def credit_for(item: Item) -> str:
    """The credit for one item's text, by where it was imported from ("" for staff's own)."""
    return CREDITS.get(item.source, "")


def credits_in_use() -> list[str]:
    sources = set(Item.objects.filter(is_active=True).values_list("source", flat=True).distinct())
    if Area.objects.exists():
        sources.add("5374")
    return [text for source, text in CREDITS.items() if source in sources]
