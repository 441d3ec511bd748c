"""FAQ matching made for Japanese: which entry answers a resident's question, or none.

Two BM25 indexes (bm25s) over each entry's question and variants:
- words: SudachiPy morphemes of content words, each as its normalised form and its reading in
  hiragana, so 表記ゆれ meet (ゴミ/ごみ/塵, 粗大/そだい, 印鑑/いんかん);
- characters: 2- and 3-grams of the NFKC, lower-cased, hiragana-folded text, for typos
  (マイナンバーカート) and words the dictionary splits oddly.
Synonyms (staff-editable) add the city's own words to a query (ソファー → 粗大ごみ).

The decision: confident → answer; close call → offer the top 3; low → abstain (the dispatcher
then offers the menu and a person). Thresholds were tuned on the dev queries only
(bench/faq_eval.py prints the figures).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import bm25s
import numpy as np
from sudachipy import dictionary, tokenizer

# bm25s sets its own logger to DEBUG when imported; indexing is routine, not news.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Parts of speech that carry no meaning for matching.
_SKIP_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}
# Words residents add to any question.
_STOP = {
    "する",
    "ある",
    "いる",
    "なる",
    "できる",
    "出来る",
    "ない",
    "いい",
    "良い",
    "よい",
    "こと",
    "もの",
    "の",
    "ん",
    "です",
    "ます",
    "ください",
    "下さい",
    "たい",
    "どう",
    "どこ",
    "いつ",
    "何",
    "なに",
    "なん",
    "教える",
    "知る",
    "分かる",
    "わかる",
    "お願い",
    "おねがい",
    "思う",
    "みどり",
    "市",
    "ちょっと",
    "いま",
    "今",
}
_KATAKANA = re.compile(r"[\u30a1-\u30f6]")
# Words that make a question none of the city's business when they are all it says: abuse,
# greetings and chit-chat. The bot abstains (the fallback offers the menu and a person) rather
# than matching their letters to an entry (バカ would otherwise meet マイナンバーカード).
OUT_OF_SCOPE = {
    "ばか",
    "あほ",
    "くそ",
    "ぼけ",
    "かす",
    "うざい",
    "きもい",
    "だまる",
    "死ぬ",
    "役立つ",
    "使う",
    "こんにちは",
    "こんばんは",
    "おはよう",
    "おはようございます",
    "ありがとう",
    "ありがとうございます",
    "さようなら",
    "よろしく",
    "てすと",
    "はい",
    "いいえ",
    "うん",
    "ok",
    "眠い",
    "暇",
    "好き",
    "嫌い",
    "おまえ",
    "あなた",
    "君",
    "ほんと",
    "本当",
}


def fold(text: str) -> str:
    """NFKC (full/half width), lower case, katakana → hiragana, long vowel marks dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), text)
    return text.replace("ー", "")


@functools.cache
def _tokenizer() -> tokenizer.Tokenizer:
    return dictionary.Dictionary(dict="core").tokenizer()


_tokenizer_lock = threading.Lock()


def content_words(text: str) -> list[tuple[str, str]]:
    """Content words of `text`: (normalised form, hiragana reading) for each."""
    text = unicodedata.normalize("NFKC", text)
    with _tokenizer_lock:  # a Sudachi tokenizer is not thread-safe
        morphemes = list(_tokenizer().tokenize(text, tokenizer.Tokenizer.SplitMode.B))
    words: list[tuple[str, str]] = []
    for m in morphemes:
        pos = m.part_of_speech()
        if pos[0] in _SKIP_POS:
            continue
        normal = m.normalized_form().lower()
        reading = fold(m.reading_form())
        if normal in _STOP or reading in _STOP or m.dictionary_form() in _STOP:
            continue
        words.append((normal, reading))
    return words


def word_features(text: str) -> list[str]:
    """Content words of `text`, each as its normalised form and its hiragana reading."""
    features: list[str] = []
    for normal, reading in content_words(text):
        features.append("w:" + normal)
        if reading and reading != normal:
            features.append("r:" + reading)
    return features


def place_names(text: str) -> set[str]:
    """Place names in the text (固有名詞・地名), folded: 横浜市 → よこはま市."""
    with _tokenizer_lock:
        morphemes = list(
            _tokenizer().tokenize(unicodedata.normalize("NFKC", text), tokenizer.Tokenizer.SplitMode.C)
        )
    return {fold(m.surface()) for m in morphemes if m.part_of_speech()[1:3] == ("固有名詞", "地名")}


def char_features(text: str) -> list[str]:
    folded = re.sub(r"[\s、。？?！!・,.「」()（）]+", "", fold(text))
    grams = [folded[i : i + 2] for i in range(len(folded) - 1)]
    grams += [folded[i : i + 3] for i in range(len(folded) - 2)]
    return grams or ([folded] if folded else [])


@dataclass(frozen=True)
class Doc:
    """What the index knows of one FAQ entry."""

    id: str
    question: str
    variants: tuple[str, ...] = ()
    category: str = ""
    answer: str = ""


@dataclass
class Candidate:
    id: str
    score: float


@dataclass
class Decision:
    kind: Literal["answer", "choices", "abstain"]
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def answer_id(self) -> str | None:
        return self.candidates[0].id if self.kind == "answer" else None


