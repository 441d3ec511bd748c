"""Reads: shelters near a place or in a district, for the hazard at hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from madoguchi.accounts.access import has_permission
from madoguchi.accounts.roles import Perm
from madoguchi.core.audit import audit_record
from madoguchi.disaster.geo import distance_m
from madoguchi.disaster.models import SafetyAnswer, SafetyConfirmation, Shelter
from madoguchi.disaster.safety import safety_recipients
from madoguchi.inbox.models import Conversation
from madoguchi.inbox.services import OPEN_STATUSES
from madoguchi.residents.models import District, Resident

NEAREST_MAX = 5


@dataclass(frozen=True)
class Found:
    shelter: Shelter
    distance_m: float | None  # None: picked by district, no place given


@dataclass(frozen=True)
class Search:
    """What a resident's search found: the open sites, and why there may be none."""

    found: list[Found]
    designated: int  # active sites designated for the hazard (any status), in the searched area
    full: int  # of those, 満員


def shelters_for_hazard(hazard: str) -> QuerySet[Shelter]:
    """Active sites designated for `hazard` (a hazards.HAZARDS code), any status."""
    return Shelter.objects.filter(is_active=True, **{hazard: True})


def shelters_nearest(*, latitude: float, longitude: float, hazard: str, limit: int = NEAREST_MAX) -> Search:
    """The nearest OPEN sites designated for `hazard`, closest first (haversine). A city holds a
    few hundred sites at most, so every candidate's distance is computed exactly."""
    designated = shelters_for_hazard(hazard)
    candidates = list(designated.filter(status=Shelter.Status.OPEN))
    ranked = sorted(
        (Found(s, distance_m(latitude, longitude, s.latitude, s.longitude)) for s in candidates),
        key=lambda found: (found.distance_m, found.shelter.pk),
    )
    return Search(
        found=ranked[:limit],
        designated=designated.count(),
        full=designated.filter(status=Shelter.Status.FULL).count(),
    )


def shelters_in_district(*, district: District, hazard: str, limit: int = NEAREST_MAX) -> Search:
    designated = shelters_for_hazard(hazard).filter(district=district)
    found = [
        Found(s, None) for s in designated.filter(status=Shelter.Status.OPEN).order_by("name", "pk")[:limit]
    ]
    return Search(
        found=found,
        designated=designated.count(),
        full=designated.filter(status=Shelter.Status.FULL).count(),
    )


def districts_with_shelters() -> QuerySet[District]:
    return District.objects.filter(shelters__is_active=True).distinct().order_by("sort_order", "code")


# Safety confirmation (安否確認)


@dataclass(frozen=True)
class RollupRow:
    district: str  # the district's name, or 地区未登録
    recipients: int
    counts: dict[str, int]  # SafetyAnswer.Status value → residents

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        return max(self.recipients - self.answered, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.recipients) if self.recipients else 0

    @property
    def cells(self) -> list[int]:
        return [self.counts.get(status, 0) for status in SafetyAnswer.Status.values]


def safety_rollup(confirmation: SafetyConfirmation, language: str = "ja") -> list[RollupRow]:
    """Answers by district: counts per answer, non-responders, percentage answered; the total
    last. Aggregates only (two GROUP BY queries). Blocked and anonymised residents are never
    counted, answered or not; nor is anyone outside the confirmation's districts."""
    recipients = safety_recipients(confirmation)
    by_district = {
        row["district_id"]: row["n"]
        for row in recipients.order_by().values("district_id").annotate(n=Count("id"))
    }
    counts: dict[int | None, dict[str, int]] = {}
    answered = (
        SafetyAnswer.objects.filter(confirmation=confirmation, resident__in=recipients.values("pk"))
        .order_by()
        .values("resident__district_id", "status")
        .annotate(n=Count("id"))
    )
    for row in answered:
        counts.setdefault(row["resident__district_id"], {})[row["status"]] = row["n"]
    districts = {d.pk: d for d in District.objects.filter(pk__in=[pk for pk in by_district if pk])}
    for pk in confirmation.district_ids:  # a district chosen but (now) without friends
        if pk not in by_district and (district := District.objects.filter(pk=pk).first()) is not None:
            districts[pk] = district
            by_district[pk] = 0
    ordered = sorted(
        by_district,
        key=lambda pk: (pk is None, *((districts[pk].sort_order, districts[pk].code) if pk else (0, ""))),
    )
    rows = [
        RollupRow(
            district=districts[pk].name_in(language) if pk else _("地区未登録"),
            recipients=by_district[pk],
            counts=counts.get(pk, {}),
        )
        for pk in ordered
    ]
    total: dict[str, int] = {}
    for done in rows:
        for status, n in done.counts.items():
            total[status] = total.get(status, 0) + n
    rows.append(RollupRow(district=_("合計"), recipients=sum(by_district.values()), counts=total))
    return rows


@dataclass(frozen=True)
class HelpRow:
    resident: Resident
    answered_at: datetime
    conversation_id: int | None


def safety_help_list(
    user: AbstractBaseUser | AnonymousUser,
    confirmation: SafetyConfirmation,
    *,
    ip_address: str | None = None,
) -> list[HelpRow]:
    """Residents who answered 支援が必要 (latest answer), with their open inbox conversation.
    Names are personal data: for staff who handle the inbox, and each view is logged."""
    if not has_permission(user, Perm.INBOX_HANDLE):
        raise PermissionDenied
    answers = (
        SafetyAnswer.objects.filter(
            confirmation=confirmation,
            status=SafetyAnswer.Status.HELP,
            resident__in=safety_recipients(confirmation).values("pk"),
        )
        .select_related("resident__district")
        .order_by("answered_at", "pk")[:500]
    )
    rows = [HelpRow(a.resident, a.answered_at, None) for a in answers]
    open_conversations = dict(
        Conversation.objects.filter(
            resident_id__in=[row.resident.pk for row in rows], status__in=OPEN_STATUSES, is_counseling=False
        )
        .order_by("opened_at")
        .values_list("resident_id", "pk")
    )
    rows = [HelpRow(r.resident, r.answered_at, open_conversations.get(r.resident.pk)) for r in rows]
    audit_record(
        action="disaster.safety.help_listed",
        actor=user,
        obj=confirmation,
        ip_address=ip_address,
        data={"residents": len(rows)},
    )
    return rows
