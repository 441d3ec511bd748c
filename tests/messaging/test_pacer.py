"""The delivery pacer: LINE's multicast limit per second, with a few missed slots caught up."""

from __future__ import annotations

import itertools
import time

from madoguchi.messaging.sending import Pacer


def starts(pacer: Pacer, count: int) -> list[float]:
    times = []
    for _ in range(count):
        pacer.wait(1)
        times.append(time.monotonic())
    return times


def test_requests_are_spaced_at_the_rate_once_the_catch_up_is_spent():
    pacer = Pacer(rate=50, catch_up=3)  # a slot every 20 ms
    pacer.wait(1)
    time.sleep(0.2)  # ten slots go by with nobody sending
    times = starts(pacer, 12)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Three of the missed slots are used at once, not all ten; then one every 20 ms.
    assert all(gap < 0.01 for gap in gaps[:3])
    assert all(gap > 0.015 for gap in gaps[4:])


def test_no_second_holds_more_than_the_rate_and_the_catch_up():
    pacer = Pacer(rate=100, catch_up=3)
    pacer.wait(1)
    time.sleep(0.1)
    times = starts(pacer, 130)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 100 + 3 + 1


def test_channels_are_paced_apart():
    pacer = Pacer(rate=10, catch_up=0)
    started = time.monotonic()
    pacer.wait(1)
    pacer.wait(2)  # another channel's first request does not wait for the first channel's slot
    assert time.monotonic() - started < 0.05
