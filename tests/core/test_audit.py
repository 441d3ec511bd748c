"""The audit log: append-only, hash-chained, verified by a command; retention keeps it verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from madoguchi.core.audit import audit_purge_before, audit_record, audit_verify
from madoguchi.core.models import AuditEntry


@pytest.fixture
def entries(db):
    return [audit_record(action=f"test.action.{n}", data={"n": n, "名前": "山田"}) for n in range(5)]


def test_an_untouched_chain_verifies(entries, capsys):
    call_command("audit_verify")
    assert "intact: 5 entries" in capsys.readouterr().out


def test_a_changed_row_is_detected(entries):
    with connection.cursor() as cursor:  # someone with database access edits a row
        cursor.execute(
            "UPDATE core_auditentry SET actor_label = %s WHERE id = %s", ["someone-else", entries[2].pk]
        )
    with pytest.raises(CommandError, match=f"entry {entries[2].pk}: its content was changed"):
        call_command("audit_verify")


def test_a_removed_row_is_detected(entries):
    AuditEntry.objects.filter(pk=entries[1].pk).delete()  # a bulk delete, bypassing the model
    report = audit_verify()
    assert report.broken_at == entries[2].pk and "removed or inserted" in report.problem


def test_removing_the_newest_rows_is_detected(entries):
    AuditEntry.objects.filter(pk=entries[-1].pk).delete()
    assert "newest entries were removed" in audit_verify().problem


def test_entries_refuse_to_be_changed_or_deleted_through_the_model(entries):
    entry = entries[0]
    entry.action = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_retention_purge_keeps_the_rest_verifiable(entries):
    old = timezone.now() - timedelta(days=3000)
    AuditEntry.objects.filter(pk__in=[e.pk for e in entries[:3]]).update(at=old)
    # Changing `at` breaks those rows' hashes, but they are exactly the ones the purge removes.
    assert audit_purge_before(timezone.now() - timedelta(days=10)) == 3
    report = audit_verify()
    assert report.problem == "", report
    assert report.checked == 3  # two kept and the purge's own entry
