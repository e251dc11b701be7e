"""`sohoa serve` as uvicorn really runs it (a subprocess on 127.0.0.1): what its connections
do, which FastAPI's in-process TestClient cannot show."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import invoke
from tests.serving import running_server


@pytest.fixture
def server_port(workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    assert invoke("init").exit_code == 0
    with running_server() as base:
        yield int(base.rsplit(":", 1)[1])


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
