"""Reading alerts: OASIS CAP 1.2 (and 1.1), checked against its XSD, and 気象庁防災情報XML.

Alert files come from outside (a feed URL, a file drop) and XML is dangerous to parse naively.
Before any parser sees a file, defusedxml refuses a DTD (`<!DOCTYPE`), entity declarations and
external references, so an XXE file is refused without anything it names being opened or
fetched. The real parse is lxml with entities unresolved, no network, no DTD loading and no
huge trees, and CAP is then validated against `schemas/cap12.xsd` (or `cap11.xsd`; shipped in the
project: a schema is never fetched). Everything here returns a plain `ParsedAlert` or raises
`AlertRefused` with a Japanese reason; `services.py` stores it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import defusedxml.ElementTree
from defusedxml import DefusedXmlException
from lxml import etree

MAX_BYTES = 2_000_000
CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"
JMA = "http://xml.kishou.go.jp/jmaxml1/"
SCHEMAS = {CAP12: "cap12.xsd", CAP11: "cap11.xsd"}
SEVERITIES = ("unknown", "minor", "moderate", "severe", "extreme")  # weakest first


class AlertRefused(ValueError):
    """The file is not an alert we accept; the message says why, in Japanese."""


@dataclass
class ParsedAlert:
    source: str  # "cap" or "jma"
    identifier: str
    sent: datetime
    kind: str  # cap: msgType/category; jma: one of JMA_KINDS
    event: str
    severity: str  # SEVERITIES
    headline: str
    areas: list[str] = field(default_factory=list)  # codes (JMA) or geocodes / area descriptions (CAP)
    area_names: list[str] = field(default_factory=list)
    status: str = ""  # CAP status / JMA Control/Status (通常, 訓練, 試験)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


@cache
def _cap_schema(namespace: str) -> etree.XMLSchema:
    path = Path(__file__).resolve().parent / "schemas" / SCHEMAS[namespace]
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def safe_root(data: bytes) -> etree._Element:
    """The hardened parse every alert file and every feed goes through; raises AlertRefused."""
    if len(data) > MAX_BYTES:
        raise AlertRefused(f"ファイルが大きすぎます({len(data):,} バイト、上限 {MAX_BYTES:,})")
    if not data.strip():
        raise AlertRefused("空のファイルです")
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        raise AlertRefused(
            f"DTD や外部実体を含む XML は受け付けません(XXE 攻撃の恐れ: {type(refused).__name__})"
        ) from None
    except defusedxml.ElementTree.ParseError as error:
        raise AlertRefused(f"XML として読めません({error})") from None
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise AlertRefused(f"XML として読めません({error})") from None


def parse_alert(data: bytes) -> ParsedAlert:
    """A CAP 1.2 alert or a JMA message → ParsedAlert. Raises AlertRefused."""
    root = safe_root(data)
    namespace = etree.QName(root).namespace
    if namespace in SCHEMAS:  # CAP 1.2, and 1.1 which older feeds still send
        return _cap(root, namespace)
    if namespace == JMA and etree.QName(root).localname == "Report":
        return _jma(root, data)
    raise AlertRefused("CAP 1.2 でも気象庁防災情報XMLでもありません")


def _text(element: etree._Element | None, path: str, namespaces: dict[str, str]) -> str:
    if element is None:
        return ""
    found = element.find(path, namespaces)
    return (found.text or "").strip() if found is not None else ""


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AlertRefused(f"日時が読めません(「{text[:40]}」)") from None
    if moment.tzinfo is None:
        raise AlertRefused(f"日時に時差がありません(「{text[:40]}」)")
    return moment


# CAP


def _cap(root: etree._Element, namespace: str) -> ParsedAlert:
    schema = _cap_schema(namespace)
    version = "1.2" if namespace == CAP12 else "1.1"
    if not schema.validate(root):
        errors = list(schema.error_log)  # type: ignore[call-overload]  # lxml-stubs: _ErrorLog is iterable
        first = errors[0] if errors else None
        where = f"{first.line} 行目: " if first is not None else ""
        message = first.message if first is not None else ""
        raise AlertRefused(f"CAP {version} のスキーマに合いません({where}{message[:200]})")
    ns = {"cap": namespace}
    infos = root.findall("cap:info", ns)
    # Several <info> blocks are one alert in several languages: Japanese first, else the first.
    info = next((i for i in infos if _text(i, "cap:language", ns).lower().startswith("ja")), None)
    info = info if info is not None else (infos[0] if infos else None)
    severity = _text(info, "cap:severity", ns).lower() if info is not None else "unknown"
    areas: list[str] = []
    names: list[str] = []
    for area in info.findall("cap:area", ns) if info is not None else []:
        desc = _text(area, "cap:areaDesc", ns)
        if desc:
            names.append(desc)
        for geocode in area.findall("cap:geocode", ns):
            value = _text(geocode, "cap:value", ns)
            if value:
                areas.append(value)
    return ParsedAlert(
        source="cap",
        identifier=_text(root, "cap:identifier", ns),
        sent=_when(_text(root, "cap:sent", ns)),
        kind=(_text(info, "cap:category", ns) if info is not None else "") or _text(root, "cap:msgType", ns),
        event=_text(info, "cap:event", ns) if info is not None else _text(root, "cap:msgType", ns),
        severity=severity if severity in SEVERITIES else "unknown",
        headline=(_text(info, "cap:headline", ns) or _text(info, "cap:description", ns))[:500]
        if info is not None
        else "",
        areas=list(dict.fromkeys(areas)),
        area_names=list(dict.fromkeys(names)),
        status=_text(root, "cap:status", ns),
    )


# 気象庁防災情報XML

JMA_KINDS = {
    "weather_warning": "気象警報・注意報",
    "landslide": "土砂災害警戒情報",
    "river_flood": "指定河川洪水予報",
    "seismic_intensity": "震度速報",
    "earthquake": "震源・震度に関する情報",
    "tsunami": "津波警報・注意報・予報",
}


def jma_kind(title: str) -> str | None:
    title = unicodedata.normalize("NFKC", title)
    if "津波" in title:
        return "tsunami"
    if "震度速報" in title:
        return "seismic_intensity"
    if "震源" in title or "震度" in title or "地震" in title:
        return "earthquake"
    if "土砂災害警戒情報" in title:
        return "landslide"
    if "洪水予報" in title:
        return "river_flood"
    if "警報" in title or "注意報" in title:
        return "weather_warning"
    return None


_INTENSITY = {"1": 0, "2": 0, "3": 1, "4": 2, "5-": 3, "5+": 3, "6-": 4, "6+": 4, "7": 4}


def _jma_severity(kind: str, names: list[str], max_intensity: str) -> str:
    if kind in ("seismic_intensity", "earthquake"):
        if not max_intensity:
            return "minor"
        return ("minor", "moderate", "moderate", "severe", "extreme")[_INTENSITY.get(max_intensity, 0)]
    live = [unicodedata.normalize("NFKC", n) for n in names if "解除" not in n and "未満" not in n]
    if any(word in n for n in live for word in ("特別警報", "大津波", "氾濫発生", "氾濫危険")):
        return "extreme"
    if any(word in n for n in live for word in ("警報", "警戒")):
        return "severe"
    if any("注意" in n for n in live):
        return "moderate"
    return "minor"


def _jma(root: etree._Element, data: bytes) -> ParsedAlert:
    ns = {"j": JMA, "ib": "http://xml.kishou.go.jp/jmaxml1/informationBasis1/"}
    control_title = _text(root, "j:Control/j:Title", ns)
    kind = jma_kind(control_title)
    if kind is None:
        raise AlertRefused(f"扱っていない種類の気象庁電文です(「{control_title[:40]}」)")
    head = root.find("ib:Head", ns)
    if head is None:
        raise AlertRefused("気象庁電文に Head がありません")
    report_time = _text(head, "ib:ReportDateTime", ns)
    event_id = _text(head, "ib:EventID", ns)
    info_type = _text(head, "ib:InfoType", ns)
    serial = _text(head, "ib:Serial", ns)
    codes: list[str] = []
    area_names: list[str] = []
    kind_names: list[str] = []
    max_intensity = ""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local == "Area":
            for child in element:
                if not isinstance(child.tag, str):
                    continue
                child_name = etree.QName(child).localname
                if child_name == "Code" and child.text:
                    codes.extend(child.text.split())
                elif child_name == "Name" and child.text:
                    area_names.append(child.text.strip())
        elif local == "Kind":
            for child in element:
                if isinstance(child.tag, str) and etree.QName(child).localname == "Name" and child.text:
                    kind_names.append(child.text.strip())
        elif local == "MaxInt" and element.text and not max_intensity:
            max_intensity = element.text.strip()
    # JMA's messages carry no identifier of their own: the event, the time, the kind and the serial
    # name one; the raw bytes' hash keeps two different messages with equal heads apart.
    digest = hashlib.sha256(data).hexdigest()[:16]
    identifier = f"jma:{kind}:{event_id or '-'}:{report_time}:{info_type}:{serial or '-'}:{digest}"
    return ParsedAlert(
        source="jma",
        identifier=identifier[:250],
        sent=_when(report_time),
        kind=kind,
        event=_text(head, "ib:Title", ns) or control_title,
        severity=_jma_severity(kind, kind_names, max_intensity),
        headline=_text(head, "ib:Headline/ib:Text", ns)[:500],
        areas=list(dict.fromkeys(codes)),
        area_names=list(dict.fromkeys(area_names)),
        status=_text(root, "j:Control/j:Status", ns),
    )
