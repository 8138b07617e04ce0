"""The live feed: Server-Sent Events of the handoffs an operator may see.

One poller per console process reads the ``changes`` table (which every mutation writes to, so
a change made by another console process reaches this one's operators too) and hands each
change to the open streams; a hundred operators cost one query per poll, not a hundred. Streams
are capped per session and per process: a page open in many tabs, or a script opening streams,
cannot starve the rest.
"""
import asyncio
import json
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any, Dict, List, Optional, Set

from sanic.request import Request
from sanic.response import HTTPResponse

from console import auth
from console.texts import text
from console.web import db, login_required, render

logger = logging.getLogger(__name__)

STREAMS_PER_SESSION = 6
STREAMS_PER_PROCESS = 500
_QUEUE_SIZE = 1000


class ChangeFeed:
    """Fans the rows of ``changes`` out to the open streams of this process."""

    def __init__(self, store: Any, poll_seconds: float, executor: Any = None) -> None:
        self._store = store
        self._executor = executor
        self._poll_seconds = poll_seconds
        self._queues: Set["asyncio.Queue[Optional[Dict[str, Any]]]"] = set()
        self._per_session: Counter = Counter()
        self._task: Optional["asyncio.Task[None]"] = None
        self._last: Optional[int] = None

    def open(self, session_id: int) -> Optional["asyncio.Queue[Optional[Dict[str, Any]]]"]:
        """A queue of changes for a new stream, or None when a cap is reached."""
        if len(self._queues) >= STREAMS_PER_PROCESS or self._per_session[session_id] >= STREAMS_PER_SESSION:
            return None
        queue: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._queues.add(queue)
        self._per_session[session_id] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())
        return queue

    async def ready(self) -> None:
        """Fixes where the feed starts before a new stream says it is connected: a change made
        right after that must reach it (read later, it would count as already seen)."""
        if self._last is None:
            self._last = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._store.last_change_id)

    def close(self, session_id: int, queue: "asyncio.Queue[Optional[Dict[str, Any]]]") -> None:
        self._queues.discard(queue)
        self._per_session[session_id] -= 1
        if self._per_session[session_id] <= 0:
            del self._per_session[session_id]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queues:
            if self._last is None:  # the first stream's ready() sets where to start
                await asyncio.sleep(self._poll_seconds)
                continue
            try:
                changes: List[Dict[str, Any]] = await loop.run_in_executor(
                    self._executor, self._store.changes_after, self._last)
            except Exception:  # the database is back at the next poll; the streams stay open
                logger.exception("The live feed could not read the changes.")
                changes = []
            for change in changes:
                self._last = change["id"]
                for queue in list(self._queues):
                    if queue.full():  # a stream that does not read: it refetches on reconnection
                        continue
                    queue.put_nowait(change)
            await asyncio.sleep(self._poll_seconds)
        self._last = None  # nobody listened meanwhile: start from the end next time


@login_required
async def events(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    store, settings, feed = ctx.store, ctx.settings, ctx.feed
    viewer = request.ctx.operator.viewer
    session = request.ctx.session
    queue = feed.open(session["id"])
    if queue is None:
        return render(request, "error.html", status=429, message=text("too_many_streams"))
    idle = timedelta(minutes=settings.session_idle_minutes)
    try:
        await feed.ready()
        response = await request.respond(content_type="text/event-stream; charset=utf-8",
                                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await response.send(": conectado\n\n")
        beat = time.monotonic()
        while True:
            try:
                first = await asyncio.wait_for(queue.get(), timeout=settings.poll_seconds * 4)
            except asyncio.TimeoutError:
                first = None
            changes = [first] if first else []
            while not queue.empty():
                changes.append(queue.get_nowait())
            seen = set()
            for change in changes:
                key = (change["handoff_id"], change["kind"])
                if key in seen or not viewer.sees_area(change["area"]):
                    continue
                seen.add(key)
                data = json.dumps({"handoff_id": change["handoff_id"], "kind": change["kind"]})
                await response.send(f"event: change\ndata: {data}\n\n")
            if time.monotonic() - beat >= settings.heartbeat_seconds:
                beat = time.monotonic()
                # a logged-out or expired session ends its stream
                current = await db(request, store.session,
                                   auth.token_hash(request.cookies.get("console_session", "")))
                if current is None or current["id"] != session["id"] or not auth.session_alive(
                        current["created_at"], current["last_seen_at"], store.clock(), idle):
                    break
                await response.send(": latido\n\n")
        await response.eof()
    finally:
        feed.close(session["id"], queue)
