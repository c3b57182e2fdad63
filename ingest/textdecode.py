"""Strict text decoding and normalisation.

Chinese files arrive as UTF-8 (with or without BOM), UTF-16 with a BOM, GB18030/GBK or Big5.
Every candidate is decoded strictly; GB18030 accepts almost any byte pairs, so its result must
also look like simplified Chinese (mostly GB2312 characters) before it is trusted. When nothing
fits, the file fails with reason ``encoding`` instead of producing mojibake.
"""

from __future__ import annotations

import codecs
import re

from index_store.errors import LoadError
from index_store.text import normalize_text

__all__ = ["decode_bytes", "normalize_text"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Share of CJK characters that must be GB2312 for a GB18030 decode to count as Chinese text.
_GB2312_SHARE = 0.9


def _looks_simplified(text: str) -> bool:
    cjk = _CJK.findall(text)
    if not cjk:
        return True
    common = 0
    for ch in cjk:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(cjk) >= _GB2312_SHARE


def decode_bytes(data: bytes, name: str = "input") -> tuple[str, str]:
    """Decode ``data``; returns ``(text, encoding)`` or raises ``LoadError('encoding')``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise LoadError("encoding", f"{name}: invalid {encoding} text ({exc})") from exc
    if b"\x00" in data[:4096]:
        raise LoadError(
            "encoding", f"{name}: binary data or UTF-16/32 text without a byte-order mark"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if _looks_simplified(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("big5"), "big5"
    except UnicodeDecodeError:
        pass
    raise LoadError(
        "encoding",
        f"{name}: not valid UTF-8, GB18030/GBK or Big5 text; re-save it as UTF-8",
    )
