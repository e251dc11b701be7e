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
from typing import Any

import anyio
from fastapi.responses import FileResponse, Response

CHUNK_BYTES = 1024 * 1024
BLOCKING_THREADS = 4  # per process: file reads and page renders (pdftoppm) at once


class FileStream(Response):
    """`path` as an attachment named `filename`, read CHUNK_BYTES at a time in `limiter`'s
    threads; stops reading when the client goes away."""

    def __init__(self, path: Path, status: os.stat_result, filename: str, media_type: str,
                 limiter: anyio.CapacityLimiter) -> None:  # fmt: skip
        super().__init__(media_type=media_type)
        # Starlette's headers for the file: length, type, Content-Disposition (RFC 6266,
        # filename* for names beyond ASCII), Last-Modified and ETag.
        described = FileResponse(
            path, media_type=media_type, filename=filename,
            content_disposition_type="attachment", stat_result=status,
        )  # fmt: skip
        self.raw_headers = described.raw_headers
        self.path = path
        self.limiter = limiter

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async with anyio.create_task_group() as group:

            async def stream() -> None:
                await self._send_file(send)
                group.cancel_scope.cancel()

            group.start_soon(stream)
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

    async def _send_file(self, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})  # fmt: skip
        handle = await anyio.to_thread.run_sync(open, self.path, "rb", limiter=self.limiter)
        try:
            more = True
            while more:
                chunk = await anyio.to_thread.run_sync(handle.read, CHUNK_BYTES,
                                                       limiter=self.limiter)  # fmt: skip
                more = len(chunk) == CHUNK_BYTES
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
        finally:
            handle.close()
