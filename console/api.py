"""The internal API the bot's processes call (bearer token ``CONSOLE_API_TOKEN``).

``POST /api/handoffs`` opens (or merges into) a citizen's handoff,
``POST /api/handoffs/messages`` appends what the citizen writes meanwhile,
``GET /api/handoffs?citizen_id=`` reads a citizen's handoffs with their messages,
``POST /api/citizens/erase`` erases a citizen's handoffs on their request,
``POST /api/retention/purge`` forgets the handoffs that ended before the retention limit,
``GET /api/health`` answers without a token.
"""
import asyncio
import functools
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json as _json

from console import citizen_records, media, queue, validation
from console.clock import to_text
from console.validation import ApiError

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200) -> HTTPResponse:
    """JSON in UTF-8 (accents readable), as city_services answers."""
    return _json(body, status=status, dumps=_dumps)


def _authorize(request: Request, token: str) -> None:
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not given:
        raise ApiError(401, "unauthorized")
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        raise ApiError(403, "forbidden")


def _body(request: Request) -> Any:
    length = request.headers.get("content-length")
    if (length and length.isdigit() and int(length) > MAX_BODY) or len(request.body or b"") > MAX_BODY:
        raise ApiError(413, "too_large")
    try:
        return json.loads(request.body or b"")
    except (ValueError, RecursionError):  # RecursionError: arrays nested 100,000 deep
        raise ApiError(400, "invalid_json") from None


def blueprint(token: str) -> Blueprint:
    bp = Blueprint("console_api", url_prefix="/api")

    @bp.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @bp.post("/handoffs")
    async def open_handoff(request: Request) -> HTTPResponse:
        _authorize(request, token)
        handoff_request = validation.handoff_request(_body(request))
        ctx = request.app.ctx
        people_in_danger = handoff_request.people_in_danger
        if people_in_danger is None:
            people_in_danger = handoff_request.collected.get("people_in_danger")
        priority = queue.priority_for(handoff_request.reason, people_in_danger)
        area = ctx.areas.for_handoff(handoff_request.reason == "emergency", handoff_request.topic)
        open_now = area.open_at(ctx.store.clock())
        handoff, created, ahead = await asyncio.get_running_loop().run_in_executor(
            ctx.executor, ctx.store.open_handoff, handoff_request, area.key, priority, open_now)
        if handoff.area != area.key and handoff.area in ctx.areas.areas:  # merged into another area's
            open_now = ctx.areas.areas[handoff.area].open_at(ctx.store.clock())
        return json_response({
            "id": handoff.id, "status": handoff.status, "area": handoff.area,
            "area_name": ctx.areas.name(handoff.area), "priority": handoff.priority,
            "open_now": open_now, "waiting_ahead": ahead,
        }, status=201 if created else 200)

    @bp.post("/handoffs/messages")
    async def citizen_message(request: Request) -> HTTPResponse:
        _authorize(request, token)
        citizen_id, emergency, item = validation.citizen_message(_body(request))
        ctx = request.app.ctx
        loop = asyncio.get_running_loop()
        # the connector repeats the life-safety numbers only for a conversation that was not
        # an emergency already: the citizen of an emergency handoff has had them
        reason = await loop.run_in_executor(ctx.executor, citizen_records.open_reason, ctx.store.database, citizen_id)
        handoff_id = await loop.run_in_executor(
            ctx.executor, ctx.store.append_citizen_message, citizen_id, item, emergency,
            ctx.areas.emergency)
        if handoff_id is None:
            raise ApiError(404, "no_open_handoff")
        return json_response({"handoff_id": handoff_id, "already_emergency": reason == "emergency"}, status=202)

    @bp.get("/handoffs")
    async def citizen_handoffs(request: Request) -> HTTPResponse:
        _authorize(request, token)
        citizen_id = validation.citizen_id({"citizen_id": request.args.get("citizen_id")})
        ctx = request.app.ctx
        handoffs = await asyncio.get_running_loop().run_in_executor(
            ctx.executor, citizen_records.handoffs_of, ctx.store.database, citizen_id)
        for handoff in handoffs:
            handoff["collected"] = json.loads(handoff["collected"] or "{}")
        return json_response({"handoffs": handoffs})

    @bp.post("/citizens/erase")
    async def forget(request: Request) -> HTTPResponse:
        """The citizen asked to erase their data: every handoff of theirs goes."""
        _authorize(request, token)
        citizen_id = validation.citizen_id(_body(request))
        ctx = request.app.ctx
        loop = asyncio.get_running_loop()
        count, uploads = await loop.run_in_executor(ctx.executor, ctx.store.forget_citizen, citizen_id)
        await loop.run_in_executor(ctx.executor, media.delete_uploads, ctx.settings.upload_dir, uploads)
        return json_response({"handoffs": count})

    @bp.post("/retention/purge")
    async def purge(request: Request) -> HTTPResponse:
        """make purge: the handoffs that ended before the retention limit go."""
        _authorize(request, token)
        body = _body(request)
        days = body.get("older_than_days") if isinstance(body, dict) else None
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 36500:
            raise validation.invalid("field_number", field="older_than_days", low=0, high=36500)
        ctx = request.app.ctx
        loop = asyncio.get_running_loop()
        before = to_text(ctx.store.clock() - timedelta(days=days))
        count, uploads = await loop.run_in_executor(ctx.executor, ctx.store.purge, before)
        await loop.run_in_executor(ctx.executor, media.delete_uploads, ctx.settings.upload_dir, uploads)
        return json_response({"handoffs": count})

    return bp
