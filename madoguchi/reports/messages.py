"""What residents are told about their reports, in their language (call inside
`translation.override(resident.reply_language)`)."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.reports.models import Category, Report, Update


def category_label(category: Category) -> str:
    """The category's name in the resident's language where the city wrote one."""
    language = (get_language() or "ja").split("-")[0]
    if language == "en" and category.name_en:
        return category.name_en[:20]
    return category.name


def update_text(update: Update) -> str:
    """What a follower reads in LINE (called inside their language)."""
    report = update.report
    head = _("受付番号 %(number)s (%(category)s) の状況をお知らせします。") % {
        "number": report.number,
        "category": category_label(report.category),
    }
    if update.kind == Update.Kind.MERGED:
        return (
            head
            + "\n"
            + _(
                "同じ場所の通報 (受付番号 %(number)s) とまとめて対応します。"
                "今後はそちらの状況をお知らせします。"
            )
            % {"number": update.text}
        )
    lines = [head, _("状態: %(status)s") % {"status": status_label(update.status)}]
    if update.status == Report.Status.REJECTED and report.status_reason:
        lines.append(_("理由: %(reason)s") % {"reason": report.status_reason})
    if update.text:
        lines.append(update.text)
    if update.status == Report.Status.DONE:
        lines.append(_("ご協力ありがとうございました。"))
    return "\n".join(lines)


def status_label(status: str) -> str:
    labels = {
        Report.Status.RECEIVED: _("受付"),
        Report.Status.IN_PROGRESS: _("対応中"),
        Report.Status.DONE: _("完了"),
        Report.Status.REJECTED: _("対応不可"),
        Report.Status.MERGED: _("重複 (統合済み)"),
        Report.Status.DRAFT: _("入力中"),
    }
    return str(labels.get(status, status))  # type: ignore[call-overload]
