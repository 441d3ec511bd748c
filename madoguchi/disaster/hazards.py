"""The eight hazards Japan's shelter data flags a site for (災害対策基本法 施行令 第20条の4), with
the column names both open-data layouts use for them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Hazard:
    code: str  # also the Shelter field holding its flag
    label: Promise
    gsi_column: str  # 国土地理院 CSV
    standard_column: str  # 自治体標準オープンデータセット「指定緊急避難場所一覧」


HAZARDS: tuple[Hazard, ...] = (
    Hazard("flood", _("洪水"), "洪水", "災害種別_洪水"),
    Hazard(
        "landslide",
        _("崖崩れ・土石流・地滑り"),
        "崖崩れ、土石流及び地滑り",
        "災害種別_崖崩れ、土石流及び地滑り",
    ),
    Hazard("storm_surge", _("高潮"), "高潮", "災害種別_高潮"),
    Hazard("earthquake", _("地震"), "地震", "災害種別_地震"),
    Hazard("tsunami", _("津波"), "津波", "災害種別_津波"),
    Hazard("fire", _("大規模な火事"), "大規模な火事", "災害種別_大規模な火事"),
    Hazard("inland_flood", _("内水氾濫"), "内水氾濫", "災害種別_内水氾濫"),
    Hazard("volcano", _("火山"), "火山現象", "災害種別_火山現象"),
)
BY_CODE = {hazard.code: hazard for hazard in HAZARDS}


def hazard_named(code: str) -> Hazard | None:
    return BY_CODE.get(code)
