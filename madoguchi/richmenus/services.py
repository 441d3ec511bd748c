"""Writes about rich menus and disaster mode. Each is atomic and leaves an audit entry; the work
on LINE is a SyncJob (`richmenus.sync`) enqueued when the transaction commits.

`disaster_mode_set` is the one switch: the disaster app (issue #9) calls it to change every
resident's menu and to restore each resident's own menu on switching back.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident
from madoguchi.richmenus.cells import SLUG, cells_check
from madoguchi.richmenus.grids import GRIDS
from madoguchi.richmenus.images import image_check
from madoguchi.richmenus.models import Audience, DisasterMode, PlatformMenu, RichMenu, SyncJob


class MenuInvalid(ValueError):
    """What staff entered cannot be saved; `errors` are Japanese, one per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class SwitchRefused(ValueError):
    """The switch cannot be made now; the message is for staff (Japanese)."""


def tab_targets(audience: str, *, exclude: int | None = None) -> set[str]:
    pages = RichMenu.objects.filter(is_active=True, is_disaster=False, audience=audience)
    if exclude is not None:
        pages = pages.exclude(pk=exclude)
    return set(pages.values_list("slug", flat=True))


@transaction.atomic
def menu_save(
    menu: RichMenu | None,
    *,
    slug: str,
    title: str,
    audience: str,
    is_disaster: bool,
    tab_order: int,
    grid: str,
    chat_bar_text: str,
    cells: Any,
    image: bytes | None = None,
    actor: AbstractBaseUser | None = None,
    ip_address: str | None = None,
) -> RichMenu:
    """Create or change a menu page. A change raises its revision: the next sync puts the new
    revision on LINE and moves residents to it. `image=None` keeps the current image (the grid
    must still fit it)."""
    errors = []
    if not SLUG.match(slug or ""):
        errors.append(_("識別名は英小文字・数字・ハイフンで 24 文字までにしてください。"))
    elif RichMenu.objects.filter(slug=slug).exclude(pk=menu.pk if menu else 0).exists():
        errors.append(_("識別名「%(slug)s」はすでに使われています。") % {"slug": slug})
    if menu is not None and slug != menu.slug:
        errors.append(_("識別名は変更できません (タブの切り替え先が変わってしまうため)。"))
    if not title.strip():
        errors.append(_("名称を書いてください。"))
    if is_disaster:
        audience, tab_order = Audience.DEFAULT, 0  # one disaster page, copied for every audience
    if audience not in Audience.values:
        errors.append(_("対象を選んでください。"))
    if not 1 <= len(chat_bar_text.strip()) <= 14:
        errors.append(_("メニューバーの文字は 1〜14 文字にしてください。"))
    if grid not in GRIDS:
        errors.append(_("テンプレートを選んでください。"))
    if not 0 <= tab_order <= 9:
        errors.append(_("タブの順番は 0〜9 にしてください。"))
    taken = RichMenu.objects.filter(
        is_active=True, audience=audience, is_disaster=is_disaster, tab_order=tab_order
    ).exclude(pk=menu.pk if menu else 0)
    if taken.exists():
        errors.append(
            _("この対象のタブ %(n)s はすでに「%(title)s」です。") % {"n": tab_order, "title": taken.first()}
        )
    errors += cells_check(
        cells,
        grid,
        tab_targets=tab_targets(audience, exclude=menu.pk if menu else None),
        is_disaster=is_disaster,
    )
    checked = None
    if grid in GRIDS:
        if image is not None:
            try:
                checked = image_check(image, GRIDS[grid])
            except ValueError as exc:
                errors.append(str(exc))
        elif menu is not None and menu.image and menu.grid != grid:
            errors.append(_("テンプレートを変えたときは、その大きさの画像も選び直してください。"))
        elif menu is None or not menu.image:
            errors.append(_("画像を選んでください。"))
    if errors:
        raise MenuInvalid(errors)
    created = menu is None
    menu = menu or RichMenu(slug=slug)
    if not created:
        menu.revision += 1
    menu.title = title.strip()[:100]
    menu.audience = audience
    menu.is_disaster = is_disaster
    menu.tab_order = tab_order
    menu.grid = grid
    menu.chat_bar_text = chat_bar_text.strip()
    menu.cells = [
        {"kind": c["kind"], "label": c["label"].strip(), "value": c["value"].strip()} for c in cells
    ]
    if checked is not None:
        menu.image = checked.data
        menu.image_type = checked.content_type
    menu.updated_by = actor  # type: ignore[assignment]
    menu.save()
    audit_record(
        action="richmenus.menu.created" if created else "richmenus.menu.changed",
        actor=actor,
        obj=menu,
        ip_address=ip_address,
        data={"revision": menu.revision, "grid": grid, "audience": audience, "disaster": is_disaster},
    )
    return menu


