"""`sohoa serve` as uvicorn really runs it (a subprocess on 127.0.0.1): what its connections
do, which FastAPI's in-process TestClient cannot show."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import invoke


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server_port(workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    assert invoke("init").exit_code == 0
    port = _free_port()
    sohoa = Path(sys.executable).with_name("sohoa")
    process = subprocess.Popen(
        [str(sohoa), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(240):  # up to 60 s for the server to listen
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            process.terminate()
            pytest.fail(f"sohoa serve did not start: {process.stderr.read().decode()[-2000:]}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_connection_idle_longer_than_httpx_keeps_one_is_still_answered(
    server_port: int,
) -> None:
    """httpx reuses a connection idle up to 5 s (its keepalive_expiry). uvicorn's default
    closed it after 5 s idle too, so under load a request sent at ~5 s met the close and got
    no answer (the load benchmark's RemoteProtocolError). The server must keep it longer."""
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    connection = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
    try:
        connection.request("GET", "/login")
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close
        reused = connection.sock
        time.sleep(client_expiry + 1)
        connection.request("GET", "/login")  # on the same socket: http.client never reconnects
        assert connection.sock is reused
        second = connection.getresponse()
        second.read()
        assert second.status == 200
    finally:
        connection.close()
