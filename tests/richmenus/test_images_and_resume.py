"""Hostile images are refused with a clear message; a sync waits out LINE's limits and resumes
after a crash without creating anything twice."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.utils import timezone
from PIL import Image

from madoguchi.richmenus.grids import GRIDS
from madoguchi.richmenus.images import ImageRefused, image_check
from madoguchi.richmenus.models import PlatformMenu, RichMenu, SyncJob
from madoguchi.richmenus.services import MenuInvalid, menu_save
from madoguchi.richmenus.sync import jobs_resume_stuck
from tests.conftest import run_tasks
from tests.richmenus.conftest import line_get, make_residents, seen

LARGE = GRIDS["large6"]


def _png(width, height, **save):
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG", **save)
    return out.getvalue()


def _bomb():
    """A PNG whose header claims 60000×60000 pixels (a decompression bomb), a few bytes long."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def _animated():
    out = io.BytesIO()
    frames = [Image.new("RGB", (2500, 1686), colour) for colour in ("white", "black")]
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _noisy_jpeg():
    out = io.BytesIO()
    Image.effect_noise((2500, 1686), 100).convert("RGB").save(out, "JPEG", quality=100)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空です"),
        (b"GIF89a" + b"\x00" * 64, "画像として読み取れません"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "画像として読み取れません"),
        (_png(2500, 1686)[:3000], "壊れているか"),
        (_png(1000, 700), "2500×1686 ピクセルにしてください"),
        (_bomb(), "画素数が多すぎます"),
        (_animated(), "動く画像"),
        (_noisy_jpeg(), "1 MB"),
    ],
    ids=["empty", "gif", "svg", "truncated", "wrong-size", "bomb", "animated", "too-heavy"],
)
def test_hostile_images_are_refused_in_japanese(data, message):
    with pytest.raises(ImageRefused, match=message):
        image_check(data, LARGE)


def test_a_good_png_and_jpeg_pass():
    assert image_check(_png(2500, 1686), LARGE).content_type == "image/png"
    out = io.BytesIO()
    Image.new("RGB", (2500, 843), "white").save(out, "JPEG")
    assert image_check(out.getvalue(), GRIDS["compact3"]).content_type == "image/jpeg"


def test_a_refused_edit_loses_nothing(db):
    cells = [{"kind": "message", "label": f"区画{n}", "value": "ごみ"} for n in range(6)]
    menu = menu_save(
        None,
        slug="m",
        title="市民",
        audience="resident",
        is_disaster=False,
        tab_order=0,
        grid="large6",
        chat_bar_text="メニュー",
        cells=cells,
        image=_png(2500, 1686),
    )
    bad_cells = [*cells[:5], {"kind": "uri", "label": "x" * 30, "value": "javascript:alert(1)"}]
    with pytest.raises(MenuInvalid) as refused:
        menu_save(
            menu,
            slug="m",
            title="市民",
            audience="resident",
            is_disaster=False,
            tab_order=0,
            grid="large6",
            chat_bar_text="メニュー",
            cells=bad_cells,
            image=_bomb(),
        )
    assert any("区画 6" in e and "20" in e for e in refused.value.errors)
    assert any("https://" in e for e in refused.value.errors)
    assert any("画素数" in e for e in refused.value.errors)
    menu.refresh_from_db()
    assert menu.revision == 1 and menu.cells == cells and bytes(menu.image) == _png(2500, 1686)


def test_creating_past_lines_hourly_limit_waits_then_finishes(channel, sim, demo_menus, settings):
    sim.fault(path="/v2/bot/richmenu", method="POST", status=429, count=1)
    settings.MADOGUCHI_RICHMENU_RATE_WAIT_SECONDS = 3600
    run_tasks()
    job = SyncJob.objects.get()
    assert job.status == "waiting" and "429" in job.error
    # An hour later (the waiting task's time has come), the job carries on.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(run_after=timezone.now())
    run_tasks()
    job.refresh_from_db()
    assert job.status == "done"
    assert PlatformMenu.objects.filter(deleted_at__isnull=True).count() == 9


def test_a_sync_whose_worker_died_resumes_from_its_cursor_and_adopts_a_lost_create(channel, sim, demo_menus):
    people = make_residents(channel, sim, 1100, "resident")
    # What a worker that died leaves: the first 500 residents linked, one menu created on LINE
    # whose id never reached our database.
    welcome = RichMenu.objects.get(slug="welcome")
    from madoguchi.channels.base import rich_menus_for
    from madoguchi.richmenus.cells import menu_spec

    lost = PlatformMenu.objects.create(channel=channel, menu=welcome, revision=1, audience="default")
    lost_id = rich_menus_for(channel).create(
        channel,
        menu_spec(name=lost.name, grid_code=welcome.grid, chat_bar_text="メニュー", cells=welcome.cells),
    )
    job = SyncJob.objects.get()
    SyncJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=None)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # the dead worker's task is gone too
    assert jobs_resume_stuck() == 1
    run_tasks()
    job.refresh_from_db()
    assert job.status == "done", job.error
    lost.refresh_from_db()
    assert lost.line_id == lost_id  # found by its name, not created a second time
    assert len(line_get(sim, "/v2/bot/richmenu/list").json()["richmenus"]) == 9
    home = PlatformMenu.objects.get(menu__slug="resident-home").line_id
    assert all(seen(sim, r.line_user_id) == home for r in people[::50])
    bulk = sim.stats()["endpoints"]["POST /v2/bot/richmenu/bulk/link"]["requests"]
    assert bulk == 3  # 1100 residents, 500 a request


def test_a_crash_in_the_middle_of_bulk_links_continues_after_the_cursor(channel, sim, demo_menus):
    people = make_residents(channel, sim, 1200, "resident")
    run_tasks()  # first publish: everyone linked
    before = sim.stats()["endpoints"]["POST /v2/bot/richmenu/bulk/link"]["requests"]
    from madoguchi.richmenus.services import disaster_mode_set

    # The batch is used up this hour: the switch goes resident by resident, and its worker dies
    # after the first 500.
    sim.fault(path="/v2/bot/richmenu/batch", method="POST", status=429, count=1)
    disaster_mode_set(True, actor=None)
    job = SyncJob.objects.get(reason="disaster_on")
    SyncJob.objects.filter(pk=job.pk).update(
        status="running",
        heartbeat_at=timezone.now(),
        step="move",
        use_bulk=True,
        cursor=people[499].pk,
        done_count=500,
        total_count=1200,
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    assert jobs_resume_stuck() == 0  # its heartbeat is fresh: not yet taken for dead
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=None)
    assert jobs_resume_stuck() == 1
    run_tasks()
    job.refresh_from_db()
    assert job.status == "done" and job.done_count == 1200
    disaster = PlatformMenu.objects.get(menu__slug="disaster", audience="resident").line_id
    assert all(seen(sim, r.line_user_id) == disaster for r in people[500:])
    # Only the 700 after the cursor were linked again (two requests), none before it.
    assert sim.stats()["endpoints"]["POST /v2/bot/richmenu/bulk/link"]["requests"] - before == 2
