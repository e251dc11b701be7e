"""Pipeline: run a batch on Dask workers and commit each record's result, exactly once."""

from sohoa.pipeline import audit, register, review
from sohoa.pipeline.cluster import usable_cores
from sohoa.pipeline.context import (
    WorkerSettings,
    record_uid,
    resolve_passphrase,
    worker_settings,
)
from sohoa.pipeline.driver import Reporter, RunReport, RunRequest, run_batch
from sohoa.pipeline.setup import InitReport, initialise
from sohoa.pipeline.verify import VerifyRequest, VerifyResult, verify_archive
from sohoa.pipeline.worker import RecordTask, digest_record, process_record, write_atomically

__all__ = [
    "InitReport",
    "RecordTask",
    "Reporter",
    "RunReport",
    "RunRequest",
    "VerifyRequest",
    "VerifyResult",
    "WorkerSettings",
    "audit",
    "digest_record",
    "initialise",
    "process_record",
    "record_uid",
    "register",
    "resolve_passphrase",
    "review",
    "run_batch",
    "usable_cores",
    "verify_archive",
    "worker_settings",
    "write_atomically",
]
