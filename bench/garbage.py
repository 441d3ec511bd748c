"""Garbage guide and calendar: import times, search quality and speed, calendar and feed speed.

On a fresh SQLite database (or DATABASE_URL): imports Kanazawa's 5374 folder and Tsu's table
with readings (the real files), then

- search: for a sample of Tsu items, asks by the item's hiragana reading (what a resident who
  does not know the kanji types) and by its name written in katakana-folded hiragana, and
  counts how often the item is first (top1) or among the first five (top5); times each query;
- calendar: a year of collections for each of the 71 Kanazawa areas, and the year's .ics.

  .venv/bin/python bench/garbage.py [--sample 500]

Ends with one line of key=value figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "madoguchi" / "garbage" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("MADOGUCHI_DATA_DIR", tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from madoguchi.garbage.models import Area, Item
    from madoguchi.garbage.search import current_index, items_search_scored
    from madoguchi.garbage.selectors import area_collections
    from madoguchi.garbage.services import import_5374, sorting_import

    call_command("migrate", verbosity=0)
    Item.objects.all().delete()
    started = time.perf_counter()
    names = ("area_days.csv", "center.csv", "description.csv", "remarks.csv", "target.csv")
    import_5374({name: (DATA / "kanazawa" / name).read_bytes() for name in names})
    import_5374_s = time.perf_counter() - started
    started = time.perf_counter()
    sorting_import((DATA / "tsu" / "tsu_gomi.ja.utf8.csv").read_bytes(), "tsu_gomi.ja.utf8.csv")
    import_tsu_s = time.perf_counter() - started
    started = time.perf_counter()
    current_index()
    index_build_s = time.perf_counter() - started

    rng = random.Random(args.seed)
    tsu = list(Item.objects.filter(source="tsu").values_list("id", "name", "reading"))
    sample = rng.sample(tsu, min(args.sample, len(tsu)))
    timings: list[float] = []
    found = {"reading": [0, 0], "reading_intent": [0, 0]}
    for _item_id, _name, reading in sample:
        base = reading.split("（")[0].split("(")[0]
        for kind, query in (("reading", base), ("reading_intent", base + "の捨て方は?")):
            started = time.perf_counter()
            hits = items_search_scored(query, limit=5)
            timings.append(time.perf_counter() - started)
            ids = [item.pk for item, _score in hits]
            # The same name may exist in both cities' guides and as variants (素材違い): any
            # item with the same base reading counts as found.
            same = {pk for pk, _n, r in tsu if r.split("（")[0].split("(")[0] == base}
            found[kind][0] += bool(ids[:1] and (ids[0] in same))
            found[kind][1] += bool(same & set(ids))
    n = len(sample)

    today = timezone.localdate()
    started = time.perf_counter()
    collections = 0
    for area in Area.objects.all():
        collections += len(area_collections(area, today, today + timedelta(days=365)))
    calendar_s = time.perf_counter() - started
    area = Area.objects.first()
    assert area is not None
    client = Client()
    started = time.perf_counter()
    response = client.get(f"/garbage/calendar/{area.slug}.ics", HTTP_HOST="localhost")
    assert response.status_code == 200, response.status_code
    body = response.content
    ics_s = time.perf_counter() - started

    timings.sort()
    figures = {
        "database": connection.vendor,
        "items": Item.objects.count(),
        "import_5374_s": round(import_5374_s, 2),
        "import_tsu_s": round(import_tsu_s, 2),
        "index_build_s": round(index_build_s, 2),
        "queries": len(timings),
        "reading_top1": round(found["reading"][0] / n, 3),
        "reading_top5": round(found["reading"][1] / n, 3),
        "reading_intent_top1": round(found["reading_intent"][0] / n, 3),
        "reading_intent_top5": round(found["reading_intent"][1] / n, 3),
        "search_p50_ms": round(statistics.median(timings) * 1000, 1),
        "search_p95_ms": round(timings[int(len(timings) * 0.95)] * 1000, 1),
        "calendar_year_all_areas_s": round(calendar_s, 2),
        "collections_year": collections,
        "ics_ms": round(ics_s * 1000, 1),
        "ics_bytes": len(body),
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
