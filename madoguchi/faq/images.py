"""An FAQ entry's picture (a 分別表, a map): checked, re-encoded without its metadata, made into
what a LINE image message needs.

LINE's rules for an image message: the picture and its preview are JPEG or PNG at https URLs,
the picture at most 10 MB, the preview at most 1 MB. Staff upload a JPEG or a PNG; it is opened
with `core.images` (the format sniffed from the bytes, bombs and broken files refused), turned
upright, and saved anew, which drops EXIF (the camera, the GPS position) and anything hidden
after the picture. A PNG stays a PNG (a table's letters stay sharp), a JPEG stays a JPEG; the
preview is a small JPEG.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image

from madoguchi.core.images import ImageUnreadable, image_open_checked

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
MAX_BYTES = 10_000_000  # LINE's limit for an image message's picture
PREVIEW_MAX_BYTES = 1_000_000  # and for its preview
# Larger pictures (in pixels) are refused before they are decoded (decompression bombs).
MAX_PIXELS = 50_000_000
LONG_SIDE = 2400  # enough to read a 分別表 on a phone, zoomed in
PREVIEW_SIDE = 480


class ImageRefused(ValueError):
    """The upload is not a picture an FAQ answer may show; the message (Japanese) says why."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    preview: bytes


def faq_image_clean(data: bytes) -> CleanImage:
    """The picture alone, re-encoded, and its preview; or ImageRefused with a Japanese message."""
    try:
        picture, kind = image_open_checked(
            data, formats=frozenset(FORMATS), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
        )
    except ImageUnreadable as exc:
        raise ImageRefused(_refusal(exc)) from None
    picture.thumbnail((LONG_SIDE, LONG_SIDE))
    keep_alpha = kind == "PNG" and (picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info)
    converted = picture.convert("RGBA" if keep_alpha else "RGB")
    out = io.BytesIO()
    if kind == "PNG":
        converted.save(out, format="PNG")
    else:
        converted.save(out, format="JPEG", quality=88)
    if out.tell() > MAX_BYTES:
        raise ImageRefused(
            _("画像を LINE で送れる大きさ (10 MB) にできませんでした。小さい画像を選んでください。")
        )
    small = converted.copy()
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    if small.mode == "RGBA":  # JPEG has no transparency: on white, as a chat shows it
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small, mask=small.getchannel("A"))
        small = flat
    preview = io.BytesIO()
    small.save(preview, format="JPEG", quality=80)
    return CleanImage(
        data=out.getvalue(),
        content_type=FORMATS[kind],
        width=converted.width,
        height=converted.height,
        preview=preview.getvalue(),
    )


def _refusal(exc: ImageUnreadable) -> str:
    if exc.reason == "empty":
        return _("画像ファイルが空です。")
    if exc.reason == "too_large":
        return _("画像が大きすぎます (%(mb)s MB まで)。") % {"mb": MAX_BYTES // 1_000_000}
    if exc.reason == "format" and exc.detected:
        return _("JPEG か PNG の画像を選んでください (選んだファイルは %(format)s です)。") % {
            "format": exc.detected
        }
    if exc.reason == "format":
        return _("画像として読み取れません。JPEG か PNG の画像を選んでください。")
    if exc.reason == "pixels":
        return _("画像の画素数が多すぎます。小さくしてから選んでください。")
    if exc.reason == "animated":
        return _("動く画像 (アニメーション) は使えません。")
    return _("画像が壊れているか、途中で切れています。")


def image_path(key: str, content_type: str) -> str:
    """The picture's path on Madoguchi (the console shows it from here)."""
    return reverse("faq:image", kwargs={"key": key, "ext": EXTENSIONS.get(content_type, "jpg")})


def image_public_url(key: str, content_type: str) -> str:
    """Where LINE fetches the picture: Madoguchi's public address (https in production)."""
    return settings.MADOGUCHI_PUBLIC_URL.rstrip("/") + image_path(key, content_type)


def image_preview_public_url(key: str) -> str:
    return settings.MADOGUCHI_PUBLIC_URL.rstrip("/") + reverse("faq:image_preview", kwargs={"key": key})


def image_key_in(url: str) -> str:
    """The key of one of our picture URLs (any host: the public address may have moved), or ""."""
    match = _IMAGE_URL.match(url.strip())
    return match["key"] if match else ""


_IMAGE_URL = re.compile(
    r"^https?://[^/\s]+(?:/[^\s]*)?/faq/images/(?P<key>[A-Za-z0-9_-]{16,40})\.(?:png|jpg)$"
)
