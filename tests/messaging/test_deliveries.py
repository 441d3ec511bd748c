"""Deliveries end to end against linesim: approval, batches of 500, languages, emergencies first,
cancel, LINE's limits, and crashes at every point resuming with no duplicate and no miss."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.channels.base import transport_for
from madoguchi.channels.line.models import OutboundRequest
from madoguchi.core.models import Channel
from madoguchi.core.processes import process_token
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import Delivery, DeliveryBatch, DeliveryRun
from madoguchi.messaging.sending import (
    UrgentOnItsWay,
    batch_claim,
    batch_send,
    batches_claim,
    claims_release_dead,
    next_pending_batch,
    pump,
    run_prepare,
    runs_resume,
)
from madoguchi.messaging.services import (
    DeliveryError,
    SameApproverError,
    deliveries_due,
    delivery_approve,
    delivery_cancel,
    delivery_save,
    delivery_submit,
    quota_warning,
    segment_save,
)
from madoguchi.residents.models import Resident
from tests.conftest import Sim, run_tasks, wait_for
from tests.messaging.conftest import make_residents


def received(sim: Sim) -> dict[str, int]:
    summary = sim.http.get("/_sim/stats", params={"summary": 1}).json()
    return summary["received"]


def draft(author: Any, channel: Channel, text: str = "防災訓練のお知らせ", **kwargs: Any) -> Delivery:
    segment = kwargs.pop("segment", None) or segment_save(actor=author, name="全員", conditions={})
    content = kwargs.pop("content", None) or content_from_text(text)
    return delivery_save(
        actor=author, channel=channel, title=text, content=content, segment=segment, **kwargs
    )


def approved(author: Any, approver: Any, delivery: Delivery) -> Delivery:
    delivery_submit(delivery, actor=author)
    return delivery_approve(delivery, actor=approver)


def test_approval_is_needed_and_an_emergency_needs_a_second_person(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 3, sim=sim)
    delivery = draft(author, channel)
    with pytest.raises(DeliveryError):
        delivery_approve(delivery, actor=approver)  # not submitted
    delivery_submit(delivery, actor=author)
    delivery = delivery_approve(delivery, actor=author)  # a normal one: the author may approve
    run_tasks()
    assert received(sim) == {"1": 3}

    emergency = draft(author, channel, "【緊急】避難指示", is_emergency=True)
    delivery_submit(emergency, actor=author)
    with pytest.raises(SameApproverError):
        delivery_approve(emergency, actor=author)
    delivery_approve(emergency, actor=approver)
    run_tasks()
    assert received(sim) == {"2": 3}
    emergency.refresh_from_db()
    assert emergency.status == Delivery.Status.DONE
    assert emergency.runs.get().sent == 3


def test_a_segment_in_batches_of_500_each_resident_once_in_their_language(
    sim: Sim, channel: Channel, author: Any, approver: Any, places: dict[str, Any]
) -> None:
    kita = make_residents(channel, 1100, sim=sim, district=places["kita"])
    english = make_residents(channel, 30, sim=sim, district=places["kita"], language="en")
    minami = make_residents(channel, 20, sim=sim, district=places["minami"])
    blocked = make_residents(channel, 5, sim=sim, district=places["kita"], status=Resident.Status.BLOCKED)
    segment = segment_save(actor=author, name="北地区", conditions={"field": "district", "in": ["kita"]})
    content = {
        "ja": {"messages": [{"type": "text", "text": "{district}の皆さまへ"}]},
        "en": {"messages": [{"type": "text", "text": "To residents of {district}"}]},
    }
    delivery = approved(author, approver, draft(author, channel, segment=segment, content=content))
    run_tasks()
    run = delivery.runs.get()
    assert run.status == DeliveryRun.Status.DONE
    assert run.recipients == run.sent == 1130
    assert max(run.batch_set.values_list("size", flat=True)) == 500
    assert sim.messages(kita[0].line_user_id)[0]["text"] == "北地区の皆さまへ"
    assert sim.messages(english[0].line_user_id)[0]["text"] == "To residents of 北地区"
    assert sim.messages(minami[0].line_user_id) == []
    assert sim.messages(blocked[0].line_user_id) == []
    assert all(len(sim.messages(r.line_user_id)) == 1 for r in kita[::97] + english)
    multicasts = sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]
    assert multicasts["requests"] == run.batches == 4  # 500 + 500 + 100 (ja), 30 (en)


def test_without_placeholders_residents_are_grouped_by_their_language_alone(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    """The grouping PostgreSQL does itself (SQLite: the Python loop) gives what each language's
    resident should read: en-US reads English, やさしい日本語 its own, an unwritten language and no
    language Japanese; 500 at most a request."""
    japanese = make_residents(channel, 1100, sim=sim, language="ja")
    american = make_residents(channel, 20, sim=sim, language="EN-us")
    unknown = make_residents(channel, 10, sim=sim, language="")
    easy = make_residents(channel, 10, sim=sim, language="ja-easy")
    vietnamese = make_residents(channel, 10, sim=sim, language="vi")
    content = {
        "ja": {"messages": [{"type": "text", "text": "お知らせ"}]},
        "en": {"messages": [{"type": "text", "text": "News"}]},
        "ja-easy": {"messages": [{"type": "text", "text": "おしらせ"}]},
    }
    delivery = approved(author, approver, draft(author, channel, content=content))
    run_tasks()
    run = delivery.runs.get()
    assert run.status == DeliveryRun.Status.DONE and run.recipients == run.sent == 1150
    sizes = sorted(run.batch_set.values_list("variant", "size"))
    assert sizes == [("en", 20), ("ja", 120), ("ja", 500), ("ja", 500), ("ja-easy", 10)]
    for residents, text in [
        (japanese[::50] + unknown + vietnamese, "お知らせ"),
        (american, "News"),
        (easy, "おしらせ"),
    ]:
        assert all([m["text"] for m in sim.messages(r.line_user_id)] == [text] for r in residents)
    assert received(sim) == {"1": 1150}


def test_broadcast_only_when_it_is_the_same_for_every_friend(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 4, sim=sim)
    everyone = delivery_save(
        actor=author,
        channel=channel,
        title="市長メッセージ",
        content=content_from_text("市長より"),
        target="all",
    )
    approved(author, approver, everyone)
    run_tasks()
    run = everyone.runs.get()
    assert run.method == DeliveryRun.Method.BROADCAST and run.line_request_id
    assert received(sim) == {"1": 4}
    assert "POST /v2/bot/message/broadcast" in sim.stats()["endpoints"]


def test_a_run_killed_at_every_point_resumes_with_no_duplicate_and_no_miss(
    sim: Sim, channel: Channel, author: Any, approver: Any, settings: Any
) -> None:
    make_residents(channel, 2600, sim=sim)
    delivery = draft(author, channel)
    delivery_submit(delivery, actor=author)
    delivery_approve(delivery, actor=approver)  # queues the task, which we do not run: the worker "died"
    run = delivery.runs.get()
    # 1. Killed while preparing: the first chunk written, the rest not.
    from madoguchi.messaging import sending

    settings.DELIVERY_STALE_SECONDS = 1
    original_chunk = sending.PREPARE_CHUNK
    sending.PREPARE_CHUNK = 1000
    try:
        residents = sending.run_recipients(run.delivery).order_by("pk")
        first = list(residents.values_list("pk", flat=True)[:1000])
        DeliveryRun.objects.filter(pk=run.pk).update(prepared_through=first[-1], recipients=1000, batches=2)
        DeliveryBatch.objects.bulk_create(
            [
                DeliveryBatch(
                    run=run,
                    seq=seq + 1,
                    variant="ja",
                    user_ids="\n".join(
                        residents.filter(pk__in=first).values_list("line_user_id", flat=True)[
                            seq * 500 : (seq + 1) * 500
                        ]
                    ),
                    size=500,
                )
                for seq in range(2)
            ]
        )
        DeliveryRun.objects.filter(pk=run.pk).update(prepare_heartbeat=timezone.now() - timedelta(seconds=5))
        # 2. Killed after LINE accepted batch 1 but before it was marked sent.
        batch = batch_claim()
        assert batch is not None and batch.seq == 1
        _send_without_marking(channel, batch)
        # 3. Killed after claiming batch 2, before calling LINE.
        batch2 = batch_claim()
        assert batch2 is not None
        DeliveryBatch.objects.filter(pk__in=[batch.pk, batch2.pk]).update(
            claimed_at=timezone.now() - timedelta(seconds=5)
        )
        # A new worker: the periodic job notices, re-queues, and the task finishes the run.
        assert runs_resume() >= 1
        run_tasks()
    finally:
        sending.PREPARE_CHUNK = original_chunk
    run.refresh_from_db()
    assert run.status == DeliveryRun.Status.DONE and run.sent == run.recipients == 2600
    assert received(sim) == {"1": 2600}
    # Batch 1 was sent again under its retry key: LINE answered 409 and delivered nothing twice.
    assert sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["statuses"].get("409") == 1
    # The batches are the record: no request row of the LINE integration's beside them.
    assert not OutboundRequest.objects.filter(kind=OutboundRequest.Kind.MULTICAST).exists()


def _send_without_marking(channel: Channel, batch: DeliveryBatch) -> None:
    from madoguchi.messaging.content import content_messages

    transport_for(channel).multicast(
        channel,
        user_ids=batch.user_ids.split("\n"),
        messages=content_messages(batch.run.delivery.content, "ja", {}),
        dedupe_key=batch.dedupe_key,
        recorded=False,
    )


def test_rate_limits_and_server_errors_back_off_and_lose_nothing(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 1500, sim=sim)
    sim.fault(path="/v2/bot/message/multicast", method="POST", status=429, count=2)
    sim.fault(path="/v2/bot/message/multicast", method="POST", status=500, count=1)
    delivery = approved(author, approver, draft(author, channel))
    run_tasks()
    assert received(sim) == {"1": 1500}
    statuses = sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["statuses"]
    assert statuses["429"] == 2 and statuses["500"] == 1 and statuses["200"] == 3
    assert delivery.runs.get().sent == 1500


def test_linesim_enforces_the_multicast_rate_and_we_stay_under_it(
    sim: Sim, channel: Channel, author: Any, approver: Any, settings: Any
) -> None:
    """LINE allows 200 multicasts a second; we pace below it, so none is refused."""
    make_residents(channel, 250 * 500 // 100, sim=sim)  # 1,250 residents
    settings.DELIVERY_SENDERS = 4
    delivery = draft(author, channel)
    # {name} makes every resident their own request: 1,250 requests, more than one second's worth.
    delivery.content = {"ja": {"messages": [{"type": "text", "text": "{name}さん、こんにちは"}]}}
    delivery.save()
    approved(author, approver, delivery)
    run_tasks()
    statuses = sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["statuses"]
    assert statuses == {"200": 1250}
    assert received(sim) == {"1": 1250}


def test_an_emergency_goes_before_a_delivery_already_waiting(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 1200, sim=sim)
    normal = approved(author, approver, draft(author, channel, "イベントのお知らせ"))
    run_prepare(normal.runs.get().pk)  # prepared, nothing sent yet
    emergency = draft(author, channel, "【緊急】避難指示", is_emergency=True)
    approved(author, approver, emergency)
    # A worker already busy with the normal run gives way as soon as an emergency is waiting.
    assert pump(normal.runs.get().pk, seconds=30).interrupted
    run_tasks()
    first = sim.messages(Resident.objects.order_by("pk").last().line_user_id)  # type: ignore[union-attr]
    assert [m["text"] for m in first] == ["【緊急】避難指示", "イベントのお知らせ"]
    assert received(sim) == {"2": 1200}


def test_a_dead_local_workers_batches_are_taken_over_at_once_others_when_stale(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 1600, sim=sim)
    delivery = approved(author, approver, draft(author, channel))
    run = delivery.runs.get()
    run_prepare(run.pk)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claimers = {
        1: f"{socket.gethostname()}:{dead.pid}:",  # killed, on this machine
        2: process_token(),  # alive: this process
        3: f"another-host.example:{dead.pid}:1",  # on another machine: only its age tells
    }
    for seq, claimer in claimers.items():
        DeliveryBatch.objects.filter(run=run, seq=seq).update(
            state=DeliveryBatch.State.SENDING, claimed_at=timezone.now(), claimed_by=claimer
        )
    assert claims_release_dead() == 1
    states = dict(run.batch_set.values_list("seq", "state"))
    assert (states[1], states[2], states[3], states[4]) == ("pending", "sending", "sending", "pending")
    DeliveryBatch.objects.filter(run=run, seq=3).update(claimed_at=timezone.now() - timedelta(seconds=120))
    assert claims_release_dead() == 1
    assert run.batch_set.get(seq=3).state == "pending"


def test_claim_order_puts_emergencies_first(sim: Sim, channel: Channel, author: Any, approver: Any) -> None:
    make_residents(channel, 10, sim=sim)
    normal = approved(author, approver, draft(author, channel, "イベント"))
    run_prepare(normal.runs.get().pk)
    emergency = approved(author, approver, draft(author, channel, "【緊急】", is_emergency=True))
    run_prepare(emergency.runs.get().pk)
    claimed = batch_claim()
    assert claimed is not None and claimed.run.delivery_id == emergency.pk


def test_a_less_urgent_batch_waits_while_an_emergency_batch_is_on_its_way(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    """Another sender's request could overtake the emergency's: a resident in both would read the
    event notice first. So nothing less urgent is handed out until the emergency's batch went."""
    make_residents(channel, 10, sim=sim)
    normal = approved(author, approver, draft(author, channel, "イベント"))
    run_prepare(normal.runs.get().pk)
    emergency = approved(author, approver, draft(author, channel, "【緊急】", is_emergency=True))
    run_prepare(emergency.runs.get().pk)
    urgent = batch_claim()
    assert urgent is not None and urgent.run.delivery_id == emergency.pk
    with pytest.raises(UrgentOnItsWay):
        batches_claim()
    assert batch_claim() is None
    assert batch_send(urgent)
    claimed = batch_claim()
    assert claimed is not None and claimed.run.delivery_id == normal.pk


