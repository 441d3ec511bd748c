"""Defect reports at a city's scale: the staff map's marker query, duplicate suggestions, and
cleaning one phone photo.

  .venv/bin/python bench/reports_map.py [--reports 20000]            # a fresh SQLite database
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/madoguchi_bench .venv/bin/python bench/reports_map.py

Creates N submitted reports spread over みどり市 (bulk, outside the services), then times the
marker list of the map (the open reports, as the JSON the page loads), the duplicate candidates
of a report (same category within 30 m and 14 days), and photo_clean on a 12-megapixel JPEG.
Ends with one line of key=value figures.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("MADOGUCHI_DATA_DIR", tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from PIL import Image

    from madoguchi.accounts.models import Department
    from madoguchi.accounts.roles import Role
    from madoguchi.accounts.services import staff_create
    from madoguchi.reports.models import Category, Report
    from madoguchi.reports.photos import photo_clean
    from madoguchi.reports.selectors import ReportFilter, reports_for_map
    from madoguchi.reports.services import duplicate_candidates

    call_command("migrate", verbosity=0)
    database = connection.vendor
    rng = random.Random(args.seed)
    department, _ = Department.objects.get_or_create(code="bench-doro", name="道路維持課 (bench)")
    categories = [
        Category.objects.get_or_create(
            code=f"bench-{n}", defaults={"name": f"種類{n}", "department": department}
        )[0]
        for n in range(6)
    ]
    staff = staff_create(
        username=f"bench-{rng.random():.8f}",
        password=f"bench-{rng.random():.12f}-password",
        role=Role.DEPT_MANAGER,
        department=department,
    )
    now = timezone.now()
    start = Report.objects.count()
    batch = []
    for n in range(args.reports):
        status = rng.choice(["received", "in_progress", "done", "done", "rejected"])
        batch.append(
            Report(
                number=f"B{start + n:09d}",
                category=rng.choice(categories),
                department=department,
                status=status,
                latitude=rng.uniform(35.30, 35.50),
                longitude=rng.uniform(139.20, 139.50),
                submitted_at=now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60)),
                description="bench",
            )
        )
    Report.objects.bulk_create(batch, batch_size=2000)

    timings = []
    for _ in range(5):
        began = time.perf_counter()
        markers = reports_for_map(staff.user, ReportFilter())
        timings.append((time.perf_counter() - began) * 1000)
    markers_ms = statistics.median(timings)

    sample = list(Report.objects.filter(number__startswith="B").order_by("?")[:200])
    dup_times = []
    found = 0
    for report in sample:
        began = time.perf_counter()
        found += len(list(duplicate_candidates(report)))
        dup_times.append((time.perf_counter() - began) * 1000)
    dup_times.sort()

    # A phone-like 12 MP photo: smooth shapes with some grain (a few MB as JPEG).
    picture = Image.frombytes("RGB", (800, 600), rng.randbytes(800 * 600 * 3)).resize(
        (4000, 3000), Image.Resampling.BICUBIC
    )
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    photo = out.getvalue()
    began = time.perf_counter()
    clean = photo_clean(photo)
    photo_ms = (time.perf_counter() - began) * 1000

    machine = f"{platform.machine()}-{os.cpu_count()}cpu-py{platform.python_version()}"
    figures = {
        "database": database,
        "reports": Report.objects.count(),
        "markers": len(markers),
        "markers_ms_median": f"{markers_ms:.1f}",
        "duplicates_ms_p50": f"{dup_times[len(dup_times) // 2]:.2f}",
        "duplicates_ms_p95": f"{dup_times[int(len(dup_times) * 0.95)]:.2f}",
        "duplicates_found_per_report": f"{found / len(sample):.2f}",
        "photo_in_kb": len(photo) // 1000,
        "photo_out_kb": len(clean.data) // 1000,
        "photo_thumb_kb": len(clean.thumbnail) // 1000,
        "photo_clean_ms": f"{photo_ms:.0f}",
        "machine": machine,
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
