"""The live feed: Server-Sent Events of the handoffs an operator may see.

Each connection polls the ``changes`` table, which every mutation writes to, so a
change made by another console process reaches this one's operators too.
"""
import asyncio
import json
import logging
import time
from datetime import timedelta

from sanic.request import Request
from sanic.response import HTTPResponse

from console import auth
from console.web import db, login_required

logger = logging.getLogger(__name__)


@login_required
async def events(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    store, settings = ctx.store, ctx.settings
    viewer = request.ctx.operator.viewer
    session = request.ctx.session
    idle = timedelta(minutes=settings.session_idle_minutes)
    last = await db(request, store.last_change_id)
    response = await request.respond(content_type="text/event-stream; charset=utf-8",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    await response.send(": conectado\n\n")
    beat = time.monotonic()
    while True:
        changes = await db(request, store.changes_after, last)
        seen = set()
        for change in changes:
            last = change["id"]
            key = (change["handoff_id"], change["kind"])
            if key in seen or not viewer.sees_area(change["area"]):
                continue
            seen.add(key)
            data = json.dumps({"handoff_id": change["handoff_id"], "kind": change["kind"]})
            await response.send(f"event: change\ndata: {data}\n\n")
        if time.monotonic() - beat >= settings.heartbeat_seconds:
            beat = time.monotonic()
            # a logged-out or expired session ends its stream
            current = await db(request, store.session, auth.token_hash(request.cookies.get("console_session", "")))
            if current is None or current["id"] != session["id"] or not auth.session_alive(
                    current["created_at"], current["last_seen_at"], store.clock(), idle):
                break
            await response.send(": latido\n\n")
        await asyncio.sleep(settings.poll_seconds)
    await response.eof()
