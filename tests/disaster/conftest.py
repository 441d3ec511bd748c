"""Shelters from the real open data copied into madoguchi/disaster/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from madoguchi.disaster.models import Shelter
from madoguchi.disaster.services import shelter_import
from tests.console.conftest import departments, make_staff, staff_client  # noqa: F401  (staff of every role)

DATA = Path(__file__).resolve().parents[2] / "madoguchi" / "disaster" / "data"
NANAO = DATA / "nanao" / "reference_data.csv"
AMAGASAKI = DATA / "amagasaki" / "emergency_282022.csv"
AMAGASAKI_EVACUATION = DATA / "amagasaki" / "evacuation_282022.csv"
# 七尾市役所 (石川県七尾市袰町): where a Nanao resident asks from.
NANAO_CITY_HALL = (37.0430, 136.9672)


@pytest.fixture
def nanao(transactional_db: None) -> list[Shelter]:
    shelter_import(NANAO.read_bytes(), NANAO.name)
    return list(Shelter.objects.order_by("pk"))


def open_sites(*names: str) -> None:
    for name in names:
        assert Shelter.objects.filter(name=name).update(status=Shelter.Status.OPEN) == 1, name
