"""The demo city's rich menus: 市民 (two tabs), 観光, 移住検討, the default for residents who have
not registered, and the disaster menu. Their images are PNGs in `data/` (written for this
project, CC0; `scripts/richmenu_images.py` drew them once with Noto Sans CJK JP), so a fresh
machine needs no fonts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from madoguchi.chatbot.registry import has_postback_action
from madoguchi.richmenus.models import Audience, RichMenu
from madoguchi.richmenus.services import menu_save, menus_publish

DATA = Path(__file__).parent / "data"


def _feature(label: str, action: str, fallback_text: str) -> dict[str, str]:
    """A feature's action when its app is installed, else the words that reach the same help."""
    if has_postback_action(action):
        return {"kind": "feature", "label": label, "value": action}
    return {"kind": "message", "label": label, "value": fallback_text}


def _cell(kind: str, label: str, value: str) -> dict[str, str]:
    return {"kind": kind, "label": label, "value": value}


def demo_menus() -> list[dict[str, Any]]:
    """Each menu: its fields, and per cell (label shown on the image, action)."""
    register = _cell("uri", "登録・変更", "/liff/register/")
    faq = _cell("feature", "よくある質問", "menu")
    staff = _cell("feature", "職員と話す", "handoff")
    return [
        {
            "slug": "resident-home",
            "title": "市民向け (くらし)",
            "audience": Audience.RESIDENT,
            "tab_order": 0,
            "grid": "large6",
            "chat_bar_text": "メニュー",
            "cells": [
                _cell("message", "ごみの出し方", "ごみ"),
                _cell("message", "子育て", "子育て"),
                faq,
                register,
                staff,
                _cell("tab", "手続き・通報 ▶", "resident-more"),
            ],
        },
        {
            "slug": "resident-more",
            "title": "市民向け (手続き・通報)",
            "audience": Audience.RESIDENT,
            "tab_order": 1,
            "grid": "large6",
            "chat_bar_text": "メニュー",
            "cells": [
                _cell("message", "住民票", "住民票 コンビニ"),
                _feature("道路・公園の不具合", "reports.start", "道路の穴を通報したい"),
                _cell("uri", "粗大ごみ", "/liff/bulky/"),  # the booking page (madoguchi.bulky)
                _cell("message", "台風・防災", "台風"),
                _cell("uri", "市のホームページ", "https://www.city.midori.example.jp/"),
                _cell("tab", "◀ くらし", "resident-home"),
            ],
        },
        {
            "slug": "tourist",
            "title": "観光で訪れる方",
            "audience": Audience.TOURIST,
            "tab_order": 0,
            "grid": "large4",
            "chat_bar_text": "観光メニュー",
            "cells": [
                _cell("message", "観光案内", "観光案内所"),
                _cell("message", "ごみの捨て方", "ごみ"),
                faq,
                staff,
            ],
        },
        {
            "slug": "prospective",
            "title": "移住を検討中の方",
            "audience": Audience.PROSPECTIVE,
            "tab_order": 0,
            "grid": "large4",
            "chat_bar_text": "移住メニュー",
            "cells": [
                _cell("message", "移住の支援", "移住"),
                _cell("message", "子育て", "子育て"),
                register,
                staff,
            ],
        },
        {
            "slug": "welcome",
            "title": "未登録の方 (既定)",
            "audience": Audience.DEFAULT,
            "tab_order": 0,
            "grid": "compact3",
            "chat_bar_text": "メニュー",
            "cells": [register, faq, staff],
        },
        {
            "slug": "disaster",
            "title": "災害時",
            "audience": Audience.DEFAULT,
            "is_disaster": True,
            "tab_order": 0,
            "grid": "large4",
            "chat_bar_text": "災害情報",
            "cells": [
                # The nearest open shelters for the hazard at hand, from a location or a district.
                _feature("避難所を探す", "disaster.shelters", "避難所"),
                _cell("message", "台風の支援", "台風"),
                _cell("feature", "職員に連絡", "handoff"),
                faq,
            ],
        },
    ]


def demo_richmenus_setup() -> None:
    """Create the demo menus that are missing and put them on LINE (the worker does the sync).

    Tabs point at each other, and a tab may only point at a page that exists: pages are created
    first with their tab cells as plain words, then given their tabs (their second revision).
    """
    missing = [spec for spec in demo_menus() if not RichMenu.objects.filter(slug=spec["slug"]).exists()]
    for spec in missing:
        untabbed = [
            c if c["kind"] != "tab" else _cell("message", c["label"], "メニュー") for c in spec["cells"]
        ]
        menu_save(
            None,
            image=(DATA / f"richmenu-{spec['slug']}.png").read_bytes(),
            **{**spec, "is_disaster": spec.get("is_disaster", False), "cells": untabbed},
        )
    for spec in missing:
        if any(c["kind"] == "tab" for c in spec["cells"]):
            menu_save(
                RichMenu.objects.get(slug=spec["slug"]),
                **{**spec, "is_disaster": spec.get("is_disaster", False)},
            )
    if missing:
        menus_publish(actor=None)
