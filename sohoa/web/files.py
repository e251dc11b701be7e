"""Files sent from disk through the server's threads for blocking work, apart from the
route threads (web.threads), where a read would wait in line behind every page queued.

Starlette's FileResponse reads its chunks in anyio's default threads, which are the route
threads. With one route thread per process (10^5 records, 50 clients), a 300 KB download
had its headers after 73-79 ms (p50) and its body after 145-170 ms: the one read waited
for the pages queued before it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from fastapi.responses import FileResponse, Response

CHUNK_BYTES = 1024 * 1024
BLOCKING_THREADS = 4  # per process: file reads, page renders, sign-ins' Argon2, at once


class FileStream(Response):
    """`path` as an attachment named `filename`, read CHUNK_BYTES at a time in `limiter`'s
    threads (None: anyio's default ones); stops reading when the client goes away. The
    whole file, always: no byte ranges (each range would be a download in the access log)."""

    def __init__(self, path: Path, filename: str, media_type: str,
                 limiter: anyio.CapacityLimiter | None) -> None:  # fmt: skip
        super().__init__(media_type=media_type)
        self.path, self.filename, self.limiter = path, filename, limiter

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # Opened before anything is sent: a file gone since the route found it is an error
        # answer, not a 200 cut short. Its length is that of the open file.
        handle = await anyio.to_thread.run_sync(open, self.path, "rb", limiter=self.limiter)
        try:
            await self._send_watching(handle, receive, send)
        finally:
            handle.close()
        if self.background is not None:
            await self.background()

    async def _send_watching(self, handle: BinaryIO, receive: Any, send: Any) -> None:
        """_send_file, given up when the client disconnects (uvicorn would drop the rest)."""
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._send_file(handle, send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()
        except ExceptionGroup as failed:  # the one task's error, as itself
            if len(failed.exceptions) == 1:
                raise failed.exceptions[0] from None
            raise

    async def _send_file(self, handle: BinaryIO, send: Any) -> None:
        status = os.fstat(handle.fileno())
        # Starlette's headers for the file: length, type, Content-Disposition (RFC 6266,
        # filename* for names beyond ASCII), Last-Modified and ETag; not Accept-Ranges.
        described = FileResponse(
            self.path, media_type=self.media_type, filename=self.filename,
            content_disposition_type="attachment", stat_result=status,
        )  # fmt: skip
        headers = [(k, v) for k, v in described.raw_headers if k != b"accept-ranges"]
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": headers})  # fmt: skip
        remaining = status.st_size
        while True:
            chunk = await anyio.to_thread.run_sync(handle.read, min(CHUNK_BYTES, remaining),
                                                   limiter=self.limiter)  # fmt: skip
            remaining -= len(chunk)
            more = bool(chunk) and remaining > 0
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return
