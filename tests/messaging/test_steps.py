"""Step deliveries through linesim: day 0 at a follow (a real webhook), later steps on their day
at their time, the registration sequence, the child-birthdate series, each step once, blocked
and out-of-segment residents skipped, and no starvation of newer residents."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from madoguchi.core.models import Channel
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import StepEnrollment, StepSend, StepSequence
from madoguchi.messaging.services import segment_save
from madoguchi.messaging.step_services import step_save, step_sequence_active_set, step_sequence_save
from madoguchi.messaging.steps import steps_send_due
from madoguchi.residents.models import Child, Resident
from madoguchi.residents.services import resident_register
from tests.conftest import Sim, run_tasks
from tests.messaging.conftest import make_residents


def texts(sim: Sim, resident: Resident) -> list[str]:
    return [m.get("text", "") for m in sim.messages(resident.line_user_id) if m.get("via") == "push"]


def sequence_with(
    author: Any, channel: Channel, trigger: str, steps: list[tuple[int, int, str, time]], **kwargs: Any
) -> StepSequence:
    sequence = step_sequence_save(
        actor=author, name=f"{trigger} の案内", channel=channel, trigger=trigger, **kwargs
    )
    for months, days, text, at in steps:
        step_save(
            sequence, actor=author, months=months, days=days, send_time=at, content=content_from_text(text)
        )
    return step_sequence_active_set(sequence, active=True, actor=author)


def local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def test_a_follow_gets_day_0_at_once_and_day_3_on_its_day_at_its_time_each_once(
    sim: Sim, channel: Channel, author: Any
) -> None:
    sequence_with(
        author,
        channel,
        StepSequence.Trigger.FOLLOW,
        [(0, 0, "ようこそ", time(10)), (0, 3, "3日目のご案内", time(10))],
    )
    user = "U" + "5" * 32
    sim.send(user, {"type": "follow"})  # signed webhook → stored event → the worker's follow
    run_tasks()
    resident = Resident.objects.get(line_user_id=user)
    assert StepEnrollment.objects.filter(resident=resident).count() == 1
    assert steps_send_due() == 1
    assert "ようこそ" in texts(sim, resident)
    assert steps_send_due() == 0  # nothing twice
    follow_day = timezone.localdate()
    with time_machine.travel(local(follow_day + timedelta(days=3), time(9, 59)), tick=False):
        assert steps_send_due() == 0  # its day, not yet its time
    with time_machine.travel(local(follow_day + timedelta(days=3), time(10, 1)), tick=False):
        assert steps_send_due() == 1
        assert steps_send_due() == 0
    assert texts(sim, resident).count("3日目のご案内") == 1
    assert texts(sim, resident).count("ようこそ") == 1
    enrollment = StepEnrollment.objects.get(resident=resident)
    assert enrollment.finished and enrollment.next_due_at is None
    # Following again (after a block) does not start the sequence over.
    sim.send(user, {"type": "unfollow"})
    sim.send(user, {"type": "follow"})
    run_tasks()
    assert StepEnrollment.objects.filter(resident=resident).count() == 1
    assert steps_send_due() == 0


def test_the_registration_sequence_starts_at_the_first_registration_only(
    sim: Sim, channel: Channel, author: Any, places: dict[str, Any]
) -> None:
    sequence_with(
        author, channel, StepSequence.Trigger.REGISTRATION, [(0, 0, "{district}のご登録ありがとう", time(9))]
    )
    resident = make_residents(channel, 1, sim=sim)[0]
    resident_register(resident, terms_version="1", district=places["kita"])
    assert steps_send_due() == 1
    assert texts(sim, resident) == ["北地区のご登録ありがとう"]
    resident_register(resident, terms_version="1", district=places["minami"])  # a change
    assert StepEnrollment.objects.filter(resident=resident).count() == 1
    assert steps_send_due() == 0
    assert texts(sim, resident) == ["北地区のご登録ありがとう"]


def test_blocked_and_out_of_segment_residents_are_skipped_not_sent_later(
    sim: Sim, channel: Channel, author: Any, places: dict[str, Any]
) -> None:
    kita = segment_save(actor=author, name="北", conditions={"field": "district", "in": ["kita"]})
    sequence_with(
        author,
        channel,
        StepSequence.Trigger.FOLLOW,
        [(0, 0, "北地区へようこそ", time(10)), (0, 1, "北地区の翌日", time(10))],
        segment=kita,
    )
    inside, outside, blocked = make_residents(channel, 3, sim=sim, district=places["kita"])
    Resident.objects.filter(pk=outside.pk).update(district=places["minami"])
    from madoguchi.messaging.steps import steps_on_follow

    for resident in (inside, outside, blocked):
        steps_on_follow(resident)
    Resident.objects.filter(pk=blocked.pk).update(status=Resident.Status.BLOCKED)
    assert steps_send_due() == 1
    assert texts(sim, inside) == ["北地区へようこそ"]
    assert texts(sim, outside) == [] and texts(sim, blocked) == []
    # Unblocked and moved into the segment the next day: day 0 stays skipped, day 1 goes out.
    Resident.objects.filter(pk=blocked.pk).update(status=Resident.Status.ACTIVE)
    Resident.objects.filter(pk=outside.pk).update(district=places["kita"])
    with time_machine.travel(local(timezone.localdate() + timedelta(days=1), time(10, 30)), tick=False):
        assert steps_send_due() == 3
    assert texts(sim, inside) == ["北地区へようこそ", "北地区の翌日"]
    assert texts(sim, outside) == ["北地区の翌日"] and texts(sim, blocked) == ["北地区の翌日"]
    assert StepSend.objects.count() == 6


def test_the_child_birthdate_series_reaches_each_child_once_on_its_day_with_a_week_of_catch_up(
    sim: Sim, channel: Channel, author: Any
) -> None:
    sequence_with(
        author,
        channel,
        StepSequence.Trigger.CHILD_BIRTHDATE,
        [(4, 0, "4か月児健診のご案内", time(9)), (0, 60, "予防接種のご案内", time(9))],
    )
    today = timezone.localdate()
    parent, twins_parent, late, too_late, blocked = make_residents(channel, 5, sim=sim)
    four_months = today - relativedelta(months=4)
    Child.objects.create(resident=parent, birthdate=four_months)
    Child.objects.create(resident=twins_parent, birthdate=four_months)
    Child.objects.create(resident=twins_parent, birthdate=four_months)
    Child.objects.create(resident=late, birthdate=four_months - timedelta(days=6))  # missed 6 days ago
    Child.objects.create(resident=too_late, birthdate=four_months - timedelta(days=8))
    Child.objects.create(resident=blocked, birthdate=four_months)
    Resident.objects.filter(pk=blocked.pk).update(status=Resident.Status.BLOCKED)
    Child.objects.create(resident=parent, birthdate=today - timedelta(days=60))  # a younger sibling
    with time_machine.travel(local(today, time(8, 59)), tick=False):
        assert steps_send_due() == 0  # before the step's time
    with time_machine.travel(local(today, time(9, 5)), tick=False):
        assert steps_send_due() == 5
        assert steps_send_due() == 0
    assert sorted(texts(sim, parent)) == ["4か月児健診のご案内", "予防接種のご案内"]
    assert texts(sim, twins_parent) == ["4か月児健診のご案内", "4か月児健診のご案内"]  # one per child
    assert texts(sim, late) == ["4か月児健診のご案内"]
    assert texts(sim, too_late) == [] and texts(sim, blocked) == []


def test_a_failed_push_is_tried_again_and_a_refused_one_is_not(
    sim: Sim, channel: Channel, author: Any
) -> None:
    sequence_with(author, channel, StepSequence.Trigger.FOLLOW, [(0, 0, "ようこそ", time(10))])
    resident = make_residents(channel, 1, sim=sim)[0]
    from madoguchi.messaging.steps import steps_on_follow

    steps_on_follow(resident)
    sim.fault(path="/v2/bot/message/push", method="POST", status=500, count=10)
    assert steps_send_due() == 0
    assert not StepSend.objects.exists() and not StepEnrollment.objects.get().finished
    sim.http.delete("/_sim/faults").raise_for_status()
    assert steps_send_due() == 1
    assert texts(sim, resident) == ["ようこそ"]


def test_residents_waiting_for_later_steps_never_hold_back_a_new_residents_day_0(
    sim: Sim, channel: Channel, author: Any, django_assert_max_num_queries: Any
) -> None:
    """6,000 enrolments wait for day 30 (more than one run reads); a resident who follows now
    gets day 0 at the next run, read with a few queries whatever the number waiting."""
    sequence = sequence_with(
        author,
        channel,
        StepSequence.Trigger.FOLLOW,
        [(0, 0, "ようこそ", time(10)), (0, 30, "30日目", time(10))],
    )
    day0, day30 = list(sequence.steps.order_by("days"))
    waiting = make_residents(channel, 6000, prefix="W")
    yesterday = timezone.now() - timedelta(days=1)
    StepEnrollment.objects.bulk_create(
        StepEnrollment(
            sequence=sequence,
            resident=resident,
            anchored_at=yesterday,
            next_due_at=local(timezone.localdate(yesterday) + timedelta(days=30), time(10)),
        )
        for resident in waiting
    )
    StepSend.objects.bulk_create(StepSend(step=day0, resident=resident) for resident in waiting)
    newcomer = make_residents(channel, 1, sim=sim, prefix="N")[0]
    from madoguchi.messaging.steps import steps_on_follow

    steps_on_follow(newcomer)
    with django_assert_max_num_queries(25):
        assert steps_send_due() == 1
    assert texts(sim, newcomer) == ["ようこそ"]
    # A run where many are due reads them and what they were sent in a constant number of
    # queries: the blocked are skipped in one write, not one query each.
    Resident.objects.filter(pk__in=[r.pk for r in waiting]).update(status=Resident.Status.BLOCKED)
    later = timezone.now() + timedelta(days=31)
    # (SQLite cuts the 5,000 skipped rows into ~20 INSERTs; PostgreSQL takes them in one.)
    with time_machine.travel(later, tick=False), django_assert_max_num_queries(40):
        assert steps_send_due() == 0
    assert StepSend.objects.filter(step=day30).count() == 5000  # one run's chunk, the next takes the rest
    with time_machine.travel(later, tick=False):
        assert steps_send_due() == 1  # the rest are skipped; the newcomer gets day 30
    assert StepSend.objects.filter(step=day30).count() == 6001
    assert StepEnrollment.objects.filter(finished=True).count() == 6001
    assert texts(sim, newcomer) == ["ようこそ", "30日目"]
