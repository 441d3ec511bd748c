"""FAQ matching quality and speed on the みどり市 FAQ and its dev queries.

  .venv/bin/python bench/faq_eval.py [--faq FILE] [--queries FILE] [--entries 1000]

Prints P@1, Success@5, MRR on in-scope queries, how often a confident answer was wrong, the
share of out-of-scope (NONE) queries the bot abstained on (abstain_precision), and the p95
latency of one decision; with --entries N, the FAQ is padded with synthetic entries to N to
measure latency at that size: each is made of random runs of the FAQ's own characters (a
question of about 25, an answer of about 200), so the index has the size and the letter mix of a
real 1,000-entry FAQ while the quality figures stay those of the real entries. Ends with one
line of key=value figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from madoguchi.faq.matcher import Doc, FaqIndex  # noqa: E402
from madoguchi.faq.synonyms import default_synonyms  # noqa: E402

# The demo city and its eight districts.
MIDORI_PLACES = ["みどり", "みどり市", "中央", "北", "南", "東", "西", "港", "山手", "川辺"]
SHARED = ROOT.parent / "shared" / "data" / "faq-midori"
# The shared data set when it is beside the clone; the copy the demo ships otherwise (the same file).
DEFAULT_FAQ = (
    SHARED / "faq.csv"
    if (SHARED / "faq.csv").exists()
    else ROOT / "madoguchi" / "faq" / "data" / "midori-faq.csv"
)


def load_docs(path: Path) -> list[Doc]:
    with path.open(encoding="utf-8-sig") as fh:
        return [
            Doc(
                row["id"],
                row["question"],
                tuple(filter(None, row.get("variants", "").split("|"))),
                row["category"],
                row["answer"],
            )
            for row in csv.DictReader(fh)
        ]


def synthetic_docs(real: list[Doc], count: int) -> list[Doc]:
    """Padding entries: random runs of the real FAQ's characters (seeded, so runs compare)."""
    rng = random.Random(5)
    letters = [ch for doc in real for ch in doc.question + doc.answer if not ch.isspace()]

    def text(length: int) -> str:
        words = []
        while sum(map(len, words)) < length:
            words.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 5))))
        return "".join(words)

    return [Doc(f"X{n:05d}", text(25), (), "synthetic", text(200)) for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    parser.add_argument("--queries", type=Path, default=SHARED / "queries-dev.csv")
    parser.add_argument("--entries", type=int, default=0, help="pad the FAQ to this many entries (latency)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--no-synonyms", action="store_true", help="without the default synonym list")
    args = parser.parse_args()

    docs = load_docs(args.faq)
    if args.entries > len(docs):
        docs += synthetic_docs(docs, args.entries - len(docs))
    started = time.perf_counter()
    synonyms = None if args.no_synonyms else default_synonyms()
    index = FaqIndex(docs, synonyms, home_places=MIDORI_PLACES)
    build_ms = (time.perf_counter() - started) * 1000
    with args.queries.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))

    hits1 = hits5 = wrong_answers = answered = 0
    reciprocal: list[float] = []
    abstained_none = none_total = 0
    latencies = []
    index.decide("ウォームアップ")
    for row in rows:
        t = time.perf_counter()
        decision = index.decide(row["query"])
        latencies.append((time.perf_counter() - t) * 1000)
        ids = [c.id for c in decision.candidates]
        if row["faq_id"] == "NONE":
            none_total += 1
            abstained_none += decision.kind == "abstain"
            if args.show_misses and decision.kind != "abstain":
                print(f"  answered NONE: {row['query']} -> {decision.kind} {decision.candidates[:2]}")
            continue
        gold = row["faq_id"]
        hits1 += bool(ids) and ids[0] == gold
        hits5 += gold in ids[:5]
        reciprocal.append(1 / (ids.index(gold) + 1) if gold in ids[:5] else 0.0)
        if decision.kind == "answer":
            answered += 1
            wrong_answers += decision.answer_id != gold
        if args.show_misses and (not ids or ids[0] != gold):
            got = [(c.id, c.score) for c in decision.candidates[:3]]
            print(f"  miss: {row['query']} gold={gold} got={got} {decision.kind}")
    in_scope = len(reciprocal)
    figures = {
        "bench": "faq_eval",
        "entries": len(docs),
        "synonyms": not args.no_synonyms,
        "queries": len(rows),
        "p_at_1": round(hits1 / in_scope, 3),
        "success_at_5": round(hits5 / in_scope, 3),
        "mrr": round(statistics.fmean(reciprocal), 3),
        "answered": round(answered / in_scope, 3),
        "wrong_answer_rate": round(wrong_answers / max(answered, 1), 3),
        "abstain_precision": round(abstained_none / max(none_total, 1), 3),
        "p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95)], 2),
        "build_ms": round(build_ms, 1),
        "machine": f"{platform.machine()}-{os.cpu_count()}cpu-py{platform.python_version()}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
