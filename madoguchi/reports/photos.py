"""Residents' photos of defects: checked, re-encoded without their metadata, made small.

Decoding and encoding anew drops EXIF (the camera, the owner, the GPS position) and anything
hidden after the picture. The GPS position, when there is one, is read first and returned apart:
it may become the report's place when the resident sent none (it is never kept in the file).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats a phone sends; anything else (a text file named .jpg, a PDF, an SVG) is refused.
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
# Larger pictures (in pixels) are refused rather than decoded (decompression bombs).
MAX_PIXELS = 50_000_000
# What staff see: big enough to read a sign, small enough for a city's network.
LONG_SIDE = 1600
THUMB_SIDE = 320


class PhotoRefused(ValueError):
    """The file is not a photo we keep; the message says why, for the resident."""


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: bytes
    gps: tuple[float, float] | None


def photo_clean(data: bytes) -> CleanPhoto:
    """The picture alone as JPEG, its thumbnail, and the GPS position it carried (if any)."""
    limit = settings.REPORTS_PHOTO_MAX_BYTES
    if len(data) > limit:
        raise PhotoRefused(
            _("写真が大きすぎます (%(mb)s MB まで)。小さくしてもう一度送ってください。")
            % {"mb": limit // 1_000_000}
        )
    if not data:
        raise PhotoRefused(_("写真として読み取れませんでした。別の写真を送ってください。"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoRefused(_("写真として読み取れませんでした。別の写真を送ってください。"))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise PhotoRefused(_("写真の画素数が多すぎます。小さくしてもう一度送ってください。"))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            gps = _gps(image)
            image.load()
            upright = ImageOps.exif_transpose(image)  # the way the phone held it, before EXIF goes
            picture = upright.convert("RGB")
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoRefused(_("写真として読み取れませんでした。別の写真を送ってください。")) from None
    picture.thumbnail((LONG_SIDE, LONG_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    small = picture.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb = io.BytesIO()
    small.save(thumb, format="JPEG", quality=80)
    return CleanPhoto(out.getvalue(), "image/jpeg", picture.width, picture.height, thumb.getvalue(), gps)


def _gps(image: Image.Image) -> tuple[float, float] | None:
    try:
        info = image.getexif().get_ifd(0x8825)
        lat = _degrees(info[2], info.get(1, "N"), "S")
        lng = _degrees(info[4], info.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def _degrees(parts: tuple[float, float, float], ref: str, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in parts)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if str(ref).upper().startswith(negative) else value
