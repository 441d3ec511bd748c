"""LINE's rich-menu grid templates: the menu's size and where each cell (tap area) lies.

Large menus are 2500×1686, compact ones 2500×843 (LINE's two full-width sizes). Cells are
listed left to right, top to bottom, as the console numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

WIDTH = 2500
LARGE = 1686
COMPACT = 843
HALF = 843  # one row of a large menu


@dataclass(frozen=True)
class Grid:
    code: str
    label: str | Promise
    width: int
    height: int
    cells: tuple[tuple[int, int, int, int], ...]  # x, y, width, height

    @property
    def size_label(self) -> str:
        return f"{self.width}×{self.height}"


def _columns(count: int, y: int, height: int) -> tuple[tuple[int, int, int, int], ...]:
    """`count` columns across the full width; the middle one takes the odd pixel."""
    base = WIDTH // count
    widths = [base] * count
    widths[count // 2] += WIDTH - base * count
    cells, x = [], 0
    for width in widths:
        cells.append((x, y, width, height))
        x += width
    return tuple(cells)


GRIDS: dict[str, Grid] = {
    grid.code: grid
    for grid in (
        Grid("large6", _("大・6 分割 (3×2)"), WIDTH, LARGE, _columns(3, 0, HALF) + _columns(3, HALF, HALF)),
        Grid("large4", _("大・4 分割 (2×2)"), WIDTH, LARGE, _columns(2, 0, HALF) + _columns(2, HALF, HALF)),
        Grid(
            "large3",
            _("大・3 分割 (上 1 + 下 2)"),
            WIDTH,
            LARGE,
            _columns(1, 0, HALF) + _columns(2, HALF, HALF),
        ),
        Grid("large2", _("大・2 分割 (左右)"), WIDTH, LARGE, _columns(2, 0, LARGE)),
        Grid("large1", _("大・1 枚"), WIDTH, LARGE, _columns(1, 0, LARGE)),
        Grid("compact3", _("小・3 分割"), WIDTH, COMPACT, _columns(3, 0, COMPACT)),
        Grid("compact2", _("小・2 分割"), WIDTH, COMPACT, _columns(2, 0, COMPACT)),
        Grid("compact1", _("小・1 枚"), WIDTH, COMPACT, _columns(1, 0, COMPACT)),
    )
}

GRID_CHOICES = [(grid.code, grid.label) for grid in GRIDS.values()]
