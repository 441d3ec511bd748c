"""Saving what a department owns (keyword replies, FAQ entries) from a console form."""

from __future__ import annotations

from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from madoguchi.accounts.access import staff_profile
from madoguchi.console.access import client_ip
from madoguchi.core.audit import audit_record


def department_item_save(
    request: HttpRequest, form: ModelForm, *, existing: Model | None, action: str
) -> Model:
    """Save the form; a new item belongs to its author's department; the write is audited
    as ``<action>.created`` or ``<action>.changed``."""
    saved = form.save(commit=False)
    profile = staff_profile(request.user)
    if existing is None and profile is not None:
        saved.department_id = profile.department_id
    saved.save()
    audit_record(
        action=f"{action}.changed" if existing is not None else f"{action}.created",
        actor=request.user,
        obj=saved,
        ip_address=client_ip(request),
        data={"fields": form.changed_data},
    )
    return saved
