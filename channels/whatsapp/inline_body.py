"""A small request body written with its headers, in the same turn of the event loop.

aiohttp before 3.12 writes a request's headers at once and its body from a task
of its own (aio-libs/aiohttp#4845). On Rasa's event loop, where NLU and policies
run in blocking stretches, that task starts a whole round of the loop later: with
16 citizens writing, every answer reached Meta 60-150 ms after Rasa's turn had
ended, the one wait a REST answer does not have (docs/benchmarks.md). aiohttp
3.12 sends headers and a small body together itself (aio-libs/aiohttp#10991);
this does the same for the versions Rasa 3.6 pins (< 3.10), and steps aside on
3.12 and later.

Use: ``aiohttp.ClientSession(request_class=InlineBodyRequest)`` and
``data=InlineBody(json_bytes, content_type="application/json")``. Other bodies
(forms, files) go the usual way.
"""
from typing import Any

import aiohttp
from aiohttp import payload

# bodies larger than this go the usual way (a Graph API message is a few KB at most)
MAX_INLINE_BYTES = 64 * 1024

AIOHTTP_COALESCES = tuple(int(part) for part in aiohttp.__version__.split(".")[:2]) >= (3, 12)


class InlineBody(payload.BytesPayload):
    """Bytes that :class:`InlineBodyRequest` writes right after the headers."""

    def __init__(self, value: bytes, *args: Any, **kwargs: Any) -> None:
        super().__init__(value, *args, **kwargs)
        self.data = bytes(value)
        self.written = False

    async def write(self, writer: Any) -> None:
        # aiohttp's body task still runs afterwards: it must not write it again
        if not self.written:
            self.written = True
            await super().write(writer)


class InlineBodyRequest(aiohttp.ClientRequest):
    async def send(self, conn: Any) -> Any:
        response = await super().send(conn)  # headers written, body task not started yet
        body = self.body
        if (
            not AIOHTTP_COALESCES
            and isinstance(body, InlineBody)
            and not body.written
            and len(body.data) <= MAX_INLINE_BYTES
            and not getattr(self, "chunked", None)
            and not getattr(self, "compress", None)
            and getattr(self, "_continue", None) is None  # no "Expect: 100-continue" wait
            and conn.transport is not None
        ):
            body.written = True
            conn.transport.write(body.data)
        return response
