"""SHA-256 fixity of source files and of whole records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(file_hashes: Iterable[str]) -> str:
    """Hash of a record's content: its files' hashes in page order, names left out,
    so the same dossier scanned into two batches under other names is still a duplicate."""
    return hashlib.sha256("\n".join(file_hashes).encode("ascii")).hexdigest()