def test_cancel_stops_what_is_not_sent(sim: Sim, channel: Channel, author: Any, approver: Any) -> None:
    """A cancel stops every batch not yet on its way: waiting ones, and those a sender already
    claimed (it looks again just before each request); nothing brings them back."""
    make_residents(channel, 1200, sim=sim)
    delivery = approved(author, approver, draft(author, channel))
    run = delivery.runs.get()
    run_prepare(run.pk)
    held = batches_claim()  # a sender thread holds all three batches, about to send them
    assert [batch.seq for batch in held] == [1, 2, 3]
    delivery_cancel(delivery, actor=approver)
    assert [batch_send(batch) for batch in held] == [False, False, False]
    run_tasks()
    assert received(sim) == {"0": 1200}
    assert "POST /v2/bot/message/multicast" not in sim.stats()["endpoints"]
    assert set(run.batch_set.values_list("state", flat=True)) == {"cancelled"}
    # Neither a restarted worker nor the periodic job resurrects them.
    assert claims_release_dead() == 0
    assert batch_claim() is None and next_pending_batch() is None
    assert runs_resume() == 0
    run_tasks()
    assert received(sim) == {"0": 1200}
    run.refresh_from_db()
    assert run.status == DeliveryRun.Status.CANCELLED and run.sent == 0
    with pytest.raises(DeliveryError):
        delivery_cancel(delivery, actor=approver)


