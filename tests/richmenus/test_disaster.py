"""Disaster mode: one switch moves every resident to the disaster menu, and back to their own."""

from __future__ import annotations

import pytest

from madoguchi.core.models import AuditEntry
from madoguchi.richmenus.models import PlatformMenu, SyncJob
from madoguchi.richmenus.services import SwitchRefused, disaster_mode_set
from tests.conftest import run_tasks
from tests.richmenus.conftest import make_residents, seen_names


def _menu_names(slug):
    return {p.audience: p.name for p in PlatformMenu.objects.filter(menu__slug=slug, deleted_at__isnull=True)}


def test_disaster_on_and_off_restores_each_residents_own_menu(channel, sim, demo_menus):
    people = {
        "resident": make_residents(channel, sim, 120, "resident"),
        "tourist": make_residents(channel, sim, 40, "tourist"),
        "prospective": make_residents(channel, sim, 40, "prospective"),
        "": make_residents(channel, sim, 20, ""),
    }
    run_tasks()
    # One resident went to the second tab of the 市民 menu (a richmenuswitch tap on the phone).
    tabbed = people["resident"][0].line_user_id
    sim.send(
        tabbed,
        {
            "type": "postback",
            "postback": {
                "data": "a=richmenu.tab&to=resident-more",
                "params": {"newRichMenuAliasId": "resident-more", "status": "SUCCESS"},
            },
        },
    )
    everyone = [r.line_user_id for group in people.values() for r in group]
    before = seen_names(sim, everyone)
    assert before[tabbed] == _menu_names("resident-more")["resident"]

    disaster_mode_set(True, actor=None, reason="台風 10 号")
    run_tasks()
    job = SyncJob.objects.filter(reason="disaster_on").get()
    assert job.status == "done" and job.batch_request_id and not job.use_bulk, job.error
    during = seen_names(sim, everyone)
    disaster = _menu_names("disaster")
    for audience, group in people.items():
        for resident in group:
            assert during[resident.line_user_id] == disaster[audience or "default"]

    disaster_mode_set(False, actor=None)
    run_tasks()
    after = seen_names(sim, everyone)
    own = {"resident": "resident-home", "tourist": "tourist", "prospective": "prospective", "": "welcome"}
    for audience, group in people.items():
        for resident in group:
            assert after[resident.line_user_id] == _menu_names(own[audience])[audience or "default"]
    assert list(
        AuditEntry.objects.filter(action__startswith="richmenus.disaster_mode")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "richmenus.disaster_mode.on",
        "richmenus.disaster_mode.off",
    ]
    # Two batch requests: LINE moved everyone, a million residents as cheaply as two hundred.
    stats = sim.stats()["endpoints"]
    assert stats["POST /v2/bot/richmenu/batch"]["requests"] == 2
    # Bulk links only for the first publish (200 residents, 500 a request: one per audience).
    assert stats["POST /v2/bot/richmenu/bulk/link"]["requests"] == 3


def test_past_three_batches_an_hour_the_switch_links_residents_in_bulk(channel, sim, demo_menus):
    people = make_residents(channel, sim, 1201, "tourist") + make_residents(channel, sim, 3, "")
    run_tasks()
    for on in (True, False, True):
        disaster_mode_set(on, actor=None)
        run_tasks()
    # LINE allows 3 batch requests an hour: the fourth switch links our residents, 500 a request.
    disaster_mode_set(False, actor=None)
    run_tasks()
    last = SyncJob.objects.filter(reason="disaster_off").order_by("-pk").first()
    assert last.status == "done" and last.use_bulk and last.done_count == last.total_count == 1204
    stats = sim.stats()["endpoints"]
    assert stats["POST /v2/bot/richmenu/batch"]["statuses"] == {"202": 3}
    tourist = _menu_names("tourist")["tourist"]
    welcome = _menu_names("welcome")["default"]
    names = seen_names(sim, [r.line_user_id for r in people])
    assert all(names[r.line_user_id] == (tourist if r.audience else welcome) for r in people)


def test_linesim_rate_limit_on_batch_falls_back_to_bulk(channel, sim, demo_menus):
    people = make_residents(channel, sim, 30, "resident")
    run_tasks()
    sim.fault(path="/v2/bot/richmenu/batch", method="POST", status=429, count=1)
    disaster_mode_set(True, actor=None)
    run_tasks()
    job = SyncJob.objects.filter(reason="disaster_on").get()
    assert job.status == "done" and job.use_bulk
    disaster = _menu_names("disaster")["resident"]
    assert set(seen_names(sim, [r.line_user_id for r in people]).values()) == {disaster}


def test_the_switch_is_refused_without_a_disaster_menu_or_twice(channel, sim, demo_menus):
    disaster_mode_set(True, actor=None)
    with pytest.raises(SwitchRefused, match="すでに開始"):
        disaster_mode_set(True, actor=None)
    disaster_mode_set(False, actor=None)
    demo_menus["disaster"].is_active = False
    demo_menus["disaster"].save()
    with pytest.raises(SwitchRefused, match="災害時のメニューがまだありません"):
        disaster_mode_set(True, actor=None)
