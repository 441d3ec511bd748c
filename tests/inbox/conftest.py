from __future__ import annotations

from typing import Any

import pytest

from madoguchi.core.models import Channel
from tests.conftest import SIM_TOKEN, Sim

COUNSELING_CHANNEL_ID = "2000000002"
COUNSELING_SECRET = "linesim-counseling-secret"
COUNSELING_TOKEN = "linesim-counseling-token"


@pytest.fixture(autouse=True)
def counter_open(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter is open around the clock unless a test says otherwise (tests run any day)."""
    settings.MADOGUCHI_OFFICE_HOURS = "mon-sun 00:00-24:00"
    settings.MADOGUCHI_COUNSELING_HOURS = "mon-sun 00:00-24:00"
    settings.MADOGUCHI_CLOSED_DATES = []
    monkeypatch.setattr("madoguchi.inbox.hours.jpholiday.is_holiday", lambda day: False)


@pytest.fixture
def counseling_channel(sim: Sim, channel: Channel, live_server: Any) -> Channel:
    """A second LINE account, the city's counseling line, in linesim and in Madoguchi."""
    sim.http.post(
        "/_sim/channels",
        json={
            "channelId": COUNSELING_CHANNEL_ID,
            "channelSecret": COUNSELING_SECRET,
            "accessToken": COUNSELING_TOKEN,
            "webhookUrl": f"{live_server.url}/line/soudan/webhook",
        },
    ).raise_for_status()
    assert COUNSELING_TOKEN != SIM_TOKEN
    return Channel.objects.create(
        slug="soudan",
        name="みどり市 こころの相談",
        provider_channel_id=COUNSELING_CHANNEL_ID,
        channel_secret=COUNSELING_SECRET,
        access_token=COUNSELING_TOKEN,
        is_confidential=True,
    )