def test_cancel_of_a_run_a_dead_worker_held_never_sends_its_batches(
    sim: Sim, channel: Channel, author: Any, approver: Any
) -> None:
    make_residents(channel, 1200, sim=sim)
    delivery = approved(author, approver, draft(author, channel))
    run = delivery.runs.get()
    run_prepare(run.pk)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    DeliveryBatch.objects.filter(run=run, seq__in=[1, 2]).update(
        state=DeliveryBatch.State.SENDING,
        claimed_at=timezone.now() - timedelta(hours=1),
        claimed_by=f"{socket.gethostname()}:{dead.pid}:",
    )
    # Cancelled the way an older cancel left it: the claimed batches still "sending".
    DeliveryRun.objects.filter(pk=run.pk).update(status=DeliveryRun.Status.CANCELLED)
    DeliveryBatch.objects.filter(run=run, state=DeliveryBatch.State.PENDING).update(
        state=DeliveryBatch.State.CANCELLED
    )
    assert claims_release_dead() == 0
    assert set(run.batch_set.values_list("state", flat=True)) == {"cancelled"}
    assert runs_resume() == 0
    run_tasks()
    assert received(sim) == {"0": 1200}


def test_cancel_while_a_worker_sends_stops_the_batches_it_holds(
    sim: Sim, channel: Channel, author: Any, approver: Any, settings: Any, background_worker: Any
) -> None:
    """A real worker sending (each multicast answered after 0.4 s): cancelled after its first
    batch went out, it sends at most the one request already on its way, and linesim received
    exactly what the batches marked sent say."""
    settings.DELIVERY_SENDERS = 1  # one request at a time, so "on its way" is one batch
    make_residents(channel, 4000, sim=sim)  # 8 batches; a sender claims 4 at once
    sim.fault(path="/v2/bot/message/multicast", method="POST", status=None, count=20, delay=0.4)
    delivery = approved(author, approver, draft(author, channel))
    run = delivery.runs.get()
    wait_for(lambda: run.batch_set.filter(state=DeliveryBatch.State.SENT).exists(), 30, "a first batch sent")
    delivery_cancel(delivery, actor=approver)
    sent_at_cancel = run.batch_set.filter(state=DeliveryBatch.State.SENT).count()
    wait_for(lambda: not run.batch_set.filter(state=DeliveryBatch.State.SENDING).exists(), 30, "the sender")
    time.sleep(1.0)  # anything the worker still wanted to send would have gone by now
    sent = run.batch_set.filter(state=DeliveryBatch.State.SENT)
    assert set(run.batch_set.values_list("state", flat=True)) == {"sent", "cancelled"}
    assert sent.count() <= sent_at_cancel + 1
    got = received(sim)
    assert got.get("1", 0) == sum(sent.values_list("size", flat=True)) and set(got) <= {"0", "1"}
    assert sim.stats()["endpoints"]["POST /v2/bot/message/multicast"]["requests"] == sent.count()
    run.refresh_from_db()
    assert run.status == DeliveryRun.Status.CANCELLED
    wait_for(lambda: DeliveryRun.objects.get(pk=run.pk).sent == got.get("1", 0), 10, "the run's figures")


