"""Words that mean a life may be at risk. A message holding one is answered at once with where
help is, whatever the bot was doing, and the counselors are told.

Matching is on NFKC-folded, lower-cased text with katakana folded to hiragana and spaces removed,
so しにたい, シニタイ and 死に たい all match. A missed crisis costs far more than a false alarm,
so the list leans wide; counselors see every flag and judge.
"""

from __future__ import annotations

import unicodedata

CRISIS_WORDS = (
    "死にたい",
    "しにたい",
    "死のうと",
    "しのうと",
    "死んでしまいたい",
    "消えたい",
    "きえたい",
    "自殺",
    "じさつ",
    "自死",
    "生きていたくない",
    "いきていたくない",
    "生きるのがつらい",
    "生きるのが辛い",
    "いなくなりたい",
    "殺される",
    "ころされる",
    "殺して",
    "首を吊",
    "首吊",
    "飛び降り",
    "とびおり",
    "リストカット",
    "りすとかっと",
    "りすか",
    "od した",
    "オーバードーズ",
    "おーばーどーず",
    "虐待されて",
    "ぎゃくたいされて",
    "殴られて",
    "なぐられて",
    "kill myself",
    "suicide",
    "want to die",
)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)
    return "".join(text.split())


_FOLDED = tuple(_fold(word) for word in CRISIS_WORDS)


def has_crisis_words(text: str | None) -> bool:
    if not text:
        return False
    folded = _fold(text[:5000])
    return any(word in folded for word in _FOLDED)
