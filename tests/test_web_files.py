"""FileStream: a file sent whole, in chunks read in the threads for blocking work."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sohoa.web.files import CHUNK_BYTES, FileStream


def _client(path: Path, name: str) -> TestClient:
    app = FastAPI()
    reads: list[int] = []

    class Counted(FileStream):
        async def _send_file(self, send):  # counts the body messages sent
            async def counting(message: dict) -> None:
                if message["type"] == "http.response.body":
                    reads.append(len(message["body"]))
                await send(message)

            await super()._send_file(counting)

    @app.get("/file")
    def file() -> Counted:
        return Counted(path, os.stat(path), name, "application/pdf", anyio.CapacityLimiter(2))

    client = TestClient(app)
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
    assert client.reads == [CHUNK_BYTES] * (size // CHUNK_BYTES) + [size % CHUNK_BYTES]


def test_a_name_beyond_ascii_is_given_in_utf_8(tmp_path: Path) -> None:
    path = tmp_path / "f.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    answer = _client(path, "Khai sinh Nguyễn.pdf").get("/file")
    assert answer.headers["content-disposition"] == (
        "attachment; filename*=utf-8''Khai%20sinh%20Nguy%E1%BB%85n.pdf"
    )
