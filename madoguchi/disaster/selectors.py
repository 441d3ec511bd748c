"""Reads: shelters near a place or in a district, for the hazard at hand."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from madoguchi.disaster.geo import distance_m
from madoguchi.disaster.models import Shelter
from madoguchi.residents.models import District

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
