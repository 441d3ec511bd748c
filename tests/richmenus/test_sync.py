"""Publishing menus puts them on LINE (linesim) and every resident sees their audience's menu."""

from __future__ import annotations

from madoguchi.residents.services import resident_register
from madoguchi.richmenus.models import PlatformMenu, SyncJob
from madoguchi.richmenus.services import menus_publish
from tests.conftest import run_tasks
from tests.richmenus.conftest import line_get, make_residents, seen, seen_names


def test_publish_creates_every_menu_with_aliases_and_default(channel, sim, demo_menus):
    run_tasks()
    job = SyncJob.objects.get()
    assert (job.status, job.step) == ("done", "done"), job.error
    live = PlatformMenu.objects.filter(deleted_at__isnull=True)
    # 5 pages, and the disaster page once per audience (4).
    assert live.count() == 9 and all(p.line_id and p.image_uploaded for p in live)
    listed = line_get(sim, "/v2/bot/richmenu/list").json()["richmenus"]
    assert len(listed) == 9
    aliases = {
        a["richMenuAliasId"]: a["richMenuId"]
        for a in line_get(sim, "/v2/bot/richmenu/alias/list").json()["aliases"]
    }
    assert set(aliases) == {"resident-home", "resident-more", "tourist", "prospective", "welcome"}
    default = line_get(sim, "/v2/bot/user/all/richmenu").json()["richMenuId"]
    assert default == PlatformMenu.objects.get(menu__slug="welcome").line_id
    # Someone who never registered sees the default (welcome) menu.
    assert seen(sim, "U" + "0" * 32) == default


def test_residents_see_their_audience_menu_and_registration_links_them(channel, sim, demo_menus):
    tourists = make_residents(channel, sim, 3, "tourist")
    unregistered = make_residents(channel, sim, 2, "")
    run_tasks()
    names = seen_names(sim, [r.line_user_id for r in tourists + unregistered])
    tourist_menu = PlatformMenu.objects.get(menu__slug="tourist")
    assert all(name == tourist_menu.name for uid, name in names.items() if uid.startswith("Uto"))
    welcome = PlatformMenu.objects.get(menu__slug="welcome")
    assert all(names[r.line_user_id] == welcome.name for r in unregistered)

    # A resident registers as a prospective resident: their menu follows at once (a task).
    resident = unregistered[0]
    resident_register(resident, terms_version="2026-04", audience="prospective")
    run_tasks()
    assert seen(sim, resident.line_user_id) == PlatformMenu.objects.get(menu__slug="prospective").line_id
    # …and when they clear their audience, the default shows again.
    resident_register(resident, terms_version="2026-04", audience="")
    run_tasks()
    assert seen(sim, resident.line_user_id) == welcome.line_id


def test_an_edit_is_a_new_revision_residents_move_to_and_the_old_one_is_deleted(channel, sim, demo_menus):
    residents = make_residents(channel, sim, 5, "resident")
    run_tasks()
    old = PlatformMenu.objects.get(menu__slug="resident-home")
    menu = demo_menus["resident-home"]
    from madoguchi.richmenus.services import menu_save

    cells = [dict(c) for c in menu.cells]
    cells[0]["label"] = "ごみ・リサイクル"
    menu_save(
        menu,
        slug=menu.slug,
        title=menu.title,
        audience=menu.audience,
        is_disaster=False,
        tab_order=0,
        grid=menu.grid,
        chat_bar_text="くらし",
        cells=cells,
    )
    menus_publish(actor=None)
    run_tasks()
    new = PlatformMenu.objects.get(menu__slug="resident-home", revision=menu.revision)
    assert new.revision == old.revision + 1
    assert all(seen(sim, r.line_user_id) == new.line_id for r in residents)
    old.refresh_from_db()
    assert old.deleted_at is not None
    assert line_get(sim, f"/v2/bot/richmenu/{old.line_id}").status_code == 404
    shown = sim.http.get(f"/_sim/users/{residents[0].line_user_id}/richmenu").json()
    assert shown["chatBarText"] == "くらし"
    assert shown["areas"][0]["action"] == {"type": "message", "label": "ごみ・リサイクル", "text": "ごみ"}
    alias = line_get(sim, "/v2/bot/richmenu/alias/resident-home").json()
    assert alias["richMenuId"] == new.line_id
