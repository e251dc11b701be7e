"""Renewal of a PAdES B-LTA file's archive timestamp before its TSA certificate expires.

A document timestamp proves the file existed unchanged at its time only as long as the TSA's
certificate can be validated. Before the newest one's certificate expires, a new document
timestamp is added over the file, after the validation data (certificates, CRLs) of the
previous one went into the DSS: pyHanko's `update_archival_timestamp_chain`, as an
incremental update that leaves every earlier signature intact.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps import HTTPTimeStamper

from sohoa.archive.sign import TIMESTAMP_FIELD, SignerSpec, pyhanko_errors, validation_context
from sohoa.errors import SohoaError


@dataclass(frozen=True)
class TimestampChain:
    document_timestamps: int  # 0: not a B-LTA file
    newest_expires: dt.datetime | None  # the newest document timestamp's TSA certificate


def timestamp_chain(data: bytes) -> TimestampChain:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    stamps = reader.embedded_timestamp_signatures
    if not stamps:
        return TimestampChain(0, None)
    tsa = stamps[-1].signer_cert
    return TimestampChain(len(stamps), tsa["tbs_certificate"]["validity"]["not_after"].native)


def renew_timestamp(data: bytes, spec: SignerSpec) -> bytes:
    """`data` with the previous timestamp's validation data and a new document timestamp
    from `spec.tsa_url`, validated against `spec.trust_roots`."""
    if not spec.tsa_url:
        raise SohoaError("renewing timestamps needs a timestamp server: set signing.tsa_url")
    if not spec.trust_roots:
        raise SohoaError("renewing timestamps needs signing.trust_roots (PEM files)")
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    number = len(reader.embedded_timestamp_signatures) + 1
    stamper = signers.PdfTimeStamper(
        HTTPTimeStamper(spec.tsa_url, timeout=spec.tsa_timeout_s),
        field_name=f"{TIMESTAMP_FIELD}{number}",
    )
    with pyhanko_errors(spec, "the previous timestamp", "timestamp renewal"):
        out = stamper.update_archival_timestamp_chain(
            reader, validation_context(spec), in_place=False
        )
    return out.getvalue()


def expires_within(chain: TimestampChain, days: int, now: dt.datetime) -> bool:
    return chain.newest_expires is not None and chain.newest_expires - now <= dt.timedelta(
        days=days
    )


__all__ = ["TimestampChain", "expires_within", "renew_timestamp", "timestamp_chain"]
