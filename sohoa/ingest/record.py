"""Open one record: list and hash its files, refusing anything that escapes the batch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sohoa.errors import RecordError
from sohoa.ingest.discover import RecordRef, is_ignored
from sohoa.ingest.fixity import content_hash, sha256_file
from sohoa.ingest.pages import SourcePage, count_pages, iter_pages


@dataclass(frozen=True)
class SourceFile:
    rel_path: str  # relative to the batch root
    sha256: str
    size: int


@dataclass(frozen=True)
class RecordSource:
    root: Path
    rel_path: str
    files: tuple[SourceFile, ...]  # in page order
    content_hash: str

    def pages(
        self, *, default_dpi: float, max_pixels: int, only: range | None = None
    ) -> Iterator[SourcePage]:
        """The record's pages in order, or those whose index in the record is in `only` (a
        part of a big record: files before and after it are not opened)."""
        offset = 0  # the record's index of the file's first page
        for source_file in self.files:
            path = self.root / source_file.rel_path
            local = None
            if only is not None:  # split only when every file could count its pages
                count = count_pages(path) or 0
                local = range(max(only.start - offset, 0), min(only.stop - offset, count))
                offset += count
                if not local:
                    continue
            yield from iter_pages(path, source_file.rel_path, default_dpi=default_dpi,
                                  max_pixels=max_pixels, only=local)  # fmt: skip

    def page_count(self) -> int | None:
        """Pages in the record, counted without decoding; None when a file cannot say."""
        counts = [count_pages(self.root / f.rel_path) for f in self.files]
        return None if None in counts else sum(counts)  # type: ignore[arg-type]


def _check_name(rel_path: str) -> None:
    try:
        rel_path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordError(
            "bad_filename", f"{rel_path!r} is not valid UTF-8; rename it and run again"
        ) from exc
    if "\n" in rel_path or "\r" in rel_path:
        raise RecordError("bad_filename", f"{rel_path!r} contains a line break; rename it")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _record_files(root: Path, ref: RecordRef) -> list[Path]:
    top = root / ref.rel_path
    if not ref.is_dir:
        return [top]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        found.extend(Path(dirpath) / name for name in sorted(filenames) if not is_ignored(name))
    return found


def open_record(root: Path, ref: RecordRef) -> RecordSource:
    """List, check and hash the files of one record. Nothing is modified."""
    _check_name(ref.rel_path)
    paths = _record_files(root, ref)
    if not paths:
        raise RecordError("empty_record", f"{ref.rel_path} holds no files")
    files = []
    for path in paths:
        rel = str(path.relative_to(root))
        _check_name(rel)
        if path.is_symlink() and not _inside(path, root):
            raise RecordError(
                "symlink_outside_batch",
                f"{rel} is a link to {os.readlink(path)}, outside the batch; copy the file in",
            )
        if not path.is_file():
            raise RecordError("not_a_file", f"{rel} is not a regular file")
        files.append(SourceFile(rel, sha256_file(path), path.stat().st_size))
    return RecordSource(
        root=root,
        rel_path=ref.rel_path,
        files=tuple(files),
        content_hash=content_hash(f.sha256 for f in files),
    )
