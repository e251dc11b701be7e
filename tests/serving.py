"""`sohoa serve` started for a test: a subprocess on a free loopback port, waited for until it
answers, stopped afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server() -> Iterator[str]:
    """The server's base URL, e.g. http://127.0.0.1:41234 (the database of the environment)."""
    port = _free_port()
    sohoa = Path(sys.executable).with_name("sohoa")
    process = subprocess.Popen(
        [str(sohoa), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # up to 60 s for the server to listen
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            process.terminate()
            pytest.fail(f"sohoa serve did not start: {process.stderr.read().decode()[-2000:]}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
