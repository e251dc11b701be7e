"""A record's audit trail: its events as rows, and as a PREMIS-style history (PREMIS 3.0
semantic units in JSON: the object with its identifiers and fixity, the events, the agents).

Every event names the program that did the step and its version (`tool`, `tool_version`;
`sohoa verify` lists several in `detail["agents"]`), and a review names the person; these
become PREMIS agents linked from their events.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.errors import SohoaError
from sohoa.records.models import Batch, Event, Record

PREMIS_VERSION = "3.0"
RECORD_ID_TYPE = "sohoa record id"


def find_record(session: Session, ident: str, batch: str | None = None) -> Record:
    """A record by its id, or by its path in its batch (`batch` when the path is in several)."""
    record = session.scalar(select(Record).where(Record.uid == ident))
    if record is not None:
        return record
    path = unicodedata.normalize("NFC", ident).replace("\\", "/").strip("/")
    # Paths are compared in NFC; the stored path is the name on disk, which may be NFD (a
    # folder made on macOS): both forms are looked up, and matched in NFC.
    forms = {path, unicodedata.normalize("NFD", path)}
    query = select(Record).join(Batch).where(Record.rel_path.in_(forms))
    if batch:
        query = query.where(Batch.name == batch)
    found = list(session.scalars(query))
    if len(found) == 1:
        return found[0]
    if not found:
        where = f" in batch {batch!r}" if batch else ""
        raise SohoaError(f"no record with id or path {ident!r}{where}: see 'sohoa export'")
    names = ", ".join(sorted(r.batch.name for r in found))
    raise SohoaError(f"{ident!r} is in batches {names}: add --batch, or give the record id")


def events_of(session: Session, record: Record) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.record_id == record.id).order_by(Event.id))
    )


def event_row(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(timespec="seconds"),
        "kind": event.kind,
        "outcome": event.outcome,
        "tool": event.tool,
        "tool_version": event.tool_version,
        "detail": event.detail,
    }


def _agents(event: Event) -> list[dict[str, str]]:
    """(type, name, version) of whoever did the step."""
    agents = []
    if event.tool:
        agents.append({"type": "software", "name": event.tool, "version": event.tool_version or ""})
    for agent in (event.detail or {}).get("agents", []):
        agents.append({"type": "software", "name": agent["name"], "version": agent["version"]})
    reviewer = (event.detail or {}).get("reviewer")
    if reviewer:
        agents.append({"type": "person", "name": str(reviewer), "version": ""})
    return agents


def _agent_id(agent: dict[str, str]) -> str:
    return f"{agent['name']} {agent['version']}".strip()


def _premis_event(event: Event, uid: str) -> dict[str, Any]:
    detail = event.detail or {}
    note = "; ".join(detail.get("problems") or []) or detail.get("message") or ""
    outcome: dict[str, Any] = {"eventOutcome": event.outcome}
    if note:
        outcome["eventOutcomeDetail"] = [{"eventOutcomeDetailNote": note}]
    return {
        "eventIdentifier": {
            "eventIdentifierType": "sohoa event id",
            "eventIdentifierValue": str(event.id),
        },
        "eventType": event.kind,
        "eventDateTime": event.at.isoformat(timespec="seconds"),
        "eventDetailInformation": [{"eventDetail": event.kind, "eventDetailExtension": detail}],
        "eventOutcomeInformation": [outcome],
        "linkingAgentIdentifier": [
            {
                "linkingAgentIdentifierType": agent["type"],
                "linkingAgentIdentifierValue": _agent_id(agent),
                "linkingAgentRole": [
                    "executing program" if agent["type"] == "software" else "implementer"
                ],
            }
            for agent in _agents(event)
        ],
        "linkingObjectIdentifier": [
            {"linkingObjectIdentifierType": RECORD_ID_TYPE, "linkingObjectIdentifierValue": uid}
        ],
    }


def _premis_object(record: Record) -> dict[str, Any]:
    meta = record.meta or {}
    identifiers = [
        (RECORD_ID_TYPE, record.uid),
        ("sohoa batch and source path", f"{record.batch.name}/{record.rel_path}"),
    ]
    file_code = (meta.get("dossier") or {}).get("FileCode")
    if file_code:
        identifiers.append(("dossier code (NĐ 30/2020 FileCode)", file_code))
    characteristics: dict[str, Any] = {"compositionLevel": 0}
    if record.output_sha256:
        characteristics["fixity"] = [
            {"messageDigestAlgorithm": "SHA-256", "messageDigest": record.output_sha256,
             "messageDigestOriginator": "sohoa"}
        ]  # fmt: skip
        characteristics["format"] = [{"formatDesignation": {"formatName": "PDF/A-2b"}}]
    source = [
        {"relatedObjectIdentifierType": "sha256 of a source file",
         "relatedObjectIdentifierValue": f["sha256"], "originalName": f["path"]}
        for f in record.source_files or []
    ]  # fmt: skip
    premis_object: dict[str, Any] = {
        "objectIdentifier": [
            {"objectIdentifierType": kind, "objectIdentifierValue": value}
            for kind, value in identifiers
        ],
        "objectCategory": "file",
        "objectCharacteristics": [characteristics],
        "originalName": record.rel_path,
        "state": record.state,
    }
    if record.output_path:
        premis_object["storage"] = [
            {"contentLocation": {"contentLocationType": "file path",
                                 "contentLocationValue": record.output_path}}
        ]  # fmt: skip
    if source:
        premis_object["relationship"] = [
            {"relationshipType": "derivation", "relationshipSubType": "has source",
             "relatedObjectIdentifier": source}
        ]  # fmt: skip
    if meta.get("dossier"):
        premis_object["significantProperties"] = [
            {"significantPropertiesType": name, "significantPropertiesValue": str(value)}
            for name, value in meta["dossier"].items()
            if value not in (None, "")
        ]
    return premis_object


def premis_history(session: Session, record: Record) -> dict[str, Any]:
    """The record's PREMIS-style history: object, events in order, and the agents."""
    events = events_of(session, record)
    agents: dict[str, dict[str, str]] = {}
    for event in events:
        for agent in _agents(event):
            agents.setdefault(_agent_id(agent), agent)
    return {
        "premisVersion": PREMIS_VERSION,
        "object": _premis_object(record),
        "events": [_premis_event(event, record.uid) for event in events],
        "agents": [
            {
                "agentIdentifier": {
                    "agentIdentifierType": agent["type"],
                    "agentIdentifierValue": key,
                },
                "agentName": agent["name"],
                "agentType": agent["type"],
                **({"agentVersion": agent["version"]} if agent["version"] else {}),
            }
            for key, agent in sorted(agents.items())
        ],
    }
