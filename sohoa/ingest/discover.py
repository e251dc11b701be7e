"""Find the records of a batch: each folder directly under the root, and each loose file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sohoa.errors import SohoaError

# OS and scanner droppings that are never records.
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db"})


@dataclass(frozen=True)
class RecordRef:
    """One record of a batch, named by its path relative to the batch root."""

    rel_path: str
    is_dir: bool


def is_ignored(name: str) -> bool:
    """Manifests (`_truth.jsonl`, `_inventory.csv`), hidden files and OS junk are not records."""
    return name.startswith((".", "_")) or name.lower() in JUNK_NAMES


def discover(root: Path, *, ordered: bool = True) -> Iterator[RecordRef]:
    """Yield the records directly under `root`, in name order, or as the folder lists them
    (`ordered=False`: nothing is held, so a million-record folder costs no memory).

    Names that are not valid UTF-8 come through with surrogate escapes; opening such a record
    fails it with a clear reason instead of stopping the batch.
    """
    if not root.is_dir():
        raise SohoaError(f"batch folder {root} does not exist or is not a folder")
    if ordered:
        yield from sorted(discover(root, ordered=False), key=lambda ref: ref.rel_path)
        return
    with os.scandir(root) as entries:
        for entry in entries:
            if not is_ignored(entry.name):
                yield RecordRef(rel_path=entry.name, is_dir=entry.is_dir(follow_symlinks=False))
