"""The learning loop's read side: what residents asked that the bot could not answer, grouped.

A question waits for staff when the bot abstained on it, or when the resident said the answer
did not help (解決しない), until staff handle it. Similar questions are grouped so staff see one
line for ソファー捨てたい / ソファを捨てたいです / ｿﾌｧｰ 捨てたい, with a count and examples:

1. each question is reduced to the matcher's content words (SudachiPy normalised forms and
   readings, particles and politeness dropped; width and kana folded), so wordings that differ
   only in form get the same key;
2. keys are joined when their words overlap by half or more (Jaccard), or by a quarter when the
   matcher's nearest FAQ entry for both is the same one; a question with no content word at all
   (only emoji or punctuation) is grouped by its folded characters.

Writes (adding a variant, a new entry, dismissing) are in `faq.services`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from madoguchi.faq.matcher import FaqIndex, fold, word_features
from madoguchi.faq.models import Question

# How many waiting questions the staff page groups at once (the newest); older ones show once
# these are handled.
GROUP_WINDOW = 1000
SHOWN_GROUPS = 200  # groups a staff page shows (and ranks against today's FAQ)
SAME_WORDS = 0.5  # Jaccard of content words that makes two wordings one question
SAME_ENTRY_WORDS = 0.25  # ... when the nearest FAQ entry is the same for both
MAX_EXAMPLES = 5


def waiting_questions() -> QuerySet[Question]:
    """Questions staff have not handled that the bot did not answer, answered unhelpfully, or
    offered choices for that the resident passed over (typing something else)."""
    return Question.objects.filter(handled_at__isnull=True).filter(
        Q(outcome=Question.Outcome.ABSTAINED) | Q(helpful=False)
    )


@dataclass
class Example:
    text: str
    times: int


@dataclass
class QuestionGroup:
    """Similar questions, shown to staff as one line."""

    text: str  # the wording residents used most
    times: int
    last: datetime
    question_ids: list[int]
    examples: list[Example]
    not_helpful: int  # how many were answered, and the resident said it did not help
    words: list[str]  # the content words of the main wording (what the grouping looks at)
    candidate_ids: list[str] = field(default_factory=list)  # nearest FAQ entries, best first


def question_key(text: str) -> frozenset[str]:
    """The content words of a question (normalised form and reading, kana folded: ゴミ and ごみ
    are one), or, with no content word, its folded characters."""
    words = frozenset(fold(feature[2:]) for feature in word_features(text[:500]))
    if words:
        return words
    folded = "".join(fold(text).split())[:100]
    return frozenset({"c:" + folded}) if folded else frozenset({"c:"})


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def group_questions(
    questions: list[Question], index: FaqIndex | None = None, ranked_groups: int = SHOWN_GROUPS
) -> list[QuestionGroup]:
    """Group waiting questions by their content words and nearest FAQ entry (module docstring),
    most asked first.

    `index`, when given, ranks the main wording of the first `ranked_groups` groups against
    today's FAQ for their nearest entries; the candidates stored when the questions were asked
    are used too.
    """
    keys_of: dict[str, frozenset[str]] = {}  # residents repeat themselves: one analysis per wording
    by_key: dict[frozenset[str], list[Question]] = {}
    for question in questions:
        if question.text not in keys_of:
            keys_of[question.text] = question_key(question.text)
        by_key.setdefault(keys_of[question.text], []).append(question)
    keys = list(by_key)
    nearest = {key: _nearest(by_key[key]) for key in keys}

    # Union-find over the distinct keys (far fewer than the questions).
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Only keys that share a word can join: compare those alone (an inverted index of words).
    postings: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if not any(word.startswith("c:") for word in key):  # no words: only identical characters group
            for word in key:
                postings.setdefault(word, []).append(i)
    for i, a in enumerate(keys):
        for j in sorted({j for word in a for j in postings.get(word, ()) if j > i}):
            b = keys[j]
            similarity = _jaccard(a, b)
            same_entry = nearest[a] is not None and nearest[a] == nearest[b]
            if similarity >= SAME_WORDS or (same_entry and similarity >= SAME_ENTRY_WORDS):
                parent[root(j)] = root(i)

    clusters: dict[int, list[frozenset[str]]] = {}
    for i, key in enumerate(keys):
        clusters.setdefault(root(i), []).append(key)
    groups = sorted(
        (_group([q for key in members for q in by_key[key]]) for members in clusters.values()),
        key=lambda g: (-g.times, -g.last.timestamp()),
    )
    for group in groups[:ranked_groups]:
        if index is None:
            break
        now = [c.id for c in index.rank(group.text, k=3)]
        merged = [*group.candidate_ids[:1], *now, *group.candidate_ids[1:]]
        group.candidate_ids = list(dict.fromkeys(merged))[:3]
    return groups


def _nearest(questions: list[Question]) -> str | None:
    """The FAQ entry the matcher put first for these questions most often."""
    tops = Counter(
        str(q.candidates[0]["id"])
        for q in questions
        if q.candidates and isinstance(q.candidates[0], dict) and "id" in q.candidates[0]
    )
    return tops.most_common(1)[0][0] if tops else None


def _group(questions: list[Question]) -> QuestionGroup:
    counts = Counter(" ".join(q.text.split()) for q in questions)
    latest = max(q.asked_at for q in questions)
    # The main wording: the most asked; among equals, the most recent.
    last_of = {" ".join(q.text.split()): q.asked_at for q in sorted(questions, key=lambda q: q.asked_at)}
    ranked = sorted(counts, key=lambda text: (-counts[text], -last_of[text].timestamp()))
    words = [feature[2:] for feature in dict.fromkeys(word_features(ranked[0])) if feature.startswith("w:")]
    # The nearest entries: the one the matcher put first most often when residents asked, then
    # the others it offered (group_questions puts today's ranking after the first).
    stored = Counter(
        str(c["id"]) for q in questions for c in q.candidates[:3] if isinstance(c, dict) and "id" in c
    )
    nearest = _nearest(questions)
    candidate_ids = list(
        dict.fromkeys([*([nearest] if nearest else []), *(i for i, _n in stored.most_common())])
    )
    return QuestionGroup(
        text=ranked[0],
        times=len(questions),
        last=latest,
        question_ids=sorted(q.pk for q in questions),
        examples=[Example(text, counts[text]) for text in ranked[:MAX_EXAMPLES]],
        not_helpful=sum(q.helpful is False and q.outcome == Question.Outcome.ANSWERED for q in questions),
        words=words,
        candidate_ids=candidate_ids[:5],
    )


def waiting_groups(index: FaqIndex | None = None) -> list[QuestionGroup]:
    """The staff's list: the newest waiting questions, grouped, most asked first."""
    questions = list(waiting_questions().order_by("-asked_at")[:GROUP_WINDOW])
    return group_questions(questions, index)
