"""What each cell of a rich menu does, as staff choose it, checked and turned into a menu spec.

A cell is `{"kind": ..., "label": ..., "value": ...}`:

- `feature`: a feature's postback action, e.g. `handoff` (talk to staff), `menu` (the FAQ menu),
  `profile.start` (registration), `reports.start` (a defect report), or `scenario.start:<slug>`.
  Only actions some app registered (`chatbot.registry`) are accepted.
- `message`: the resident sends this text (which the FAQ, keywords or a scenario answer).
- `uri`: opens a page: `https://…`, `tel:…`, or a path on Madoguchi such as `/liff/register/`
  (a `/liff/…` path opens as the channel's LIFF URL, so the page knows the resident).
- `tab`: switches to another page of the same audience's menu (its slug; LINE's alias).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.channels.base import (
    MessageAction,
    PostbackAction,
    RichMenuAction,
    RichMenuArea,
    RichMenuSpec,
    RichMenuSwitchAction,
    UriAction,
)
from madoguchi.chatbot.registry import has_postback_action, postback_data
from madoguchi.core.models import Channel
from madoguchi.richmenus.grids import GRIDS

TAB_ACTION = "richmenu.tab"
SCENARIO_START = "scenario.start"
KINDS: list[tuple[str, str | Promise]] = [
    ("feature", gettext_lazy("機能を開く")),
    ("message", gettext_lazy("言葉を送る")),
    ("uri", gettext_lazy("ページを開く")),
    ("tab", gettext_lazy("タブを切り替える")),
]
# Features a cell may open, when the app that provides them is installed.
FEATURES: list[tuple[str, str | Promise]] = [
    ("profile.start", gettext_lazy("登録・登録内容の変更")),
    ("handoff", gettext_lazy("職員と話す")),
    ("reports.start", gettext_lazy("道路・公園などの不具合を通報")),
    ("disaster.shelters", gettext_lazy("近くの避難所を探す (災害の種類、位置情報)")),
    ("menu", gettext_lazy("よくある質問 (メニュー)")),
    (SCENARIO_START, gettext_lazy("シナリオを始める (scenario.start:slug)")),
]
# Madoguchi's LIFF pages (madoguchi.liff): a cell's path there becomes the channel's LIFF URL.
LIFF_PATH = "/liff/"
SLUG = re.compile(r"^[a-z0-9-]{1,24}$")
SCENARIO_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
URI_SCHEMES = ("https://", "http://", "tel:", "line://")
MAX_LABEL = 20
MAX_TEXT = 300
MAX_URI = 1000


def features_available() -> list[tuple[str, str | Promise]]:
    return [(key, label) for key, label in FEATURES if has_postback_action(key)]


def cells_check(cells: Any, grid_code: str, *, tab_targets: set[str], is_disaster: bool) -> list[str]:
    """Every problem with these cells, in Japanese, numbered by cell; [] when they are fine.

    `tab_targets` are the slugs a tab of this menu may switch to (the same audience's pages).
    """
    grid = GRIDS.get(grid_code)
    if grid is None:
        return [_("テンプレートを選んでください。")]
    if not isinstance(cells, list) or len(cells) != len(grid.cells):
        return [_("区画の数がテンプレートと合いません (%(n)s 区画)。") % {"n": len(grid.cells)}]
    problems = []
    for number, cell in enumerate(cells, start=1):
        where = _("区画 %(n)s: ") % {"n": number}
        if not isinstance(cell, dict):
            problems.append(where + _("内容が読み取れません。"))
            continue
        kind, label, value = cell.get("kind"), cell.get("label"), cell.get("value")
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_LABEL:
            problems.append(where + _("名前を 1〜%(n)s 文字で書いてください。") % {"n": MAX_LABEL})
        if not isinstance(value, str) or not value.strip():
            problems.append(where + _("動作の内容を書いてください。"))
            continue
        value = value.strip()
        if kind == "feature":
            name, _sep, slug = value.partition(":")
            if not has_postback_action(name) or name not in dict(FEATURES) or name == TAB_ACTION:
                problems.append(where + _("「%(v)s」という機能はありません。") % {"v": value[:40]})
            elif name == SCENARIO_START and not SCENARIO_SLUG.match(slug):
                problems.append(where + _("scenario.start:シナリオの slug の形で書いてください。"))
        elif kind == "message":
            if len(value) > MAX_TEXT:
                problems.append(where + _("送る言葉は %(n)s 文字までです。") % {"n": MAX_TEXT})
        elif kind == "uri":
            if len(value) > MAX_URI or not (value.startswith(URI_SCHEMES) or value.startswith("/")):
                problems.append(
                    where
                    + _("https:// や tel: で始まるアドレス、または /liff/… のようなパスを書いてください。")
                )
            elif any(c.isspace() for c in value) or value.startswith("//"):
                problems.append(where + _("アドレスに空白などは使えません。"))
        elif kind == "tab":
            if is_disaster:
                problems.append(where + _("災害時のメニューにタブは使えません (1 画面で見せます)。"))
            elif value not in tab_targets:
                problems.append(
                    where + _("切り替え先「%(v)s」は同じ対象の別のページではありません。") % {"v": value[:40]}
                )
        else:
            problems.append(where + _("動作の種類を選んでください。"))
    return problems


def _uri(value: str, channel: Channel | None) -> str:
    # A LIFF page opens as LINE opens LIFF apps (signed in as the resident): by its LIFF URL.
    liff = (
        channel.liff_url(value.removeprefix(LIFF_PATH)) if channel and value.startswith(LIFF_PATH) else None
    )
    if liff is not None:
        return liff
    if value.startswith("/"):
        return settings.MADOGUCHI_PUBLIC_URL.rstrip("/") + value
    return value


def cell_action(cell: dict[str, str], channel: Channel | None = None) -> RichMenuAction:
    kind, label, value = cell["kind"], cell["label"].strip(), cell["value"].strip()
    if kind == "feature":
        name, _sep, slug = value.partition(":")
        data = postback_data(name, slug=slug) if slug else postback_data(name)
        return PostbackAction(label=label, data=data, display_text=label)
    if kind == "message":
        return MessageAction(label=label, text=value)
    if kind == "uri":
        return UriAction(label=label, uri=_uri(value, channel))
    return RichMenuSwitchAction(label=label, alias=value, data=postback_data(TAB_ACTION, to=value))


def menu_spec(
    *,
    name: str,
    grid_code: str,
    chat_bar_text: str,
    cells: list[dict[str, str]],
    channel: Channel | None = None,
) -> RichMenuSpec:
    grid = GRIDS[grid_code]
    return RichMenuSpec(
        name=name,
        width=grid.width,
        height=grid.height,
        chat_bar_text=chat_bar_text,
        areas=tuple(
            RichMenuArea(x=x, y=y, width=w, height=h, action=cell_action(cell, channel))
            for (x, y, w, h), cell in zip(grid.cells, cells, strict=True)
        ),
    )
