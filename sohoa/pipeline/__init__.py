"""Pipeline: run a batch on Dask workers and commit each record's result, exactly once."""

from sohoa.pipeline.cluster import usable_cores
from sohoa.pipeline.context import WorkerSettings, record_uid, resolve_passphrase, worker_settings
from sohoa.pipeline.driver import Reporter, RunReport, RunRequest, run_batch
from sohoa.pipeline.worker import RecordTask, digest_record, process_record, write_atomically

__all__ = [
    "RecordTask",
    "Reporter",
    "RunReport",
    "RunRequest",
    "WorkerSettings",
    "digest_record",
    "process_record",
    "record_uid",
    "resolve_passphrase",
    "run_batch",
    "usable_cores",
    "worker_settings",
    "write_atomically",
]
