"""Distances on the ground and the city's bounds, for duplicates and for places sent from LINE."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine): exact enough for 30 m."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def box_around(lat: float, lng: float, metres: float) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a square holding every point within `metres`: an index-friendly
    first filter before the exact distance."""
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlng = math.degrees(metres / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 0.01)))
    return lat - dlat, lng - dlng, lat + dlat, lng + dlng


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east

    @property
    def centre(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2


def city_bounds() -> Bounds:
    """MADOGUCHI_CITY_BOUNDS: "south,west,north,east" in degrees."""
    try:
        south, west, north, east = (float(part) for part in settings.MADOGUCHI_CITY_BOUNDS)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            "MADOGUCHI_CITY_BOUNDS must be four numbers: south,west,north,east"
        ) from None
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise ImproperlyConfigured(
            "MADOGUCHI_CITY_BOUNDS must be south,west,north,east with south < north, west < east"
        )
    return Bounds(south, west, north, east)