def test_scheduled_and_recurring(sim: Sim, channel: Channel, author: Any, approver: Any) -> None:
    make_residents(channel, 2, sim=sim)
    at = timezone.now() + timedelta(hours=1)
    delivery = draft(author, channel, scheduled_at=at, recurrence="weekly")
    delivery = approved(author, approver, delivery)
    assert delivery.status == Delivery.Status.APPROVED and delivery.runs.count() == 0
    assert deliveries_due() == 0
    planned = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(next_run_at=planned)  # an hour later
    assert deliveries_due() == 1
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.APPROVED  # waiting for next week
    assert delivery.next_run_at is not None and delivery.next_run_at - planned == timedelta(weeks=1)
    assert received(sim) == {"1": 2}
    with pytest.raises(DeliveryError):
        draft(author, channel, "【緊急】", is_emergency=True, recurrence="daily")


def test_quota_warning(sim: Sim, channel: Channel, author: Any) -> None:
    sim.configure(quota=100)
    delivery = draft(author, channel)
    assert quota_warning(delivery, 50) == ""
    assert "今月の送信上限を超えます" in quota_warning(delivery, 150)


def test_quota_counts_recipients_not_bubbles(sim: Sim, channel: Channel, author: Any, approver: Any) -> None:
    """LINE counts one message per recipient, however many of the five bubbles it carries."""
    five = {"ja": {"messages": [{"type": "text", "text": f"お知らせ {n}"} for n in range(1, 6)]}}
    sim.configure(quota=100)
    delivery = draft(author, channel, content=five)
    assert quota_warning(delivery, 100) == ""  # 100 recipients × 5 bubbles is 100, not 500
    warning = quota_warning(delivery, 101)
    assert "残り 100 通" in warning and "約 101 通" in warning
    # linesim counts the same way: a delivery of five bubbles to 30 friends uses 30.
    make_residents(channel, 30, sim=sim)
    approved(author, approver, delivery)
    run_tasks()
    assert received(sim) == {"5": 30}
    assert transport_for(channel).message_quota(channel).used == 30
    assert "今月の送信上限を超えます" in quota_warning(delivery, 71)
    assert quota_warning(delivery, 70) == ""


