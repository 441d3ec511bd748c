"""`madoguchi worker` supervises its working child: a child that dies is replaced at once, from
warm memory; stopping the supervisor stops the child, and killing it kills the child too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from madoguchi.channels.line.models import InboundEvent
from tests.conftest import wait_for
from tests.line.test_inbound_processing import USER, _database_url

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the supervisor forks")


def child_of(parent: int) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
            except OSError:
                continue
            if int(stat[1]) == parent and stat[0] != "Z":
                return int(entry)
    return None


def alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return False
    return stat[0] != "Z"


@pytest.fixture
def worker(sim, channel):
    env = {**os.environ, "DATABASE_URL": _database_url(), "MADOGUCHI_LINE_API_HOST": sim.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "madoguchi", "worker", "--tick", "0.5", "--interval", "0.05"], env=env
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_a_dead_child_is_replaced_at_once_and_the_new_one_answers(sim, worker):
    first = wait_for(lambda: child_of(worker.pid), what="the first child")
    sim.text(USER, "ヘルプ")
    wait_for(lambda: InboundEvent.objects.filter(status=InboundEvent.Status.DONE).count() == 1)
    os.kill(first, signal.SIGKILL)
    killed_at = time.monotonic()
    second = wait_for(lambda: (child := child_of(worker.pid)) != first and child, what="a new child")
    assert time.monotonic() - killed_at < 2  # forked from the warm supervisor, not started cold
    sim.text(USER, "こんにちは")
    wait_for(lambda: InboundEvent.objects.filter(status=InboundEvent.Status.DONE).count() == 2)
    assert alive(second) and worker.poll() is None


def test_stopping_the_supervisor_stops_the_child(worker):
    child = wait_for(lambda: child_of(worker.pid), what="the child")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    wait_for(lambda: not alive(child), what="the child to stop")


def test_killing_the_supervisor_kills_the_child(worker):
    child = wait_for(lambda: child_of(worker.pid), what="the child")
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    wait_for(lambda: not alive(child), what="the orphaned child to die")
