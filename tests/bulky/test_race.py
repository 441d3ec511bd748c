"""Residents racing for the last places, with real threads on PostgreSQL (each thread its own
connection and transaction). SQLite serialises writers, so these run on PostgreSQL only."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from madoguchi.bulky.models import Booking, CollectionDay
from madoguchi.bulky.services import BookingError, booking_change_day, booking_create
from tests.bulky.conftest import person

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency needs PostgreSQL")


def race(calls: list[Callable[[], Any]]) -> tuple[int, list[str]]:
    """Run every call in its own thread, all released at once; (successes, refusals)."""
    barrier = threading.Barrier(len(calls))
    lock = threading.Lock()
    done: list[int] = []
    refused: list[str] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
            with lock:
                done.append(1)
        except BookingError as error:
            with lock:
                refused.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return len(done), refused


def held(day: CollectionDay) -> int:
    return Booking.objects.filter(day=day, status="confirmed").count()


@pytest.fixture
def chair(items: dict[str, Any]) -> dict[int, int]:
    return {items["chair"].pk: 1}


def test_thirty_residents_and_one_place_make_one_booking(transactional_db, make_day, make_resident, chair):
    day = make_day(capacity=1)
    residents = [make_resident() for _ in range(30)]
    booked, refused = race(
        [lambda r=r: booking_create(day_id=day.pk, items=chair, resident=r, **person()) for r in residents]
    )
    day.refresh_from_db()
    assert booked == 1 and len(refused) == 29 and all("いっぱい" in text for text in refused)
    assert day.booked == 1 == held(day)


def test_five_days_of_n_places_fill_exactly(transactional_db, make_day, make_resident, chair):
    days = [make_day(days_ahead=10 + i, capacity=6) for i in range(5)]
    attempts = [(random.choice(days), make_resident()) for _ in range(60)]
    booked, _refused = race(
        [
            lambda d=d, r=r: booking_create(day_id=d.pk, items=chair, resident=r, **person())
            for d, r in attempts
        ]
    )
    wanted = {day.pk: sum(1 for d, _r in attempts if d.pk == day.pk) for day in days}
    for day in days:
        day.refresh_from_db()
        assert day.booked == held(day) == min(6, wanted[day.pk])
    assert booked == sum(min(6, n) for n in wanted.values())


def test_one_resident_tapping_twice_books_once(transactional_db, make_day, make_resident, chair):
    day = make_day(capacity=10)
    resident = make_resident()
    booked, refused = race(
        [lambda: booking_create(day_id=day.pk, items=chair, resident=resident, **person())] * 8
    )
    day.refresh_from_db()
    assert booked == 1 and day.booked == 1 == held(day)
    assert all("すでに予約" in text for text in refused)


def test_moves_to_a_fuller_day_never_leave_a_place_held_twice_or_lost(
    transactional_db, make_day, make_resident, chair
):
    crowded, spare = make_day(capacity=20), make_day(days_ahead=11, capacity=8)
    bookings = [
        booking_create(day_id=crowded.pk, items=chair, resident=make_resident(), **person())
        for _ in range(20)
    ]
    newcomers = [make_resident() for _ in range(6)]
    calls: list[Callable[[], Any]] = [lambda b=b: booking_change_day(b, day_id=spare.pk) for b in bookings]
    calls += [
        lambda r=r: booking_create(day_id=crowded.pk, items=chair, resident=r, **person()) for r in newcomers
    ]
    moved_or_booked, _refused = race(calls)
    for day in (crowded, spare):
        day.refresh_from_db()
        assert day.booked == held(day) <= day.capacity
    assert spare.booked == 8
    # 12 stayed; newcomers got the places the movers gave back when they came after them.
    newcomers_booked = Booking.objects.filter(resident__in=newcomers, status="confirmed").count()
    assert crowded.booked == 12 + newcomers_booked and moved_or_booked == 8 + newcomers_booked
