"""Putting a resident into a scenario flow and taking them out (used by feature apps)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from madoguchi.chatbot.models import FlowState
from madoguchi.residents.models import Resident

# A resident who walked away mid-flow starts fresh after this long.
FLOW_IDLE_LIMIT = timedelta(hours=24)


def flow_start(resident: Resident, flow: str, step: str, data: dict[str, Any] | None = None) -> FlowState:
    state, _ = FlowState.objects.update_or_create(
        resident=resident, defaults={"flow": flow, "step": step, "data": data or {}}
    )
    return state


def flow_end(resident: Resident) -> None:
    FlowState.objects.filter(resident=resident).delete()


def flow_active(resident: Resident) -> FlowState | None:
    state = FlowState.objects.filter(resident=resident).first()
    if state is not None and timezone.now() - state.updated_at > FLOW_IDLE_LIMIT:
        state.delete()
        return None
    return state
