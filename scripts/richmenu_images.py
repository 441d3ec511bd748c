"""Draw the demo city's rich-menu images (madoguchi/demo/data/richmenu-*.png) once.

Run by a developer when the demo menus change, on a machine with Noto Sans CJK JP
(`fc-list | grep -i "Noto Sans CJK JP"`); the PNGs are committed, so the demo itself needs no
fonts. The images are written for this project (CC0); the font only drew them (SIL OFL 1.1
allows that, and no font file is shipped).

    .venv/bin/python scripts/richmenu_images.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
django.setup()

from madoguchi.demo.richmenus import DATA, demo_menus  # noqa: E402
from madoguchi.richmenus.grids import GRIDS  # noqa: E402

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
# Noto Sans CJK's collection: face 0 is Japanese.
FONT_INDEX = 0
PALETTES = {
    "resident": ("#e8f4ea", "#2e7d32"),
    "tourist": ("#e3f2fd", "#1565c0"),
    "prospective": ("#fff3e0", "#e65100"),
    "default": ("#f3e5f5", "#6a1b9a"),
    "disaster": ("#ffebee", "#b71c1c"),
}


def draw(spec: dict) -> Image.Image:
    grid = GRIDS[spec["grid"]]
    background, accent = PALETTES["disaster" if spec.get("is_disaster") else spec["audience"]]
    image = Image.new("RGB", (grid.width, grid.height), background)
    pen = ImageDraw.Draw(image)
    for (x, y, w, h), cell in zip(grid.cells, spec["cells"], strict=True):
        pen.rectangle((x + 12, y + 12, x + w - 12, y + h - 12), fill="white", outline=accent, width=10)
        label = cell["label"]
        size = 150 if w * h > 1_200_000 else 120
        font = ImageFont.truetype(FONT, size, index=FONT_INDEX)
        while pen.textlength(label, font=font) > w - 120 and size > 50:
            size -= 10
            font = ImageFont.truetype(FONT, size, index=FONT_INDEX)
        colour = "white" if cell["kind"] == "tab" else accent
        if cell["kind"] == "tab":
            pen.rectangle((x + 22, y + 22, x + w - 22, y + h - 22), fill=accent)
        pen.text((x + w / 2, y + h / 2), label, font=font, fill=colour, anchor="mm")
    if spec.get("is_disaster"):
        banner = ImageFont.truetype(FONT, 70, index=FONT_INDEX)
        pen.text((60, 40), "災害モード", font=banner, fill=accent, anchor="lt")
    return image


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for spec in demo_menus():
        path = DATA / f"richmenu-{spec['slug']}.png"
        draw(spec).quantize(colors=64).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
