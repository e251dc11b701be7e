"""Name a record's file by the paper register before it is built, so that a register
imported before the run costs one build and one signature per record instead of two.

A record whose folder (or file) name is a registered dossier code will be linked to that
item by `sohoa link` after the run (sohoa.records.inventory: the folder outranks a code read
on page 1). The driver gives its task the item's fields and the next order number under the
code when it hands the record out, and the worker builds the file with its final name and
metadata at once; the register step after the run then finds nothing stale in it. A record
whose name is no registered code is read first, and named the same way from the QR or
printed code on its page 1 before its file is built (sohoa.pipeline.staged). Order numbers
follow the highest that the item's linked records already carry and the ones this run gave
out, in the order they were given.

What is only known later still goes through the register step (sohoa.pipeline.register),
which rebuilds and re-signs: a mapping CSV that overrides the name or the code, a register
changed during the run, and a file of the planned name made meanwhile by another run (the
worker never overwrites it: `planned_path_free`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.archive import RegisterEntry, read_sohoa_fields
from sohoa.archive.dossier import safe_file_part
from sohoa.records import InventoryItem, Record
from sohoa.records.inventory import FOUND_KEY, code_key, dossier_codes, page_claims


def register_fields(item: InventoryItem | None) -> dict[str, Any] | None:
    """The item's values a file carries, to tell later whether the item changed."""
    if item is None:
        return None
    return {"code": item.code, "title": item.title, "unit": item.unit, "year": item.year,
            "expected_pages": item.expected_pages}  # fmt: skip


def name_pattern(code: str) -> re.Pattern[str]:
    """File names under a dossier code: "<code>.<order number>.pdf"."""
    return re.compile(rf"{re.escape(safe_file_part(code))}\.(\d+)\.pdf")


def highest_number(paths: list[str | None], code: str) -> int:
    """The highest order number among the files of `paths` named by `code` (0: none)."""
    pattern = name_pattern(code)
    matches = (pattern.fullmatch(Path(path).name) for path in paths if path)
    return max((int(match[1]) for match in matches if match), default=0)


@dataclass
class RegisterNames:
    """The register as the driver needs it to name files: code key -> item id, loaded once
    per run, and the next order number of each item this run has named a file under."""

    item_ids: dict[str, int]
    next_number: dict[int, int] = field(default_factory=dict)
    # Numbers as they were before the current transaction, put back if it is rolled back:
    # the records it handed out go out again and must get the same numbers.
    before: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> RegisterNames | None:
        """None without a register: a run then names files by record id, as it always did."""
        rows = session.execute(select(InventoryItem.code, InventoryItem.id))
        item_ids = {code_key(code): item_id for code, item_id in rows}
        return cls(item_ids) if item_ids else None

    def begin(self) -> None:
        self.before = {}

    def roll_back(self) -> None:
        for item_id, number in self.before.items():
            if number is None:
                self.next_number.pop(item_id, None)
            else:
                self.next_number[item_id] = number
        self.before = {}

    def entries_for(self, session: Session, rel_paths: list[str]) -> list[RegisterEntry | None]:
        """For each record name, the register item it links the record to, with the next
        order number under it (in the order given); None for a name that is no registered
        code. Two queries for all of them, whatever their number."""
        ids = [next((self.item_ids[k] for k in dossier_codes(path) if k in self.item_ids), None)
               for path in rel_paths]  # fmt: skip
        return self._numbered(session, ids)

    def entry_for_found(self, session: Session, found: dict[str, Any]) -> RegisterEntry | None:
        """The register item that a code read on page 1 links the record to (a QR code before
        a printed one, as `sohoa link` decides), numbered; None when no code read is
        registered. `found` is the worker's metadata (sohoa.ocr.codes.as_metadata)."""
        keys = (code_key(code) for _source, code in page_claims(found.get(FOUND_KEY)))
        item_id = next((self.item_ids[key] for key in keys if key in self.item_ids), None)
        return self._numbered(session, [item_id])[0]

    def _numbered(self, session: Session, ids: list[int | None]) -> list[RegisterEntry | None]:
        wanted = {item_id for item_id in ids if item_id is not None}
        if not wanted:
            return [None] * len(ids)
        query = select(InventoryItem).where(InventoryItem.id.in_(wanted))
        items = {item.id: item for item in session.scalars(query)}  # removed ones are missing
        fresh = [item_id for item_id in items if item_id not in self.next_number]
        linked: dict[int, list[str | None]] = {}
        if fresh:
            query = select(Record.inventory_item_id, Record.output_path)
            for item_id, path in session.execute(query.where(Record.inventory_item_id.in_(fresh))):
                linked.setdefault(item_id, []).append(path)
        entries: list[RegisterEntry | None] = []
        for item_id in ids:
            item = items.get(item_id) if item_id is not None else None
            if item is None:
                entries.append(None)
                continue
            number = self.next_number.get(item.id)
            self.before.setdefault(item.id, number)
            if number is None:
                number = highest_number(linked.get(item.id, []), item.code) + 1
            self.next_number[item.id] = number + 1
            entries.append(RegisterEntry(order_number=number, **register_fields(item)))
        return entries


def planned_path_free(path: Path, uid: str) -> bool:
    """Whether the worker may write record `uid`'s planned file at `path`: nothing is
    there, or what is there is this record's own, left by an attempt that never committed."""
    try:
        with pikepdf.open(path) as pdf:
            owner = read_sohoa_fields(bytes(pdf.Root.Metadata.read_bytes())).get("RecordId")
    except FileNotFoundError:
        return True
    except (pikepdf.PdfError, AttributeError, ValueError, OSError):
        return False  # unreadable: someone's, not ours to overwrite
    return owner == uid
