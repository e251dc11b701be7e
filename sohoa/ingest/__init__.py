"""Ingest: find the records of a batch, hash their files, open their pages."""

from sohoa.ingest.discover import RecordRef, discover, is_ignored
from sohoa.ingest.fixity import content_hash, sha256_bytes, sha256_file
from sohoa.ingest.pages import SourcePage, iter_pages, sniff_type
from sohoa.ingest.record import RecordSource, SourceFile, open_record

__all__ = [
    "RecordRef",
    "RecordSource",
    "SourceFile",
    "SourcePage",
    "content_hash",
    "discover",
    "is_ignored",
    "iter_pages",
    "open_record",
    "sha256_bytes",
    "sha256_file",
    "sniff_type",
]