# Tuned on queries-dev.csv (bench/faq_eval.py); see docs/faq.md. A confident wrong answer is
# worse for a resident than three choices, so answering needs a clear lead.
ANSWER_AT = 0.25
MARGIN = 0.08
CHOICES_AT = 0.16
WORD_WEIGHT = 0.4


class Synonyms:
    """Resident words → the FAQ's words. A query containing a key gets the values added."""

    def __init__(self, pairs: Iterable[tuple[str, Sequence[str]]] = ()):
        self.pairs = [(fold(key), tuple(values)) for key, values in pairs if key.strip()]

    def expand(self, query: str) -> str:
        folded = fold(query)
        extra = [value for key, values in self.pairs if key in folded for value in values]
        return query if not extra else query + " " + " ".join(extra)


class FaqIndex:
    def __init__(
        self, docs: Sequence[Doc], synonyms: Synonyms | None = None, home_places: Iterable[str] = ()
    ):
        self.docs = list(docs)
        self.synonyms = synonyms or Synonyms()
        # The city's own names (みどり市, its districts): any other place means another city's service.
        self.home_places = {fold(place) for place in home_places}
        # The question and its variants count twice; the answer's words help find the entry too
        # (ベッド, ソファー are named in the 粗大ごみ answer, not its question).
        texts = [
            " ".join((doc.question, *doc.variants, doc.question, *doc.variants, doc.category, doc.answer))
            for doc in self.docs
        ]
        self._words = bm25s.BM25()
        self._chars = bm25s.BM25()
        word_corpus = [word_features(text) or ["∅"] for text in texts]
        char_corpus = [char_features(text) or ["∅"] for text in texts]
        self._word_idf = _idf(word_corpus)
        self._char_idf = _idf(char_corpus)
        if self.docs:
            self._words.index(word_corpus, show_progress=False)
            self._chars.index(char_corpus, show_progress=False)

    def _scores(self, index: bm25s.BM25, features: list[str]) -> np.ndarray:
        if not features:
            return np.zeros(len(self.docs))
        return np.asarray(index.get_scores(features), dtype=float)

    def rank(self, query: str, k: int = 5) -> list[Candidate]:
        if not self.docs or not query.strip():
            return []
        expanded = self.synonyms.expand(query[:500])  # a resident's question is short; cap the cost
        words = word_features(expanded)
        chars = char_features(expanded)
        word_scores = self._scores(self._words, words)
        char_scores = self._scores(self._chars, chars)
        # Each score as a share of what a perfect match of this query would get, so scores of
        # different queries are comparable and a threshold means the same for all.
        word_ceiling = _ceiling(self._word_idf, words, len(self.docs))
        char_ceiling = _ceiling(self._char_idf, chars, len(self.docs))
        fused = WORD_WEIGHT * _safe_div(word_scores, word_ceiling) + (1 - WORD_WEIGHT) * _safe_div(
            char_scores, char_ceiling
        )
        order = np.argsort(-fused)[:k]
        return [Candidate(self.docs[i].id, round(float(fused[i]), 4)) for i in order if fused[i] > 0]

    def elsewhere(self, query: str) -> bool:
        """Does the question name a place that is not this city (横浜市の粗大ごみ)?"""
        return any(
            place not in self.home_places and not any(home in place for home in self.home_places)
            for place in place_names(query[:500])
        )

    def out_of_scope(self, query: str) -> bool:
        """Does the question say nothing but abuse, greetings or chit-chat (OUT_OF_SCOPE)?"""
        words = content_words(query[:500])
        return bool(words) and all(
            fold(normal) in OUT_OF_SCOPE or reading in OUT_OF_SCOPE for normal, reading in words
        )

    def decide(self, query: str, *, categories: frozenset[str] | None = None) -> Decision:
        """Answer, offer choices or abstain. `categories`: decide among the entries of those
        categories only (disaster mode puts its FAQ first this way), with the same thresholds."""
        if categories is not None:
            wanted = {doc.id for doc in self.docs if doc.category in categories}
            if not wanted:
                return Decision("abstain")
            candidates = [c for c in self.rank(query, k=len(self.docs)) if c.id in wanted][:5]
        else:
            candidates = self.rank(query)
        if not candidates:
            return Decision("abstain")
        if self.out_of_scope(query):
            return Decision("abstain", candidates)
        if self.home_places and self.elsewhere(query):
            return Decision("abstain", candidates)
        top = candidates[0].score
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if top >= ANSWER_AT and top - runner_up >= MARGIN:
            return Decision("answer", candidates)
        if top >= CHOICES_AT:
            return Decision("choices", candidates)
        return Decision("abstain", candidates)


def _idf(corpus: list[list[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for features in corpus:
        for feature in set(features):
            df[feature] = df.get(feature, 0) + 1
    n = len(corpus)
    return {feature: math.log(1 + (n - count + 0.5) / (count + 0.5)) for feature, count in df.items()}


def _ceiling(idf: dict[str, float], features: list[str], n: int) -> float:
    """About the score a document holding exactly these features would get.

    A feature no entry has counts at the highest weight: a query made of words the FAQ never
    uses (the weather, another city's service) then scores low everywhere, and the bot abstains.
    """
    unseen = math.log(1 + (n + 0.5) / 0.5)
    return sum(idf.get(feature, unseen) for feature in set(features))


def _safe_div(scores: np.ndarray, ceiling: float) -> np.ndarray:
    return scores / ceiling if ceiling > 0 else scores * 0
