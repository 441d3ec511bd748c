"""Segment conditions: a small tree of and / or / not over what residents registered.

    {"all": [cond, …]}   every condition holds      {"any": [cond, …]}   at least one holds
    {"not": cond}        the condition does not hold
    {"field": "district", "in": ["kita", "minami"]}           district, age_band, audience,
    {"field": "interest", "in": ["bousai"]}                   interest, tag, language
    {"field": "friend_since", "after": "2026-04-01"}         and/or "before"
    {"field": "registered", "is": true}                       registered, has_children

An empty tree ({} or {"all": []}) is every friend; an empty {"any": []} is nobody (so
{"not": {"all": []}} is nobody and {"not": {"any": []}} everyone). For an emergency an interest
condition never narrows who is reached: it holds for everyone (and its "not" too). Blocked
residents and the counseling line are never counted, whatever the conditions say.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.core.models import Channel
from madoguchi.residents.models import Child, Resident, ResidentTag

SET_FIELDS = {
    "district": gettext_lazy("地区"),
    "age_band": gettext_lazy("年代"),
    "audience": gettext_lazy("区分"),
    "interest": gettext_lazy("関心分野"),
    "tag": gettext_lazy("タグ"),
    "language": gettext_lazy("言語"),
}
FLAG_FIELDS = {
    "registered": gettext_lazy("登録済み"),
    "has_children": gettext_lazy("子どもの生年月日を登録"),
}
DATE_FIELDS = {"friend_since": gettext_lazy("友だち追加日")}
MAX_DEPTH = 6
MAX_CONDITIONS = 100
MAX_VALUES = 200


class SegmentError(ValueError):
    """Conditions that cannot be evaluated; the message says which, in Japanese, for staff."""


def conditions_validate(tree: Any) -> dict[str, Any]:
    """The tree, checked; raises SegmentError naming what is wrong."""
    if tree in (None, {}):
        return {"all": []}
    count = [0]
    _check(tree, depth=0, count=count)
    return dict(tree)


def _check(node: Any, *, depth: int, count: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise SegmentError(_("条件の入れ子が深すぎます（%(max)s 段まで）。") % {"max": MAX_DEPTH})
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise SegmentError(_("条件が多すぎます（%(max)s 個まで）。") % {"max": MAX_CONDITIONS})
    if not isinstance(node, dict):
        raise SegmentError(_("条件の形が正しくありません。"))
    if "all" in node or "any" in node:
        items = node.get("all", node.get("any"))
        if len(node) != 1 or not isinstance(items, list):
            raise SegmentError(_("「すべて」「いずれか」には条件の一覧を指定してください。"))
        for item in items:
            _check(item, depth=depth + 1, count=count)
        return
    if "not" in node:
        if len(node) != 1:
            raise SegmentError(_("「でない」には条件を一つ指定してください。"))
        _check(node["not"], depth=depth + 1, count=count)
        return
    field = node.get("field")
    if field in SET_FIELDS:
        values = node.get("in")
        if (
            not isinstance(values, list)
            or not values
            or len(values) > MAX_VALUES
            or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values)
        ):
            raise SegmentError(
                _("「%(field)s」の値を一つ以上選んでください。") % {"field": SET_FIELDS[field]}
            )
        return
    if field in FLAG_FIELDS:
        if not isinstance(node.get("is"), bool):
            raise SegmentError(
                _("「%(field)s」は はい か いいえ で指定してください。") % {"field": FLAG_FIELDS[field]}
            )
        return
    if field in DATE_FIELDS:
        bounds = {key: node.get(key) for key in ("after", "before") if node.get(key) not in (None, "")}
        if not bounds:
            raise SegmentError(_("友だち追加日の範囲を指定してください。"))
        for value in bounds.values():
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise SegmentError(_("日付は 2026-04-01 の形で指定してください。")) from None
        return
    raise SegmentError(_("知らない条件です: %(field)s") % {"field": str(field)[:50]})


def _day_start(value: str) -> datetime:
    return timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))


def _language_q(values: list[str]) -> Q:
    q = Q()
    for value in values:
        base = value.lower()
        if base == "ja":
            # Residents who never chose a language are read in Japanese.
            q |= (
                Q(language="")
                | Q(language__iexact="ja")
                | Q(language__istartswith="ja-") & ~Q(language__iexact="ja-easy")
            )
        elif base == "ja-easy":
            q |= Q(language__iexact="ja-easy")
        else:
            q |= Q(language__iexact=base) | Q(language__istartswith=base + "-")
    return q


# A compiled condition: True (every resident), False (nobody) or a Q that is neither. Django's
# empty Q() cannot stand for "everyone": `Q(pk__in=[]) | Q()` is still nobody and `~Q()` is
# everyone, so the constants are kept apart until the end.
Compiled = bool | Q


def _compile(node: dict[str, Any], *, ignore_interests: bool, positive: bool = True) -> Compiled:
    """`positive` is False under an odd number of `not`s (for interests in an emergency)."""
    if "all" in node:
        parts = [_compile(item, ignore_interests=ignore_interests, positive=positive) for item in node["all"]]
        if any(part is False for part in parts):
            return False
        queries = [part for part in parts if not isinstance(part, bool)]
        if not queries:
            return True  # an empty "all" is everyone
        q = queries[0]
        for part in queries[1:]:
            q &= part
        return q
    if "any" in node:
        parts = [_compile(item, ignore_interests=ignore_interests, positive=positive) for item in node["any"]]
        if any(part is True for part in parts):
            return True
        queries = [part for part in parts if not isinstance(part, bool)]
        if not queries:
            return False  # an empty "any" is nobody
        q = queries[0]
        for part in queries[1:]:
            q |= part
        return q
    if "not" in node:
        inner = _compile(node["not"], ignore_interests=ignore_interests, positive=not positive)
        return (not inner) if isinstance(inner, bool) else ~inner
    field = node["field"]
    values = node.get("in", [])
    if field == "district":
        return Q(district__code__in=values)
    if field == "age_band":
        return Q(age_band__in=values)
    if field == "audience":
        return Q(audience__in=values)
    if field == "language":
        return _language_q(values)
    if field == "interest":
        if ignore_interests:
            # An emergency reaches people whatever they chose to hear about: an interest
            # condition never narrows it. It holds for everyone, and under a "not" for nobody,
            # so that the "not" holds for everyone.
            return positive
        through = Resident.interests.through
        return Q(Exists(through.objects.filter(resident_id=OuterRef("pk"), interest__code__in=values)))
    if field == "tag":
        return Q(Exists(ResidentTag.objects.filter(resident_id=OuterRef("pk"), tag__name__in=values)))
    if field == "registered":
        return Q(registered_at__isnull=not node["is"])
    if field == "has_children":
        exists = Q(Exists(Child.objects.filter(resident_id=OuterRef("pk"))))
        return exists if node["is"] else ~exists
    if field == "friend_since":
        q = Q()
        if node.get("after"):
            q &= Q(followed_at__gte=_day_start(node["after"]))
        if node.get("before"):
            q &= Q(followed_at__lt=_day_start(node["before"]))
        return q
    raise SegmentError(field)


def conditions_q(tree: dict[str, Any], *, emergency: bool = False) -> Q:
    """The (checked) tree as one filter over residents: Q() for everyone, an empty match for
    nobody."""
    compiled = _compile(tree, ignore_interests=emergency)
    if compiled is True:
        return Q()
    if compiled is False:
        return Q(pk__in=[])
    return compiled


def reachable_residents(channel: Channel) -> QuerySet[Resident]:
    """Friends we may send to: not blocked, not anonymised."""
    return Resident.objects.filter(channel=channel, status=Resident.Status.ACTIVE, anonymised_at=None)


def segment_residents(
    channel: Channel,
    conditions: dict[str, Any] | None,
    *,
    topic_code: str | None = None,
    emergency: bool = False,
) -> QuerySet[Resident]:
    """The residents a delivery reaches. A topic limits it to those who chose that interest; an
    emergency ignores topics and interest conditions, never blocks."""
    tree = conditions_validate(conditions or {})
    residents = reachable_residents(channel).filter(conditions_q(tree, emergency=emergency))
    if topic_code and not emergency:
        through = Resident.interests.through
        residents = residents.filter(
            Exists(through.objects.filter(resident_id=OuterRef("pk"), interest__code=topic_code))
        )
    return residents


def conditions_describe(tree: dict[str, Any]) -> str:
    """A one-line Japanese reading of the conditions, for lists and approval pages."""
    if not tree or tree == {"all": []}:
        return _("友だち全員")
    return _describe(tree)


def _describe(node: dict[str, Any]) -> str:
    if "all" in node:
        return (
            "(" + _(" かつ ").join(_describe(item) for item in node["all"]) + ")"
            if node["all"]
            else _("全員")
        )
    if "any" in node:
        return (
            "(" + _(" または ").join(_describe(item) for item in node["any"]) + ")"
            if node["any"]
            else _("なし")
        )
    if "not" in node:
        return _("「%(inner)s」でない") % {"inner": _describe(node["not"])}
    field = node["field"]
    if field in SET_FIELDS:
        return f"{SET_FIELDS[field]}: {'・'.join(node['in'])}"
    if field in FLAG_FIELDS:
        return f"{FLAG_FIELDS[field]}: {_('はい') if node['is'] else _('いいえ')}"
    parts = []
    if node.get("after"):
        parts.append(_("%(date)s 以降") % {"date": node["after"]})
    if node.get("before"):
        parts.append(_("%(date)s より前") % {"date": node["before"]})
    return f"{DATE_FIELDS['friend_since']}: {' '.join(parts)}"
