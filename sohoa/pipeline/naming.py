"""Name a record's file by the paper register when it is handed out, so that a register
imported before the run costs one build and one signature per record instead of two.

A record whose folder (or file) name is a registered dossier code will be linked to that
item by `sohoa link` after the run (sohoa.records.inventory: the folder outranks a code read
on page 1). The driver gives its task the item's fields and the next order number under the
code, and the worker builds the file with its final name and metadata at once; the register
step after the run then finds nothing stale in it. Order numbers follow the highest that the
item's linked records already carry and the ones this run gave out, in hand-out order.

What is only known later still goes through the register step (sohoa.pipeline.register),
which rebuilds and re-signs: a record linked by a QR code or a code in its text, a mapping
CSV that overrides the folder, a register changed during the run, and a file of the planned
name made meanwhile by another run (the worker never overwrites it: `planned_path_free`).
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
from sohoa.records.inventory import code_key, dossier_codes


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

    @classmethod
    def load(cls, session: Session) -> RegisterNames | None:
        """None without a register: a run then names files by record id, as it always did."""
        rows = session.execute(select(InventoryItem.code, InventoryItem.id))
        item_ids = {code_key(code): item_id for code, item_id in rows}
        return cls(item_ids) if item_ids else None

    def entry_for(self, session: Session, rel_path: str) -> RegisterEntry | None:
        """The register item a record's name links it to, with its order number; None when
        its name is not a registered code."""
        item_id = next((self.item_ids[k] for k in dossier_codes(rel_path) if k in self.item_ids),
                       None)  # fmt: skip
        if item_id is None:
            return None
        item = session.get(InventoryItem, item_id)
        fields = register_fields(item)
        if fields is None:  # removed from the register since the run began
            return None
        number = self.next_number.get(item_id)
        if number is None:
            linked = session.scalars(
                select(Record.output_path).where(Record.inventory_item_id == item_id)
            )
            number = highest_number(list(linked), item.code) + 1
        self.next_number[item_id] = number + 1
        return RegisterEntry(order_number=number, **fields)


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
