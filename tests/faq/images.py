"""Pictures for the FAQ's image tests, made with Pillow (as a phone or an office PC would save them)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg_with_gps(size: tuple[int, int] = (800, 600)) -> bytes:
    """A camera's JPEG: EXIF with the maker and a GPS position."""
    image = Image.new("RGB", size, (30, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (35.0, 24.0, 13.32), 3: "E", 4: (139.0, 20.0, 45.24)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(size: tuple[int, int] = (600, 400), transparent: bool = False) -> bytes:
    """A 分別表-like PNG (with an alpha channel when `transparent`)."""
    mode, colour = ("RGBA", (200, 40, 40, 128)) if transparent else ("RGB", (250, 250, 250))
    image = Image.new(mode, size, colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40)).save(out, format="GIF")
    return out.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A few hundred bytes that claim 3.6 billion pixels: a valid PNG header over a tiny stream."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )
