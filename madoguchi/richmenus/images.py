"""The image of a rich menu: checked with Pillow before it is kept, so LINE never refuses it.

LINE's rules: JPEG or PNG, at most 1 MB, and here exactly the size of the chosen grid (2500×1686
or 2500×843, which meets LINE's 800–2500 px wide, ≥250 px high, ratio ≥1.45). A file that is
not what it claims, is truncated, animated, or would decompress to a huge picture is refused
with a Japanese message; nothing is kept.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from madoguchi.richmenus.grids import Grid

MAX_BYTES = 1_000_000  # LINE's limit for a rich menu image
# Far above 2500×1686: anything bigger is refused before Pillow decodes it.
MAX_PIXELS = 2500 * 1686 * 2
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class ImageRefused(ValueError):
    """The message is for staff (Japanese)."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def image_check(data: bytes, grid: Grid) -> CheckedImage:
    if not data:
        raise ImageRefused(_("画像ファイルが空です。"))
    if len(data) > MAX_BYTES:
        raise ImageRefused(
            _("画像が大きすぎます (%(size)s KB)。LINE の上限は 1 MB (1000 KB) です。")
            % {"size": len(data) // 1000}
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                animated = bool(getattr(probe, "is_animated", False))
                if kind not in FORMATS:
                    raise ImageRefused(_("PNG か JPEG の画像を選んでください。"))
                if width * height > MAX_PIXELS:
                    raise ImageRefused(_("画像の画素数が多すぎます。"))
                probe.verify()
            with Image.open(io.BytesIO(data)) as full:
                full.load()  # decode every pixel: a truncated or corrupt file fails here
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(_("画像の画素数が多すぎます。")) from None
    except UnidentifiedImageError:
        raise ImageRefused(_("画像として読み取れません。PNG か JPEG の画像を選んでください。")) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused(_("画像が壊れているか、途中で切れています。")) from None
    if animated:
        raise ImageRefused(_("動く画像 (アニメーション) は使えません。"))
    if (width, height) != (grid.width, grid.height):
        raise ImageRefused(
            _("画像の大きさは %(want)s ピクセルにしてください (選んだ画像は %(got)s)。")
            % {"want": grid.size_label, "got": f"{width}×{height}"}
        )
    return CheckedImage(data=data, content_type=FORMATS[kind], width=width, height=height)
