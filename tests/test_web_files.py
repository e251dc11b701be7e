"""FileStream: a file sent whole, in chunks read in the threads for blocking work."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sohoa.web.files import CHUNK_BYTES, FileStream


def _client(path: Path, name: str, raise_server_exceptions: bool = True) -> TestClient:
    app = FastAPI()
    reads: list[int] = []

    class Counted(FileStream):
        async def _send_file(self, handle, send):  # counts the body messages sent
            async def counting(message: dict) -> None:
                if message["type"] == "http.response.body":
                    reads.append(len(message["body"]))
                await send(message)

            await super()._send_file(handle, counting)

    @app.get("/file")
    def file() -> Counted:
        return Counted(path, name, "application/pdf", anyio.CapacityLimiter(2))

    client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
    client.reads = reads  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("size", [0, 1000, CHUNK_BYTES, 2 * CHUNK_BYTES + 7])
def test_the_file_arrives_whole_with_its_length(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.pdf"
    path.write_bytes(os.urandom(size))
    client = _client(path, "HS-2019-0001.pdf")
    answer = client.get("/file")
    assert answer.status_code == 200 and answer.content == path.read_bytes()
    assert answer.headers["content-length"] == str(size)
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="HS-2019-0001.pdf"'
    assert "accept-ranges" not in answer.headers  # no byte ranges are given
    whole, rest = divmod(size, CHUNK_BYTES)
    assert client.reads == [CHUNK_BYTES] * whole + ([rest] if rest or not size else [])


def test_a_file_gone_since_the_route_found_it_is_an_error_not_a_200(tmp_path: Path) -> None:
    client = _client(tmp_path / "gone.pdf", "gone.pdf", raise_server_exceptions=False)
    assert client.get("/file").status_code == 500
    assert client.reads == []  # type: ignore[attr-defined]


def test_a_name_beyond_ascii_is_given_in_utf_8(tmp_path: Path) -> None:
    path = tmp_path / "f.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    answer = _client(path, "Khai sinh Nguyễn.pdf").get("/file")
    assert answer.headers["content-disposition"] == (
        "attachment; filename*=utf-8''Khai%20sinh%20Nguy%E1%BB%85n.pdf"
    )