def test_a_change_after_submission_needs_approval_again(channel: Channel, author: Any, approver: Any) -> None:
    delivery = draft(author, channel)
    delivery_submit(delivery, actor=author)
    delivery = delivery_save(
        actor=author,
        channel=channel,
        title="変更",
        content=content_from_text("変更後"),
        segment=delivery.segment,
        delivery=delivery,
    )
    assert delivery.status == Delivery.Status.DRAFT
    with pytest.raises(DeliveryError):
        delivery_approve(delivery, actor=approver)
    assert delivery.runs.count() == 0


def test_an_emergency_to_an_interest_segment_reaches_everyone_in_the_rest_of_it(
    sim: Sim, channel: Channel, author: Any, approver: Any, places: dict[str, Any]
) -> None:
    """ "Any of: interest 防災, or district 南": a normal delivery reaches those; an emergency
    ignores the interest, so every friend gets it (never the blocked)."""
    bousai, minami, other = (make_residents(channel, 1, sim=sim)[0] for _ in range(3))
    bousai.interests.set([places["bousai"]])
    Resident.objects.filter(pk=minami.pk).update(district=places["minami"])
    blocked = make_residents(channel, 1, sim=sim, status=Resident.Status.BLOCKED)[0]
    blocked.interests.set([places["bousai"]])
    conditions = {"any": [{"field": "interest", "in": ["bousai"]}, {"field": "district", "in": ["minami"]}]}
    segment = segment_save(actor=author, name="防災か南", conditions=conditions)
    approved(author, approver, draft(author, channel, "訓練のお知らせ", segment=segment))
    approved(author, approver, draft(author, channel, "【緊急】避難指示", segment=segment, is_emergency=True))
    run_tasks()
    texts = {
        r.pk: [m["text"] for m in sim.messages(r.line_user_id)] for r in (bousai, minami, other, blocked)
    }
    assert sorted(texts[bousai.pk]) == sorted(texts[minami.pk]) == ["【緊急】避難指示", "訓練のお知らせ"]
    assert texts[other.pk] == ["【緊急】避難指示"]
    assert texts[blocked.pk] == []
