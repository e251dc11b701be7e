"""Pipeline: run a batch on Dask workers and commit each record's result, exactly once.

The names below are loaded on first use (PEP 562): `sohoa status` or `sohoa --help` must
not pay for pyHanko, pikepdf, OpenCV and Dask, which only a run, a verification or a
rebuild needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "BatchOutcome": "sohoa.pipeline.batch",
    "run_and_register": "sohoa.pipeline.batch",
    "usable_cores": "sohoa.pipeline.cluster",
    "WorkerSettings": "sohoa.pipeline.context",
    "record_uid": "sohoa.pipeline.context",
    "worker_settings": "sohoa.pipeline.context",
    "Reporter": "sohoa.pipeline.driver",
    "RunReport": "sohoa.pipeline.driver",
    "RunRequest": "sohoa.pipeline.driver",
    "run_batch": "sohoa.pipeline.driver",
    "InitReport": "sohoa.pipeline.setup",
    "initialise": "sohoa.pipeline.setup",
    "VerifyRequest": "sohoa.pipeline.verify",
    "VerifyResult": "sohoa.pipeline.verify",
    "verify_archive": "sohoa.pipeline.verify",
    "RecordTask": "sohoa.pipeline.worker",
    "digest_record": "sohoa.pipeline.worker",
    "process_record": "sohoa.pipeline.worker",
    "write_atomically": "sohoa.pipeline.outputs",
}
_SUBMODULES = ("audit", "register", "review")

if TYPE_CHECKING:
    from sohoa.pipeline import audit, register, review
    from sohoa.pipeline.batch import BatchOutcome, run_and_register
    from sohoa.pipeline.cluster import usable_cores
    from sohoa.pipeline.context import (
        WorkerSettings,
        record_uid,
        worker_settings,
    )
    from sohoa.pipeline.driver import Reporter, RunReport, RunRequest, run_batch
    from sohoa.pipeline.outputs import write_atomically
    from sohoa.pipeline.setup import InitReport, initialise
    from sohoa.pipeline.verify import VerifyRequest, VerifyResult, verify_archive
    from sohoa.pipeline.worker import RecordTask, digest_record, process_record


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"sohoa.pipeline.{name}")
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sohoa.pipeline' has no attribute {name!r}")


__all__ = [
    "BatchOutcome",
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
    "review",
    "run_and_register",
    "run_batch",
    "usable_cores",
    "verify_archive",
    "worker_settings",
    "write_atomically",
]
