"""Tags on residents: staff add and remove them on the resident's page; the list shows each tag
with how many residents carry it. Writes go through residents.services (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.accounts.roles import Perm
from madoguchi.console.access import staff_view
from madoguchi.residents.models import Resident, Tag
from madoguchi.residents.selectors import tags_with_counts, visible_residents
from madoguchi.residents.services import resident_tag_add, resident_tag_remove

MAX_TAG = 100


@staff_view(Perm.RESIDENTS_VIEW)
def tags(request: HttpRequest) -> HttpResponse:
    return render(request, "console/tags.html", {"tags": tags_with_counts(request.user)})


def _resident(request: HttpRequest, resident_id: int) -> Resident:
    return get_object_or_404(visible_residents(request.user), pk=resident_id, anonymised_at=None)


@require_POST
@staff_view(Perm.RESIDENTS_TAG)
def resident_tag_add_view(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = _resident(request, resident_id)
    name = " ".join(request.POST.get("name", "").split())
    if not name or len(name) > MAX_TAG:
        messages.error(request, _("タグは 1〜%(max)s 文字で入力してください。") % {"max": MAX_TAG})
    else:
        tag = resident_tag_add(resident, name, actor=request.user)  # type: ignore[arg-type]  # signed in
        messages.success(request, _("タグ「%(tag)s」を付けました。") % {"tag": tag.name})
    return redirect("console:resident", resident_id=resident.pk)


@require_POST
@staff_view(Perm.RESIDENTS_TAG)
def resident_tag_remove_view(request: HttpRequest, resident_id: int, tag_id: int) -> HttpResponse:
    resident = _resident(request, resident_id)
    tag = get_object_or_404(Tag, pk=tag_id)
    resident_tag_remove(resident, tag, actor=request.user)  # type: ignore[arg-type]  # signed in
    messages.success(request, _("タグ「%(tag)s」を外しました。") % {"tag": tag.name})
    return redirect("console:resident", resident_id=resident.pk)
