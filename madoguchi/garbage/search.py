"""Finding items of the sorting guide from what a resident typed, in any spelling.

Built on the FAQ's Japanese normalisation (`faq.matcher`: NFKC, katakana → hiragana, long
vowel marks dropped, SudachiPy readings), so スプレー缶, すぷれー缶 and ｽﾌﾟﾚｰ缶 meet, and 冷蔵庫
is found by れいぞうこ. Each item is known by its folded name (brackets dropped) and its reading.

Scores, best first: the whole name or reading (1.0), a name that starts with the query (0.8),
one that contains it (0.6), and for longer queries shared character bigrams (up to 0.5). The
chat answers only an exact match or a single candidate; otherwise it offers choices.

The index is kept in memory per process and rebuilt when items change (count and last update).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from django.db.models import Count, Max

from madoguchi.faq.matcher import content_words, fold
from madoguchi.garbage.models import Item

_PARENS = re.compile(r"[（(][^）)]*[）)]")
# What residents add around an item's name: 〇〇 捨て方 / 〇〇は何ごみ? / 〇〇を捨てたい.
_INTENT = re.compile(
    r"(の?(捨て方|すてかた|出し方|だしかた|捨てかた|分別|ぶんべつ|処分|処分方法)"
    r"|(は|って)?(何|なに|なん)ごみ|(は|って)?何ゴミ|(を|は)?(捨てたい|すてたい|捨てる|出したい|出す)"
    r"|(は|って)?(どう|どうやって)(捨てる|出す|すれば)?|の?ごみ(の日)?|の?ゴミ"
    r"|(を|は|って)?(教えて|おしえて)(ください|下さい)?|ですか|[?？!！。、\s]+)"
)
_TRAILING = re.compile(r"\s*(は|を|って|が|の)$")
INTENT_WORDS = (
    "捨て",
    "すて",
    "出し方",
    "だしかた",
    "分別",
    "ぶんべつ",
    "何ごみ",
    "なにごみ",
    "何ゴミ",
    "処分",
)
MAX_QUERY = 100


@dataclass(frozen=True)
class Hit:
    item_id: int
    name: str
    score: float


def has_intent(text: str) -> bool:
    return any(word in text for word in INTENT_WORDS)


def strip_intent(text: str) -> str:
    """The item's part of a question: スプレー缶の捨て方は? → スプレー缶."""
    stripped = _INTENT.sub(" ", text[:MAX_QUERY]).strip()
    return _TRAILING.sub("", stripped).strip()


def _key(text: str) -> str:
    return re.sub(r"[\s・、,.。「」]+", "", fold(_PARENS.sub("", text)))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


class ItemIndex:
    def __init__(self, items: list[tuple[int, str, str]]):
        # (id, name, reading) → keys
        self.entries = [
            (pk, name, {k for k in (_key(name), _key(reading)) if k}) for pk, name, reading in items
        ]

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        text = strip_intent(query)
        q = _key(text)
        if not q:
            return []
        queries = {q}
        if len(text) <= 40:
            reading = "".join(r for _, r in content_words(text))
            if reading:
                queries.add(_key(reading))
        grams = _bigrams(q)
        hits: list[Hit] = []
        for pk, name, keys in self.entries:
            score = 0.0
            for key in keys:
                for candidate in queries:
                    if key == candidate:
                        score = max(score, 1.0)
                    elif len(candidate) >= 2 and key.startswith(candidate):
                        score = max(score, 0.8 - min(len(key) - len(candidate), 20) / 100)
                    elif len(candidate) >= 2 and candidate in key:
                        score = max(score, 0.6 - min(len(key) - len(candidate), 20) / 100)
                if score < 0.5 and len(q) >= 3:
                    shared = len(grams & _bigrams(key)) / max(len(grams), 1)
                    if shared >= 0.6:
                        score = max(score, 0.5 * shared)
            if score > 0:
                hits.append(Hit(pk, name, round(score, 3)))
        hits.sort(key=lambda h: (-h.score, len(h.name), h.name))
        return hits[:limit]


_cache: dict[str, object] = {}
_lock = threading.Lock()


def current_index() -> ItemIndex:
    """The index of the active items, rebuilt when they changed."""
    stamp = Item.objects.filter(is_active=True).aggregate(n=Count("id"), t=Max("updated_at"))
    version = f"{stamp['n']}:{stamp['t']}"
    with _lock:
        if _cache.get("version") != version:
            rows = list(Item.objects.filter(is_active=True).values_list("id", "name", "reading"))
            _cache["index"] = ItemIndex(rows)
            _cache["version"] = version
        index = _cache["index"]
    assert isinstance(index, ItemIndex)
    return index


def items_search(query: str, limit: int = 10) -> list[Item]:
    """The items best matching `query`, best first."""
    hits = current_index().search(query[:MAX_QUERY], limit)
    by_id = Item.objects.select_related("category").in_bulk([h.item_id for h in hits])
    return [by_id[h.item_id] for h in hits if h.item_id in by_id]


def items_search_scored(query: str, limit: int = 10) -> list[tuple[Item, float]]:
    hits = current_index().search(query[:MAX_QUERY], limit)
    by_id = Item.objects.select_related("category").in_bulk([h.item_id for h in hits])
    return [(by_id[h.item_id], h.score) for h in hits if h.item_id in by_id]
