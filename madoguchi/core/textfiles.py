"""Reading the text files staff upload (CSV from Excel and from open-data portals)."""

from __future__ import annotations

# Excel in Japan saves CSV as Shift_JIS (cp932); open-data portals publish UTF-8, often with a BOM.
ENCODINGS = ("utf-8-sig", "cp932")


def decode_upload(data: bytes, *, name: str, max_bytes: int, refused: type[ValueError]) -> str:
    """The file's text, UTF-8 (BOM or not) else cp932; a file too large, binary or in another
    encoding raises `refused` (the caller's own error) with a Japanese reason."""
    label = f"{name}: " if name else ""
    if len(data) > max_bytes:
        raise refused(f"{label}ファイルが大きすぎます({len(data):,} バイト、上限 {max_bytes:,})")
    if b"\x00" in data:
        raise refused(f"{label}テキスト(CSV)ではないファイルです")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refused(f"{label}文字コードが UTF-8 でも Shift_JIS でもありません")
