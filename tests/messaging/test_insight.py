"""Figures after a delivery, end to end: sent through linesim, opened on residents' phones
(what the phone page displayed), asked back from LINE's insight API by the refresh job; each run
of a recurring delivery under its own aggregation unit."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from madoguchi.core.models import Channel
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import Delivery, DeliveryRun
from madoguchi.messaging.services import (
    deliveries_due,
    delivery_approve,
    delivery_save,
    delivery_submit,
    run_insight_refresh,
    runs_insight_refresh,
    segment_save,
)
from madoguchi.residents.models import Resident
from tests.conftest import Sim, run_tasks
from tests.messaging.conftest import make_residents


def open_on_phone(sim: Sim, residents: list[Resident]) -> None:
    """Each resident looks at their chat on the phone page (which asks with seen=1)."""
    for resident in residents:
        sim.http.get(f"/_sim/users/{resident.line_user_id}/messages", params={"seen": 1}).raise_for_status()


def send(author: Any, approver: Any, channel: Channel, **kwargs: Any) -> Delivery:
    delivery = delivery_save(actor=author, channel=channel, title="お知らせ", **kwargs)
    delivery_submit(delivery, actor=author)
    return delivery_approve(delivery, actor=approver)


def test_opened_figures_of_a_multicast_come_from_its_aggregation_unit(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    residents = make_residents(channel, 30, sim=sim)
    segment = segment_save(actor=author, name="全員", conditions={})
    delivery = send(author, approver, channel, content=content_from_text("防災訓練"), segment=segment)
    run_tasks()
    run = delivery.runs.get()
    assert run.method == DeliveryRun.Method.MULTICAST and run.sent == 30
    open_on_phone(sim, residents[:21])
    open_on_phone(sim, residents[:3])  # looking twice is one person who opened it
    sim.http.get(f"/_sim/users/{residents[25].line_user_id}/messages").raise_for_status()  # a test's read
    run = run_insight_refresh(run)
    assert run.opened == 21 and run.clicked is None and run.insight_checked_at is not None
    endpoints = sim.stats()["endpoints"]
    assert endpoints["GET /v2/bot/insight/message/event/aggregation"]["statuses"] == {"200": 1}
    # The periodic job asks once a day per run.
    open_on_phone(sim, residents[21:24])
    DeliveryRun.objects.filter(pk=run.pk).update(insight_checked_at=None)
    assert runs_insight_refresh() == 1
    assert runs_insight_refresh() == 0
    run.refresh_from_db()
    assert run.opened == 24


def test_each_run_of_a_recurring_delivery_has_its_own_figures(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    residents = make_residents(channel, 10, sim=sim)
    segment = segment_save(actor=author, name="全員", conditions={})
    delivery = send(
        author,
        approver,
        channel,
        content=content_from_text("今週のごみ情報"),
        segment=segment,
        scheduled_at=timezone.now(),
        recurrence="weekly",
    )
    run_tasks()
    open_on_phone(sim, residents[:3])
    Delivery.objects.filter(pk=delivery.pk).update(next_run_at=timezone.now())  # next week, now
    assert deliveries_due() == 1
    run_tasks()
    open_on_phone(sim, residents[2:7])  # 0 and 1 do not look again
    first, second = delivery.runs.order_by("number")
    assert first.aggregation_unit == f"madoguchi_d{delivery.pk}_r1"
    assert second.aggregation_unit == f"madoguchi_d{delivery.pk}_r2"
    # The chat shows the earlier message too, so 3 to 6 opened the first run then as well;
    # under one unit for the delivery both runs would read 7.
    assert run_insight_refresh(first).opened == 7
    assert run_insight_refresh(second).opened == 5


def test_opened_figures_of_a_broadcast_come_from_its_request_id(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    residents = make_residents(channel, 4, sim=sim)
    delivery = send(author, approver, channel, content=content_from_text("市長より"), target="all")
    run_tasks()
    run = delivery.runs.get()
    assert run.method == DeliveryRun.Method.BROADCAST and run.line_request_id
    open_on_phone(sim, residents[:2])
    assert run_insight_refresh(run).opened == 2
