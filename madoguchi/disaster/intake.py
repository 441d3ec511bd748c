"""Alert intake: fetch or read a file, store the alert once per identifier, and let the city's
rules turn it into deliveries (through madoguchi.messaging, below this app's layer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from madoguchi.core.audit import audit_record
from madoguchi.disaster.alerts import SEVERITIES, AlertRefused, ParsedAlert, parse_alert
from madoguchi.disaster.models import Alert, AlertDelivery, AlertRule
from madoguchi.messaging.content import content_from_text
from madoguchi.messaging.models import Delivery
from madoguchi.messaging.services import delivery_save, delivery_send_at_once, delivery_submit, segment_save

# Statuses of a real alert (CAP status, JMA Control/Status): only these are sent at once.
ACTUAL = ("Actual", "通常")

# The four messages a city sends most in a disaster; {headline} {areas} {event} are filled in.
TEMPLATES = {
    "elderly": (
        "【警戒レベル3 高齢者等避難】",
        "【警戒レベル3 高齢者等避難】\n{event}が発表されました。{areas}\n"
        "高齢の方、障害のある方など避難に時間のかかる方と、その支援をする方は避難してください。"
        "それ以外の方も、避難の準備をしてください。\n{headline}",
    ),
    "evacuate": (
        "【警戒レベル4 避難指示】",
        "【警戒レベル4 避難指示】\n{event}が発表されました。{areas}\n"
        "危険な場所にいる方は全員、ただちに避難してください。"
        "避難所への移動がかえって危険なときは、近くの安全な場所や建物の高いところへ。\n{headline}",
    ),
    "emergency": (
        "【警戒レベル5 緊急安全確保】",
        "【警戒レベル5 緊急安全確保】\n{event}。{areas}\n"
        "すでに災害が発生しているおそれがあります。ただちに命を守る行動をとってください。\n{headline}",
    ),
    "shelters_open": (
        "【避難所開設】",
        "【避難所開設】\n{event}を受けて、避難所を開設しました。{areas}\n"
        "開設中の避難所は、このトークで「避難所」と送ると近い順にお知らせします。\n{headline}",
    ),
}


@dataclass
class IngestResult:
    alert: Alert
    created: bool
    deliveries: list[Delivery] = field(default_factory=list)


def rule_matches(rule: AlertRule, alert: Alert) -> bool:
    if rule.kind and rule.kind != alert.kind:
        return False
    if SEVERITIES.index(alert.severity) < SEVERITIES.index(rule.min_severity):
        return False
    return not rule.codes or bool(set(rule.codes) & set(alert.areas))


def _text_for(rule: AlertRule, alert: Alert) -> tuple[str, str]:
    title, body = TEMPLATES[rule.template]
    names = "、".join(alert.area_names[:8])
    areas = f"対象: {names}。" if names else ""
    text = body.format(event=alert.event, areas=areas, headline=alert.headline).strip()
    return f"{title} {alert.event}"[:200], text[:4900]


def alert_ingest(data: bytes, *, origin: str = "", actor: Any = None) -> IngestResult:
    """Parse and store an alert; an identifier already stored is ignored (feeds repeat). Each
    active rule it matches makes one delivery draft, an emergency delivery waiting for a second
    person's approval, or (rules marked immediate, actual alerts only) an emergency delivery sent
    at once, owned by the rule's author. Raises AlertRefused."""
    parsed = parse_alert(data)
    if not parsed.identifier:
        raise AlertRefused("識別子(identifier)がありません")
    existing = Alert.objects.filter(identifier=parsed.identifier).first()
    if existing is not None:
        return IngestResult(existing, False)
    try:
        with transaction.atomic():
            alert = _store(parsed, data, origin)
            deliveries = _apply_rules(alert)
            audit_record(
                action="disaster.alert.received",
                actor=actor,
                obj=alert,
                data={
                    "identifier": alert.identifier[:100],
                    "kind": alert.kind,
                    "deliveries": len(deliveries),
                },
            )
    except IntegrityError:  # the same alert stored by a concurrent ingest
        return IngestResult(Alert.objects.get(identifier=parsed.identifier), False)
    return IngestResult(alert, True, deliveries)


def _store(parsed: ParsedAlert, data: bytes, origin: str) -> Alert:
    return Alert.objects.create(
        source=parsed.source,
        identifier=parsed.identifier,
        sent=parsed.sent,
        kind=parsed.kind[:50],
        event=parsed.event[:200],
        severity=parsed.severity,
        headline=parsed.headline,
        areas=parsed.areas[:500],
        area_names=parsed.area_names[:500],
        status=parsed.status[:20],
        origin=origin[:300],
        raw=data,
    )


