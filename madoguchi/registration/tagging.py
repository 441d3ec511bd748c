"""Tags set by what residents do (docs/registration.md lists them).

子育て世帯: a resident who registered a child's birthdate. It follows the registration: removing
every child removes it again. Staff may still set and remove it by hand in the console.
"""

from __future__ import annotations

from madoguchi.residents.models import Resident, Tag
from madoguchi.residents.services import resident_tag_add, resident_tag_remove

CHILD_REARING = "子育て世帯"
# Stored as written (staff read it in Japanese), whatever language the resident is answered in.
CHILD_REARING_DESCRIPTION = "お子さまの生年月日を登録した住民 (登録で自動的に付きます)"


def tag_households_with_children(resident: Resident, first: bool) -> None:
    """A registration hook (residents.services.REGISTRATION_HOOKS): runs inside the registration's
    transaction, so the tag and the registration are saved together."""
    if resident.children.exists():
        tag = resident_tag_add(resident, CHILD_REARING)
        if not tag.description:
            Tag.objects.filter(pk=tag.pk).update(description=CHILD_REARING_DESCRIPTION)
        return
    tag_or_none = resident.tags.filter(name=CHILD_REARING).first()
    if tag_or_none is not None:
        resident_tag_remove(resident, tag_or_none)