@transaction.atomic
def menu_deactivate(menu: RichMenu, *, actor: AbstractBaseUser, ip_address: str | None = None) -> RichMenu:
    """Stop using a page; the next sync moves its residents and deletes it from LINE."""
    if menu.is_disaster and disaster_mode().is_on:
        raise SwitchRefused(_("災害モードの間は災害時のメニューを止められません。"))
    menu.is_active = False
    menu.save(update_fields=["is_active"])
    audit_record(action="richmenus.menu.deactivated", actor=actor, obj=menu, ip_address=ip_address)
    return menu


def _menu_channels() -> list[Channel]:
    """Rich menus go to every active channel but counseling ones (which have no menu)."""
    return list(Channel.objects.filter(is_active=True, is_confidential=False, kind="line"))


def _jobs_start(reason: str, actor: AbstractBaseUser | None) -> list[SyncJob]:
    from madoguchi.richmenus.tasks import run_sync_job

    jobs = [
        SyncJob.objects.create(channel=channel, reason=reason, created_by=actor)  # type: ignore[misc]
        for channel in _menu_channels()
    ]
    for job in jobs:
        transaction.on_commit(partial(run_sync_job.enqueue, job.pk))
    return jobs


@transaction.atomic
def menus_publish(*, actor: AbstractBaseUser | None, ip_address: str | None = None) -> list[SyncJob]:
    """Put every active menu's current revision on LINE and move residents to their menus."""
    jobs = _jobs_start(SyncJob.Reason.PUBLISH, actor)
    audit_record(
        action="richmenus.menus.published",
        actor=actor,
        ip_address=ip_address,
        data={"jobs": [job.pk for job in jobs]},
    )
    return jobs


def disaster_mode() -> DisasterMode:
    mode, _ = DisasterMode.objects.get_or_create(pk=1)
    return mode


@transaction.atomic
def disaster_mode_set(
    on: bool,
    *,
    actor: AbstractBaseUser | None,
    reason: str = "",
    ip_address: str | None = None,
) -> DisasterMode:
    """Turn disaster mode on (every resident sees the disaster menu) or off (each resident sees
    their own audience's menu again). The confirmation is the caller's; this is the switch."""
    disaster_mode()
    mode = DisasterMode.objects.select_for_update().get(pk=1)
    if mode.is_on == on:
        raise SwitchRefused(
            _("災害モードはすでに開始しています。") if on else _("災害モードはすでに終了しています。")
        )
    if on and not RichMenu.objects.filter(is_active=True, is_disaster=True).exclude(image=b"").exists():
        raise SwitchRefused(_("災害時のメニューがまだありません。先に作成してください。"))
    mode.is_on = on
    mode.changed_at = timezone.now()
    mode.changed_by = actor  # type: ignore[assignment]
    mode.reason = reason.strip()[:300]
    mode.save()
    jobs = _jobs_start(SyncJob.Reason.DISASTER_ON if on else SyncJob.Reason.DISASTER_OFF, actor)
    audit_record(
        action="richmenus.disaster_mode.on" if on else "richmenus.disaster_mode.off",
        actor=actor,
        obj=mode,
        ip_address=ip_address,
        data={"reason": mode.reason, "jobs": [job.pk for job in jobs]},
    )
    return mode


def resident_menu_follow_registration(resident: Resident, first: bool) -> None:
    """REGISTRATION_HOOKS: a resident who registered or changed their audience is linked to
    their menu (a task, once the registration is committed)."""
    from madoguchi.richmenus.tasks import link_resident

    if PlatformMenu.objects.filter(channel=resident.channel_id).exists():
        transaction.on_commit(lambda: link_resident.enqueue(resident.pk))
