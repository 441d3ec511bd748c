"""The nearest open shelters for a hazard: exact distances, the hazard's flag, the status."""

from __future__ import annotations

import pytest

from madoguchi.disaster.geo import distance_m
from madoguchi.disaster.models import Shelter
from madoguchi.disaster.selectors import shelters_in_district, shelters_nearest
from madoguchi.disaster.services import shelter_import
from madoguchi.residents.models import District
from tests.disaster.conftest import AMAGASAKI, NANAO_CITY_HALL, open_sites


def test_haversine_distances_are_right_on_the_ground():
    # 東京駅 → 大阪駅: 403 km great-circle; 1° of latitude: 111.2 km.
    assert distance_m(35.6812, 139.7671, 34.7025, 135.4959) == pytest.approx(403_400, rel=0.005)
    assert distance_m(37.0, 137.0, 38.0, 137.0) == pytest.approx(111_195, rel=0.001)
    assert distance_m(37.0, 137.0, 37.0, 137.0) == 0


def test_an_earthquake_lists_only_open_sites_flagged_for_earthquakes_nearest_first(nanao):
    # Near 七尾市役所 the closest sites are tsunami buildings (津波 only): not for an earthquake.
    open_sites("七尾市役所(4F)", "山王小学校", "県立七尾高等学校", "県立七尾城北高等学校", "七尾中学校")
    latitude, longitude = NANAO_CITY_HALL
    search = shelters_nearest(latitude=latitude, longitude=longitude, hazard="earthquake")
    names = [found.shelter.name for found in search.found]
    assert names == ["山王小学校", "県立七尾城北高等学校", "県立七尾高等学校", "七尾中学校"]
    distances = [found.distance_m for found in search.found]
    assert distances == sorted(distances) and 500 < distances[0] < 700
    assert search.designated == 93
    tsunami = shelters_nearest(latitude=latitude, longitude=longitude, hazard="tsunami")
    assert tsunami.found[0].shelter.name == "七尾市役所(4F)" and tsunami.found[0].distance_m < 50


def test_full_and_closed_sites_are_left_out_and_counted(nanao):
    open_sites("山王小学校")
    Shelter.objects.filter(name="県立七尾高等学校").update(status=Shelter.Status.FULL)
    search = shelters_nearest(latitude=NANAO_CITY_HALL[0], longitude=NANAO_CITY_HALL[1], hazard="earthquake")
    assert [found.shelter.name for found in search.found] == ["山王小学校"]
    assert search.full == 1
    Shelter.objects.filter(name="山王小学校").update(is_active=False)
    search = shelters_nearest(latitude=NANAO_CITY_HALL[0], longitude=NANAO_CITY_HALL[1], hazard="earthquake")
    assert search.found == [] and search.designated == 92


def test_a_city_with_no_site_for_a_hazard_says_none_are_designated(db):
    shelter_import(AMAGASAKI.read_bytes(), AMAGASAKI.name)
    Shelter.objects.update(status=Shelter.Status.OPEN)
    search = shelters_nearest(latitude=34.73, longitude=135.41, hazard="earthquake")
    assert search.found == [] and search.designated == 0
    assert len(shelters_nearest(latitude=34.73, longitude=135.41, hazard="flood").found) == 5


def test_at_most_five_and_by_district_without_distance(nanao):
    district = District.objects.create(code="misogi", name="御祓地区")
    Shelter.objects.filter(community__startswith="御祓地区").update(district=district, status="open")
    search = shelters_in_district(district=district, hazard="earthquake")
    assert len(search.found) == 5 and all(found.distance_m is None for found in search.found)
    assert all(found.shelter.district_id == district.pk for found in search.found)
