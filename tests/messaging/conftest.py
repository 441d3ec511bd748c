from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from madoguchi.accounts.roles import Role
from madoguchi.accounts.services import staff_create
from madoguchi.core.models import Channel
from madoguchi.residents.models import District, Interest, Resident
from tests.conftest import Sim


@pytest.fixture(autouse=True)
def no_other_friends(request: pytest.FixtureRequest) -> None:
    """Deliveries count every friend linesim knows: start each test with none."""
    if "sim" in request.fixturenames:
        sim: Sim = request.getfixturevalue("sim")
        sim.http.post("/_sim/reset", json={"users": True}).raise_for_status()


@pytest.fixture
def author(transactional_db: None) -> Any:
    return staff_create(username="kouhou", password="correct horse battery", role=Role.DELIVERY).user


@pytest.fixture
def approver(transactional_db: None) -> Any:
    return staff_create(username="kouhou-chief", password="correct horse battery", role=Role.DELIVERY).user


@pytest.fixture
def places(transactional_db: None) -> dict[str, Any]:
    return {
        "kita": District.objects.create(code="kita", name="北地区"),
        "minami": District.objects.create(code="minami", name="南地区"),
        "bousai": Interest.objects.create(code="bousai", name="防災"),
        "event": Interest.objects.create(code="event", name="イベント"),
    }


def make_residents(
    channel: Channel, count: int, *, prefix: str = "U", sim: Sim | None = None, **fields: Any
) -> list[Resident]:
    """Residents who are friends, here and (when given) in linesim."""
    start = Resident.objects.count()
    residents = Resident.objects.bulk_create(
        [
            Resident(
                channel=channel,
                line_user_id=f"{prefix}{start + i:032x}"[:33],
                followed_at=timezone.now(),
                **fields,
            )
            for i in range(count)
        ]
    )
    if sim is not None:
        sim.http.put("/_sim/users", json={"userIds": [r.line_user_id for r in residents]}).raise_for_status()
    return list(Resident.objects.filter(line_user_id__in=[r.line_user_id for r in residents]))
