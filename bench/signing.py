"""Signatures per second: the PKCS#12 file against a SoftHSM2 token, in one run.

Every case signs the same one-page PDF/A (PAdES B-B, the whole `sign_pdf`: pyHanko's
incremental update, CMS, the private-key operation) with the test PKI's signer key:
  - PKCS#12 file, in this process and in 2 worker processes;
  - SoftHSM2 with a session in this process (what a session per worker would give each);
  - SoftHSM2 through sohoa's signing service (what `sohoa run` does): 1 client, then
    2 worker processes sharing 1 session, then 2 processes with 2 sessions.
The machine is shared: compare the ratios within a run, not the absolute rates.

    PYTHONPATH=$PWD .venv/bin/python bench/signing.py [--count 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from sohoa.archive import (
    SignerSpec,
    TokenSpec,
    build_pdfa,
    encode_page,
    load_signer,
    sign_pdf,
    signing_service,
)
from sohoa.archive.token import open_token_signer
from sohoa.ocr import tesseract
from tests import softhsm
from tests.pki import running_pki
from tests.test_archive import form_page, metadata


def _unsigned_pdf() -> bytes:
    image = form_page()
    ocr = tesseract.run_ocr(np.asarray(Image.fromarray(image).convert("L")), 150, "vie", 120)
    return build_pdfa([encode_page(image, 150, ocr.text_pdf, quality=75)], metadata())


def _sign_many(spec: SignerSpec, pdf: bytes, count: int) -> float:
    sign_pdf(pdf, spec)  # loading the identity is not what is measured
    started = time.perf_counter()
    for _ in range(count):
        sign_pdf(pdf, spec)
    return time.perf_counter() - started


def _in_processes(spec: SignerSpec, pdf: bytes, count: int, processes: int) -> float:
    """Wall time for `processes` spawned workers to sign `count` files each, side by side."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pool.apply(_sign_many, (spec, pdf, 1))  # start-up and imports outside the clock
        started = time.perf_counter()
        pool.starmap(_sign_many, [(spec, pdf, count)] * processes)
        return time.perf_counter() - started


def _cases(pki, token, pdf: bytes, count: int, stack: contextlib.ExitStack) -> dict:
    """Each case as (signatures, a function that signs them and returns the seconds)."""
    p12 = SignerSpec(pki.signer_p12, pki.passphrase)
    one = TokenSpec(token.module, pin=token.pin, token_label=token.label, key_label="signer")
    on_token = replace(p12, pkcs11=one)
    load_signer(on_token)  # the login; the services' sessions then share it
    remote = {}
    for sessions in (1, 2):
        spec = replace(one, sessions=sessions)
        first = open_token_signer(spec, shares_login=True)  # this process is logged in
        service = stack.enter_context(signing_service(spec, first))
        remote[sessions] = replace(on_token, pkcs11=None, service=service.address)
    return {
        "PKCS#12 file, 1 process": (count, lambda: _sign_many(p12, pdf, count)),
        "PKCS#12 file, 2 processes": (2 * count, lambda: _in_processes(p12, pdf, count, 2)),
        "SoftHSM2, own session, 1 process": (count, lambda: _sign_many(on_token, pdf, count)),
        "SoftHSM2 service, 1 session, 1 client": (
            count, lambda: _sign_many(remote[1], pdf, count)
        ),
        "SoftHSM2 service, 1 session, 2 processes": (
            2 * count, lambda: _in_processes(remote[1], pdf, count, 2)
        ),
        "SoftHSM2 service, 2 sessions, 2 processes": (
            2 * count, lambda: _in_processes(remote[2], pdf, count, 2)
        ),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=30, help="signatures per case and process")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        running_pki(Path(folder), lifetime_s=3600) as pki,
        contextlib.ExitStack() as stack,
    ):
        softhsm.configure(Path(folder) / "hsm")
        token = softhsm.make_token(Path(folder) / "hsm", "bench", pki.signer_p12, pki.passphrase)
        cases = _cases(pki, token, _unsigned_pdf(), args.count, stack)
        for _ in range(args.rounds):  # interleaved, so that a burst of load hits every case
            for name, (signatures, run) in cases.items():
                rates.setdefault(name, []).append(signatures / run())
    base = statistics.median(rates["PKCS#12 file, 1 process"])
    print(f"{'case':<44} {'median sig/s':>12} {'range':>13} {'vs PKCS#12':>10}")
    for name, values in rates.items():
        median = statistics.median(values)
        spread = f"{min(values):.1f}-{max(values):.1f}"
        print(f"{name:<44} {median:>12.1f} {spread:>13} {median / base:>10.2f}")


if __name__ == "__main__":
    main()
