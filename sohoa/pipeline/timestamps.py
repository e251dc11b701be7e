"""`sohoa timestamps renew`: a fresh archive timestamp on every B-LTA file whose newest
timestamp certificate expires soon, one record per transaction.

For each renewal the record's stored SHA-256 and a `timestamp_renewal` event are written in
the same transaction as the file is replaced (atomically, by rename): if the write fails the
transaction rolls back and the old file stays. A file that no longer matches its stored
SHA-256 is not renewed (it is reported: `sohoa verify` and `resume` deal with damage).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

from sqlalchemy import select

from sohoa.archive import renew_timestamp, timestamp_chain
from sohoa.archive.renew import expires_within
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.ingest import sha256_bytes
from sohoa.pipeline.context import signer_spec
from sohoa.pipeline.outputs import write_atomically
from sohoa.records import EventRow, Record, open_database, session_scope, store
from sohoa.records.models import ARCHIVED_STATES


@dataclass(frozen=True)
class Renewal:
    uid: str
    path: str
    outcome: str  # "renewed", or "failed" with the reason in `message`
    expired_on: dt.datetime | None  # the newest timestamp certificate's end, before
    expires_on: dt.datetime | None = None  # ... after the renewal
    message: str = ""


@dataclass
class RenewReport:
    checked: int = 0  # archived B-LTA files looked at
    renewals: list[Renewal] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(r.outcome == "failed" for r in self.renewals)


def renew_timestamps(
    settings: Settings, within_days: int, now: dt.datetime | None = None
) -> RenewReport:
    spec = signer_spec(settings, with_key=False)
    now = now or dt.datetime.now(dt.UTC)
    report = RenewReport()
    with open_database(settings.database_url) as factory:
        with session_scope(factory) as session:
            targets = session.execute(
                select(Record.id, Record.uid, Record.output_path, Record.output_sha256)
                .where(Record.state.in_(ARCHIVED_STATES), Record.output_path.is_not(None))
                .order_by(Record.id)
            ).all()
        for record_id, uid, output, sha256 in targets:
            path = Path(output)
            try:
                data = path.read_bytes()
            except OSError:
                continue  # a missing copy is `sohoa verify`'s to report
            chain = timestamp_chain(data)
            if chain.document_timestamps == 0:
                continue  # not B-LTA
            report.checked += 1
            if not expires_within(chain, within_days, now):
                continue
            if sha256_bytes(data) != sha256:
                report.renewals.append(Renewal(uid, output, "failed", chain.newest_expires,
                                               message="the file no longer matches its SHA-256: "
                                               "run 'sohoa verify'"))  # fmt: skip
                continue
            try:
                renewed = renew_timestamp(data, spec)
            except SohoaError as exc:
                report.renewals.append(
                    Renewal(uid, output, "failed", chain.newest_expires, message=str(exc))
                )
                continue
            after = timestamp_chain(renewed).newest_expires
            with session_scope(factory) as session:
                record = session.get(Record, record_id)
                assert record is not None
                record.output_sha256 = sha256_bytes(renewed)
                event = EventRow(
                    "timestamp_renewal",
                    tool="pyHanko",
                    tool_version=package_version("pyHanko"),
                    detail={
                        "output": output,
                        "previous_sha256": sha256,
                        "sha256": record.output_sha256,
                        "previous_tsa_expiry": chain.newest_expires.isoformat(),
                        "tsa_expiry": after.isoformat() if after else None,
                        "tsa_url": spec.tsa_url,
                        "document_timestamps": chain.document_timestamps + 1,
                    },
                )
                store.add_event(session, event, batch_id=record.batch_id, record_id=record_id)
                session.flush()
                write_atomically(path, renewed)  # last: a failed write rolls the record back
            report.renewals.append(Renewal(uid, output, "renewed", chain.newest_expires, after))
    return report
