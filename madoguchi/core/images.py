"""Opening an uploaded picture safely, for every feature that keeps one.

What a file is comes from its bytes (Pillow's sniffing), never from its name or the type the
browser claims: an SVG, an HTML page or a PDF named `.png` is not an image here. Pictures that
would decode to too many pixels are refused before they are decoded (decompression bombs), and a
truncated or corrupt file fails while every pixel is decoded, not later. Callers say what went
wrong in their own words (a resident's photo and a staff upload are told differently), from
`ImageUnreadable.reason`.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

Reason = Literal["empty", "too_large", "format", "pixels", "broken", "animated"]


class ImageUnreadable(ValueError):
    def __init__(self, reason: Reason, detected: str = "") -> None:
        super().__init__(reason)
        self.reason: Reason = reason
        self.detected = detected  # the format Pillow found, when it found one


def image_open_checked(
    data: bytes,
    *,
    formats: frozenset[str],
    max_bytes: int,
    max_pixels: int,
    allow_animated: bool = False,
) -> tuple[Image.Image, str]:
    """The picture, decoded and turned upright (EXIF orientation), and its sniffed format
    ("PNG", "JPEG" …). Raises ImageUnreadable. The image returned carries no file: saving it
    anew writes the pixels alone, without EXIF or anything hidden after the picture."""
    if not data:
        raise ImageUnreadable("empty")
    if len(data) > max_bytes:
        raise ImageUnreadable("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in formats:
                    raise ImageUnreadable("format", kind)
                width, height = probe.size
                if width * height > max_pixels:
                    raise ImageUnreadable("pixels", kind)
                if not allow_animated and getattr(probe, "is_animated", False):
                    raise ImageUnreadable("animated", kind)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # every pixel: a truncated or corrupt file fails here
                upright = ImageOps.exif_transpose(image)
    except ImageUnreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageUnreadable("pixels") from None
    except UnidentifiedImageError:
        raise ImageUnreadable("format") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageUnreadable("broken") from None
    return upright, kind
