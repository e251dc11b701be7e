"""One record's METS document, with its PREMIS 3 object, events and agents, and its NĐ 30/2020
dossier metadata as XML.

The PREMIS content comes from `sohoa.records.premis.premis_history` (the events table as
PREMIS semantic units); this module only writes those units as PREMIS 3 XML, in the element
order of the PREMIS 3.0 schema. As E-ARK CSIP does, the PREMIS document is a file of its own
(premis.xml) that the METS amdSec references (digiprovMD/mdRef, MDTYPE="PREMIS") with its
SHA-256: embedded, its xsi:type="premis:file" would make the METS fail its own schema
wherever the PREMIS schema is not at hand.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lxml import etree

from sohoa.transfer.schemas import METS_NS, XLINK_NS
from sohoa.transfer.values import TransferRecord

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DOSSIER_NS = "urn:sohoa:nd30-2020:ho-so"  # NĐ 30/2020 Phụ lục VI field names as elements
PREMIS_LOCATION = "http://www.loc.gov/premis/v3 https://www.loc.gov/standards/premis/v3/premis.xsd"
METS_LOCATION = "http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd"
DOSSIER_FILE = "dossier.xml"
METS_FILE = "mets.xml"
PREMIS_FILE = "premis.xml"


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def _p(tag: str) -> str:
    return f"{{{PREMIS_NS}}}{tag}"


def _add(parent: etree._Element, tag: str, text: Any = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _fields(parent: etree._Element, unit: dict[str, Any], names: tuple[str, ...]) -> None:
    """PREMIS leaf elements named in `names`, in that order, for those the unit has."""
    for name in names:
        if unit.get(name) not in (None, ""):
            _add(parent, _p(name), unit[name])


def _object(parent: etree._Element, unit: dict[str, Any], pdf_name: str, size: int) -> None:
    obj = _add(parent, _p("object"), **{f"{{{XSI_NS}}}type": "premis:file"})
    for identifier in unit["objectIdentifier"]:
        _fields(
            _add(obj, _p("objectIdentifier")),
            identifier,
            ("objectIdentifierType", "objectIdentifierValue"),
        )
    for prop in unit.get("significantProperties", []):
        _fields(
            _add(obj, _p("significantProperties")),
            prop,
            ("significantPropertiesType", "significantPropertiesValue"),
        )
    for characteristics in unit["objectCharacteristics"]:
        chars = _add(obj, _p("objectCharacteristics"))
        _add(chars, _p("compositionLevel"), characteristics.get("compositionLevel", 0))
        for fixity in characteristics.get("fixity", []):
            _fields(
                _add(chars, _p("fixity")),
                fixity,
                ("messageDigestAlgorithm", "messageDigest", "messageDigestOriginator"),
            )
        _add(chars, _p("size"), size)
        for fmt in characteristics.get("format") or [{"formatDesignation": {"formatName": "PDF"}}]:
            designation = _add(_add(chars, _p("format")), _p("formatDesignation"))
            _fields(designation, fmt["formatDesignation"], ("formatName", "formatVersion"))
    _add(obj, _p("originalName"), unit.get("originalName"))
    # In the bag the file sits beside this document, whatever its path in the archive was.
    location = _add(_add(obj, _p("storage")), _p("contentLocation"))
    _add(location, _p("contentLocationType"), "bag-relative path")
    _add(location, _p("contentLocationValue"), pdf_name)
    for relationship in unit.get("relationship", []):
        rel = _add(obj, _p("relationship"))
        _fields(rel, relationship, ("relationshipType", "relationshipSubType"))
        for related in relationship["relatedObjectIdentifier"]:
            _fields(
                _add(rel, _p("relatedObjectIdentifier")),
                related,
                ("relatedObjectIdentifierType", "relatedObjectIdentifierValue"),
            )


def _event(parent: etree._Element, unit: dict[str, Any]) -> None:
    event = _add(parent, _p("event"))
    _fields(
        _add(event, _p("eventIdentifier")),
        unit["eventIdentifier"],
        ("eventIdentifierType", "eventIdentifierValue"),
    )
    _add(event, _p("eventType"), unit["eventType"])
    _add(event, _p("eventDateTime"), unit["eventDateTime"])
    for info in unit.get("eventDetailInformation", []):
        # The event's own detail (JSON in the events table) as the PREMIS event detail.
        detail = info.get("eventDetailExtension") or {}
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
        _add(
            _add(event, _p("eventDetailInformation")),
            _p("eventDetail"),
            text or info["eventDetail"],
        )
    for info in unit.get("eventOutcomeInformation", []):
        outcome = _add(event, _p("eventOutcomeInformation"))
        _add(outcome, _p("eventOutcome"), info["eventOutcome"])
        for note in info.get("eventOutcomeDetail", []):
            _add(
                _add(outcome, _p("eventOutcomeDetail")),
                _p("eventOutcomeDetailNote"),
                note["eventOutcomeDetailNote"],
            )
    for link in unit.get("linkingAgentIdentifier", []):
        agent = _add(event, _p("linkingAgentIdentifier"))
        _fields(agent, link, ("linkingAgentIdentifierType", "linkingAgentIdentifierValue"))
        for role in link.get("linkingAgentRole", []):
            _add(agent, _p("linkingAgentRole"), role)
    for link in unit.get("linkingObjectIdentifier", []):
        _fields(
            _add(event, _p("linkingObjectIdentifier")),
            link,
            ("linkingObjectIdentifierType", "linkingObjectIdentifierValue"),
        )


def _agent(parent: etree._Element, unit: dict[str, Any]) -> None:
    agent = _add(parent, _p("agent"))
    _fields(
        _add(agent, _p("agentIdentifier")),
        unit["agentIdentifier"],
        ("agentIdentifierType", "agentIdentifierValue"),
    )
    _fields(agent, unit, ("agentName", "agentType", "agentVersion"))


def premis_document(history: dict[str, Any], pdf_name: str, size: int) -> bytes:
    """The record's PREMIS 3 document: its file object, then its events, then the agents."""
    premis = etree.Element(_p("premis"), nsmap={"premis": PREMIS_NS, "xsi": XSI_NS}, version="3.0")
    premis.set(f"{{{XSI_NS}}}schemaLocation", PREMIS_LOCATION)
    _object(premis, history["object"], pdf_name, size)
    for event in history["events"]:
        _event(premis, event)
    for agent in history["agents"]:
        _agent(premis, agent)
    return etree.tostring(premis, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _reference(parent: etree._Element, href: str, sha256: str, **kinds: str) -> None:
    _add(
        parent,
        _m("mdRef"),
        LOCTYPE="URL",
        MIMETYPE="text/xml",
        CHECKSUM=sha256,
        CHECKSUMTYPE="SHA-256",
        **kinds,
        **{f"{{{XLINK_NS}}}href": href},
    )


def mets_document(
    record: TransferRecord,
    *,
    pdf_size: int,
    dossier_sha256: str,
    premis_sha256: str,
    created: dt.datetime,
    software: str,
) -> bytes:
    """The record's METS: header, the dossier metadata and the PREMIS history (by reference
    to dossier.xml and premis.xml), the signed PDF/A with its size and SHA-256, and one
    structural division."""
    nsmap = {"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
    mets = etree.Element(
        _m("mets"), nsmap=nsmap, OBJID=record.uid, LABEL=record.title, TYPE="hồ sơ"
    )
    mets.set(f"{{{XSI_NS}}}schemaLocation", METS_LOCATION)
    header = _add(mets, _m("metsHdr"), CREATEDATE=created.isoformat(timespec="seconds"))
    agency = _add(header, _m("agent"), ROLE="CREATOR", TYPE="ORGANIZATION")
    _add(agency, _m("name"), record.agency)
    program = _add(header, _m("agent"), ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    _add(program, _m("name"), software)
    _reference(
        _add(mets, _m("dmdSec"), ID="dmd-nd30"),
        DOSSIER_FILE,
        dossier_sha256,
        MDTYPE="OTHER",
        OTHERMDTYPE="NĐ 30/2020 Phụ lục VI",
    )
    digiprov = _add(_add(mets, _m("amdSec"), ID="amd-1"), _m("digiprovMD"), ID="premis-1")
    _reference(digiprov, PREMIS_FILE, premis_sha256, MDTYPE="PREMIS")
    group = _add(_add(mets, _m("fileSec")), _m("fileGrp"), USE="preservation")
    pdf = _add(
        group,
        _m("file"),
        ID="file-1",
        MIMETYPE="application/pdf",
        SIZE=str(pdf_size),
        CHECKSUM=record.sha256,
        CHECKSUMTYPE="SHA-256",
        ADMID="premis-1",
    )
    _add(pdf, _m("FLocat"), LOCTYPE="URL", **{f"{{{XLINK_NS}}}href": record.pdf_name})
    struct = _add(mets, _m("structMap"), TYPE="physical")
    division = _add(
        struct, _m("div"), TYPE="hồ sơ", LABEL=record.title, DMDID="dmd-nd30", ADMID="premis-1"
    )
    _add(division, _m("fptr"), FILEID="file-1")
    return etree.tostring(mets, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def dossier_document(record: TransferRecord) -> bytes:
    """The NĐ 30/2020 dossier fields, one element each, under the record's id."""
    root = etree.Element(f"{{{DOSSIER_NS}}}HoSo", nsmap={None: DOSSIER_NS}, id=record.uid)
    for name, value in record.dossier.items():
        if value not in (None, ""):
            _add(root, f"{{{DOSSIER_NS}}}{name}", value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