def _apply_rules(alert: Alert) -> list[Delivery]:
    made: list[Delivery] = []
    for rule in AlertRule.objects.filter(is_active=True).select_related("channel", "segment", "owner"):
        if not rule_matches(rule, alert):
            continue
        title, text = _text_for(rule, alert)
        emergency = rule.action in (AlertRule.Action.EMERGENCY, AlertRule.Action.IMMEDIATE)
        delivery = delivery_save(
            actor=rule.owner,
            channel=rule.channel,
            title=title,
            content=content_from_text(text),
            target=Delivery.Target.SEGMENT if rule.segment else Delivery.Target.ALL,
            segment=rule.segment,
            is_emergency=emergency,
        )
        if rule.action == AlertRule.Action.IMMEDIATE and alert.status in ACTUAL:
            delivery = delivery_send_at_once(
                delivery, actor=rule.owner, reason=f"警報の規則 {rule.pk}: ただちに送る(警報 {alert.pk})"
            )
        elif emergency:  # an exercise or a test waits for a person even under an immediate rule
            delivery = delivery_submit(delivery, actor=rule.owner)
        AlertDelivery.objects.create(alert=alert, rule=rule, delivery=delivery)
        made.append(delivery)
    return made


# Rules, edited in the console


class RuleRefused(ValueError):
    """A rule that cannot be saved as asked; the message says why, in Japanese."""


def rule_segment_districts(rule: AlertRule) -> list[str] | None:
    """The district codes a rule's segment targets, when it is the simple district-only segment
    this editor makes; None for any other segment (set in the admin site)."""
    if rule.segment is None:
        return []
    tree = rule.segment.conditions or {}
    parts = tree.get("all", [tree]) if isinstance(tree, dict) else []
    if len(parts) == 1 and isinstance(parts[0], dict) and parts[0].get("field") == "district":
        codes = parts[0].get("in")
        if isinstance(codes, list) and set(parts[0]) == {"field", "in"}:
            return [str(code) for code in codes]
    return None


@transaction.atomic
def alert_rule_save(
    *,
    actor: Any,
    rule: AlertRule | None,
    channel: Any,
    values: dict[str, Any],
    district_codes: list[str] | None,
    ip_address: str | None = None,
) -> AlertRule:
    """Create or change a rule. `district_codes` None keeps the rule's segment as it is; a list
    targets those districts (empty: every friend) through a segment of its own, made anew when
    the districts change (a segment may be shared, and drafts already made keep theirs). The one
    who saves becomes the rule's owner: deliveries it makes are theirs, and an immediate rule
    sends in their name. Audited `disaster.alert_rule.created` / `.changed`."""
    created = rule is None
    if rule is None:
        rule = AlertRule(channel=channel)
    before = {name: getattr(rule, name) for name in values} if not created else {}
    before_segment = rule.segment_id
    for name, value in values.items():
        setattr(rule, name, value)
    if district_codes is not None and (created or rule_segment_districts(rule) != district_codes):
        rule.segment = (
            segment_save(
                actor=actor,
                name=f"警報の規則「{str(values.get('name') or rule.name)[:60]}」の地区",
                description="警報の規則の編集画面で作成",
                conditions={"all": [{"field": "district", "in": district_codes}]},
            )
            if district_codes
            else None
        )
    rule.owner = actor
    rule.save()
    changed = sorted(name for name, value in before.items() if getattr(rule, name) != value)
    if not created and rule.segment_id != before_segment:
        changed.append("segment")
    audit_record(
        action="disaster.alert_rule.created" if created else "disaster.alert_rule.changed",
        actor=actor,
        obj=rule,
        ip_address=ip_address,
        data={
            "fields": changed,
            "action": rule.action,
            "districts": district_codes if district_codes is not None else "unchanged",
            "is_active": rule.is_active,
        },
    )
    return rule


@transaction.atomic
def alert_rule_set_active(
    rule: AlertRule, *, active: bool, actor: Any, ip_address: str | None = None
) -> bool:
    """Enable or disable a rule; False when it already was. Enabling makes the enabler its owner
    (an immediate rule then sends in their name). Audited `disaster.alert_rule.enabled/disabled`."""
    fields: dict[str, Any] = {"is_active": active}
    if active:
        fields["owner"] = actor
    if not AlertRule.objects.filter(pk=rule.pk, is_active=not active).update(**fields):
        return False
    audit_record(
        action="disaster.alert_rule.enabled" if active else "disaster.alert_rule.disabled",
        actor=actor,
        obj=rule,
        ip_address=ip_address,
        data={"action": rule.action},
    )
    return True
