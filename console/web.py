"""The operators' pages: login, queue, conversation, media, operators and audit.

Plain forms that POST and redirect (303), each with the session's CSRF token;
the pages' script only refetches HTML fragments when the live feed says
something changed (console/live.py).
"""
import asyncio
import functools
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html, raw, redirect

from console import auth, media, queue
from console.assistant import AssistantError
from console.clock import BUENOS_AIRES
from console.models import Handoff, Operator
from console.outbound import Attachment, ReplyRefused
from console.store import Refused
from console.texts import text

logger = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
REFUSAL_STATUS = {"not_found": 404, "already_held": 409, "not_open": 409, "not_holder": 403,
                  "same_area": 400, "unknown_area": 400, "forbidden_role": 403}
# a session is written back at most this often, not on every request
TOUCH_EVERY = timedelta(seconds=30)


async def db(request: Request, func: Callable, *args: Any) -> Any:
    call = functools.partial(func, *args)
    return await asyncio.get_running_loop().run_in_executor(request.app.ctx.executor, call)


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTTPResponse:
    session = getattr(request.ctx, "session", None)
    page = request.app.ctx.templates.get_template(template).render(
        operator=getattr(request.ctx, "operator", None),
        csrf_token=session["csrf_token"] if session else None,
        areas=request.app.ctx.areas,
        now=request.app.ctx.store.clock(),
        **values,
    )
    return html(page, status=status)


# an operator's attachment (a 16 MB PDF at most) and the form around it
UPLOAD_MAX_BYTES = media.DOCUMENT_MAX_BYTES + 1024 * 1024


def set_cookie(request: Request, response: HTTPResponse, name: str, value: str,
               max_age: Optional[int] = None) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if request.app.ctx.settings.cookie_secure:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


# ----------------------------------------------------------------- middleware


async def load_session(request: Request) -> Optional[HTTPResponse]:
    """Sets ``request.ctx.operator`` and ``request.ctx.session`` (None when logged out), and
    refuses a POST without the CSRF token of its session (or, on /login, of its cookie)."""
    request.ctx.operator = None
    request.ctx.session = None
    stream = getattr(request, "stream", None)
    if stream is not None and (stream.request_bytes or 0) > stream.request_max_size:
        # Sanic refused the body unread (413) and runs the middleware for its error page:
        # let that answer stand instead of a CSRF refusal of an empty form
        return None
    if request.path.startswith(("/api/", "/static/")):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    store = request.app.ctx.store
    if token:
        session = await db(request, store.session, auth.token_hash(token))
        now = store.clock()
        idle = timedelta(minutes=request.app.ctx.settings.session_idle_minutes)
        if session is not None and session["operator"].active and auth.session_alive(
                session["created_at"], session["last_seen_at"], now, idle):
            request.ctx.session = session
            request.ctx.operator = session["operator"]
            # the live feed and its fragments are not the operator's activity
            passive = request.path.startswith(("/events", "/fragments/"))
            if not passive and now - session["last_seen_at"] >= TOUCH_EVERY:
                await db(request, store.touch_session, session["id"])
        elif session is not None:
            await db(request, store.delete_session, session["id"], session["operator"].id, "session_expired")
    if request.method == "POST":
        if _streamed(request):
            # an upload: its body is read by the handler, once the session is known; nobody else
            # gets to make the console hold megabytes in memory
            if request.ctx.session is None:
                return render(request, "error.html", status=403, message=text("session_required"))
            request.stream.request_max_size = UPLOAD_MAX_BYTES
            return None
        return csrf_refusal(request)
    return None


def _streamed(request: Request) -> bool:
    route = getattr(request, "route", None)
    return bool(route is not None and getattr(route.handler, "is_stream", False))


def csrf_refusal(request: Request) -> Optional[HTTPResponse]:
    """The 403 of a POST without its CSRF token (None when it has it); reads the form."""
    if request.path == "/login":
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    elif request.ctx.session is None:  # no session, so no token to match: refused like a forgery
        return render(request, "error.html", status=403, message=text("session_required"))
    else:
        expected = request.ctx.session["csrf_token"]
    given = request.headers.get("x-csrf-token") or (request.form or {}).get("csrf_token")
    if not auth.same_token(given, expected):
        return render(request, "error.html", status=403, message=text("csrf_failed"))
    return None


def login_required(handler: Callable) -> Callable:
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if request.ctx.operator is None:
            if request.path.startswith(("/fragments/", "/events", "/media/")):
                return render(request, "error.html", status=401, message=text("session_required"))
            return redirect("/login", status=303)
        return await handler(request, *args, **kwargs)
    return wrapper


def supervisor_required(handler: Callable) -> Callable:
    @functools.wraps(handler)
    @login_required
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if not request.ctx.operator.viewer.is_supervisor:
            return render(request, "error.html", status=403, message=text("forbidden_role"))
        return await handler(request, *args, **kwargs)
    return wrapper


# ----------------------------------------------------------------- helpers


def _visible_areas(request: Request) -> Optional[list]:
    viewer = request.ctx.operator.viewer
    return None if viewer.is_supervisor else list(viewer.areas)


async def _queue_values(request: Request) -> dict:
    areas = request.app.ctx.areas
    handoffs = await db(request, request.app.ctx.store.open_handoffs, _visible_areas(request))
    now = request.app.ctx.store.clock()
    summary = []
    for area in areas.ordered():
        if not request.ctx.operator.viewer.sees_area(area.key):
            continue
        waiting = [h for h in handoffs if h.area == area.key and h.status == "queued"]
        oldest = min((h.created_at for h in waiting), default=None)
        summary.append({"area": area, "waiting": len(waiting), "oldest": oldest,
                        "open_now": area.open_at(now)})
    return {"handoffs": handoffs, "summary": summary}


async def _visible_handoff(request: Request, handoff_id: int) -> Optional[Handoff]:
    handoff = await db(request, request.app.ctx.store.handoff, handoff_id)
    if handoff is None or not request.ctx.operator.viewer.sees_area(handoff.area):
        return None  # outside the operator's areas it does not exist
    return handoff


async def _conversation_values(request: Request, handoff: Handoff) -> dict:
    messages = await db(request, request.app.ctx.store.messages, handoff.id)
    viewer = request.ctx.operator.viewer
    can = {action: queue.may_act(viewer, handoff.area, handoff.status, handoff.operator_id, action) is None
           for action in ("reply", "hand_back", "transfer", "close")}
    can["take"] = queue.may_take(viewer, handoff.area, handoff.status, handoff.operator_id) is None \
        and handoff.status == "queued"
    return {"handoff": handoff, "messages": messages, "can": can}


async def _conversation_page(request: Request, handoff_id: int, status: int = 200,
                             error: Optional[str] = None, notice: Optional[str] = None) -> HTTPResponse:
    handoff = await _visible_handoff(request, handoff_id)
    if handoff is None:
        return render(request, "error.html", status=404, message=text("not_found"))
    values = await _conversation_values(request, handoff)
    return render(request, "conversation.html", status=status, error=error, notice=notice, **values)


async def _refused(request: Request, handoff_id: int, code: str, **values: Any) -> HTTPResponse:
    status = REFUSAL_STATUS.get(code, 400)
    if status == 404:
        return render(request, "error.html", status=404, message=text("not_found"))
    return await _conversation_page(request, handoff_id, status=status, error=text(code, **values))


# ----------------------------------------------------------------- routes


def blueprint(static_dir: Path) -> Blueprint:
    bp = Blueprint("console_web")
    bp.static("/static", str(static_dir), name="static")

    # ---- login ----------------------------------------------------------

    @bp.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        if request.ctx.operator is not None:
            return redirect("/", status=303)
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or auth.new_csrf_token()
        response = render(request, "login.html", login_csrf=token)
        set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
        return response

    @bp.post("/login")
    async def login(request: Request) -> HTTPResponse:
        store = request.app.ctx.store
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE)
        # counted before the (slow) password check: parallel guesses all count
        if not await db(request, store.book_login_attempt, username, auth.MAX_FAILURES, auth.LOCK_FOR):
            return render(request, "login.html", status=429, error=text("login_locked"),
                          login_csrf=login_csrf, username=username)
        found = await db(request, store.credentials, username)
        stored = found[1] if found else auth.DUMMY_HASH
        verified = await db(request, auth.verify_password, password, stored)
        if not (found and verified and found[0].active):
            locked = await db(request, store.record_login_failure, username, auth.MAX_FAILURES, auth.LOCK_FOR)
            await db(request, store.audit, found[0].id if found else None, "login_failed")
            return render(request, "login.html", status=429 if locked else 401,
                          error=text("login_locked" if locked else "login_failed"),
                          login_csrf=login_csrf, username=username)
        operator: Operator = found[0]
        await db(request, store.clear_login_failures, username)
        if request.ctx.session is not None:  # a new login replaces the session this browser had
            await db(request, store.delete_session, request.ctx.session["id"], None, None)
        token, digest = auth.new_session_token()
        await db(request, store.create_session, operator.id, digest, auth.new_csrf_token())
        response = redirect("/", status=303)
        set_cookie(request, response, SESSION_COOKIE, token)
        return response

    @bp.post("/logout")
    @login_required
    async def logout(request: Request) -> HTTPResponse:
        await db(request, request.app.ctx.store.delete_session, request.ctx.session["id"],
                 request.ctx.operator.id, "logout")
        response = redirect("/login", status=303)
        set_cookie(request, response, SESSION_COOKIE, "", max_age=0)
        return response

    # ---- queue ----------------------------------------------------------

    @bp.get("/")
    @login_required
    async def queue_page(request: Request) -> HTTPResponse:
        return render(request, "queue.html", **await _queue_values(request))

    @bp.get("/fragments/queue")
    @login_required
    async def queue_fragment(request: Request) -> HTTPResponse:
        return render(request, "_queue.html", **await _queue_values(request))

    # ---- conversation ---------------------------------------------------

    @bp.get("/conversations/<handoff_id:int>")
    @login_required
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        return await _conversation_page(request, handoff_id)

    @bp.get("/fragments/conversations/<handoff_id:int>")
    @login_required
    async def conversation_fragment(request: Request, handoff_id: int) -> HTTPResponse:
        handoff = await _visible_handoff(request, handoff_id)
        if handoff is None:
            return render(request, "error.html", status=404, message=text("not_found"))
        return render(request, "_conversation.html", **await _conversation_values(request, handoff))

    @bp.post("/conversations/<handoff_id:int>/take")
    @login_required
    async def take(request: Request, handoff_id: int) -> HTTPResponse:
        try:
            await db(request, request.app.ctx.store.take, handoff_id, request.ctx.operator.viewer)
        except Refused as refused:
            return await _refused(request, handoff_id, refused.code)
        return redirect(f"/conversations/{handoff_id}", status=303)

    @bp.post("/conversations/<handoff_id:int>/transfer")
    @login_required
    async def transfer(request: Request, handoff_id: int) -> HTTPResponse:
        area = request.form.get("area") or ""
        if area not in request.app.ctx.areas.areas:
            return await _refused(request, handoff_id, "unknown_area")
        try:
            await db(request, request.app.ctx.store.transfer, handoff_id, request.ctx.operator.viewer, area)
        except Refused as refused:
            return await _refused(request, handoff_id, refused.code)
        # the operator may not see the new area: back to the queue
        return redirect("/", status=303)

    async def _end(request: Request, handoff_id: int, status: str, response_name: str) -> HTTPResponse:
        store = request.app.ctx.store
        viewer = request.ctx.operator.viewer
        action = {"returned": "hand_back", "closed": "close"}[status]
        try:
            handoff = await db(request, store.check, handoff_id, viewer, action)
        except Refused as refused:
            return await _refused(request, handoff_id, refused.code)
        # Rasa first: a conversation closed here while the bot stays paused would leave the
        # citizen writing to nobody, so it ends only once the bot has taken it back
        try:
            await request.app.ctx.assistant.resume(handoff.citizen_id, response_name)
        except AssistantError as error:
            logger.warning("handoff %s not %s: Rasa was not told: %s", handoff_id, status, error)
            await db(request, store.audit, None, "assistant_failed", handoff_id, str(error))
            return await _conversation_page(request, handoff_id, status=502,
                                            error=text("assistant_failed", detail=str(error)))
        try:
            await db(request, store.end, handoff_id, viewer, status)
        except Refused as refused:
            return await _refused(request, handoff_id, refused.code)
        return redirect("/", status=303)

    @bp.post("/conversations/<handoff_id:int>/return")
    @login_required
    async def hand_back(request: Request, handoff_id: int) -> HTTPResponse:
        return await _end(request, handoff_id, "returned", "utter_handoff_returned")

    @bp.post("/conversations/<handoff_id:int>/close")
    @login_required
    async def close(request: Request, handoff_id: int) -> HTTPResponse:
        return await _end(request, handoff_id, "closed", "utter_handoff_closed")

    @bp.post("/conversations/<handoff_id:int>/reply", stream=True)
    @login_required
    async def reply(request: Request, handoff_id: int) -> HTTPResponse:
        # the only route that takes files: its body (up to UPLOAD_MAX_BYTES) is read here, after
        # load_session found a session, and only then is its CSRF token checked
        await request.receive_body()
        refused = csrf_refusal(request)
        if refused is not None:
            return refused
        ctx = request.app.ctx
        viewer = request.ctx.operator.viewer
        body = (request.form.get("text") or "").strip()
        upload = request.files.get("file") if request.files else None
        if upload is not None and not upload.body:
            upload = None
        if len(body) > 4096:
            return await _refused(request, handoff_id, "reply_too_long")
        if not body and upload is None:
            return await _refused(request, handoff_id, "empty_reply")
        try:
            handoff = await db(request, ctx.store.check, handoff_id, viewer, "reply")
        except Refused as refused:
            return await _refused(request, handoff_id, refused.code)
        attachment = None
        if upload is not None:
            kind = media.upload_kind(upload.body)
            if kind is None:
                return await _refused(request, handoff_id, "bad_file")
            filename = re.sub(r"[^A-Za-z0-9_.-]", "_", upload.name or "archivo")[:100] or "archivo"
            attachment = Attachment(kind[0], upload.body, kind[1], filename)
        try:
            ids = await ctx.outbound.reply(handoff.channel, handoff.citizen_id, body or None, attachment,
                                           handoff.last_citizen_at, ctx.store.clock())
        except ReplyRefused as refused:
            await db(request, ctx.store.audit, viewer.id, "reply_failed", handoff_id, refused.code)
            status = 502 if refused.code == "whatsapp_failed" else 409
            return await _conversation_page(request, handoff_id, status=status,
                                            error=text(refused.code, **refused.values))
        media_ref = None
        if attachment is not None:
            media_ref = str(await db(request, media.save_upload, ctx.settings.upload_dir,
                                     attachment.data, attachment.mime_type))
        try:
            await db(request, ctx.store.record_reply, handoff_id, viewer,
                     attachment.kind if attachment else "text", body or None, media_ref,
                     attachment.mime_type if attachment else None, ids[0] if ids else None,
                     f"kind={attachment.kind if attachment else 'text'} messages={len(ids)}")
        except Refused as refused:  # e.g. a supervisor closed it while the reply was going out
            return await _refused(request, handoff_id, refused.code)
        return redirect(f"/conversations/{handoff_id}", status=303)

    # ---- media ----------------------------------------------------------

    @bp.get("/media/<message_id:int>")
    @login_required
    async def media_file(request: Request, message_id: int) -> HTTPResponse:
        ctx = request.app.ctx
        message = await db(request, ctx.store.message, message_id)
        not_found = render(request, "error.html", status=404, message=text("not_found"))
        if message is None or not message.media_ref:
            return not_found
        if await _visible_handoff(request, message.handoff_id) is None:
            return not_found
        folder = ctx.settings.upload_dir if message.direction == "operator" else ctx.settings.media_dir
        path = media.inside(folder, message.media_ref)
        if path is None:
            return not_found
        data = await db(request, path.read_bytes)
        mime_type = media.sniff(data)
        if mime_type is None:
            return not_found
        headers = {"Cache-Control": "private, no-store"}
        if mime_type == "application/pdf":
            headers["Content-Disposition"] = f'attachment; filename="documento-{message_id}.pdf"'
        return raw(data, content_type=mime_type, headers=headers)

    # ---- supervisors ----------------------------------------------------

    @bp.get("/operators")
    @supervisor_required
    async def operators(request: Request) -> HTTPResponse:
        return render(request, "operators.html",
                      operators=await db(request, request.app.ctx.store.operators))

    async def _operators_page(request: Request, status: int, error: Optional[str] = None,
                              notice: Optional[str] = None) -> HTTPResponse:
        return render(request, "operators.html", status=status, error=error, notice=notice,
                      operators=await db(request, request.app.ctx.store.operators))

    @bp.post("/operators")
    @supervisor_required
    async def create_operator(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        role = request.form.get("role") or ""
        areas = [a for a in request.form.getlist("areas") or [] if a in ctx.areas.areas]
        problem = validate_new_operator(username, password, role)
        if problem:
            return await _operators_page(request, 400, error=text(problem))
        password_hash = await db(request, auth.hash_password, password)
        try:
            await db(request, ctx.store.create_operator, username, password_hash, role, areas,
                     request.ctx.operator.id)
        except Refused as refused:
            return await _operators_page(request, 409, error=text(refused.code))
        return redirect("/operators", status=303)

    @bp.post("/operators/<operator_id:int>/deactivate")
    @supervisor_required
    async def deactivate(request: Request, operator_id: int) -> HTTPResponse:
        if operator_id == request.ctx.operator.id:  # the last supervisor must not lock everyone out
            return await _operators_page(request, 400, error=text("self_deactivate"))
        try:
            await db(request, request.app.ctx.store.deactivate, operator_id, request.ctx.operator.id)
        except Refused as refused:
            return await _operators_page(request, 404, error=text(refused.code))
        return redirect("/operators", status=303)

    @bp.post("/operators/<operator_id:int>/password")
    @supervisor_required
    async def reset_password(request: Request, operator_id: int) -> HTTPResponse:
        password = request.form.get("password") or ""
        if len(password) < auth.MIN_PASSWORD_LENGTH:
            return await _operators_page(request, 400, error=text("password_short"))
        password_hash = await db(request, auth.hash_password, password)
        try:
            await db(request, request.app.ctx.store.set_password, operator_id, password_hash,
                     request.ctx.operator.id)
        except Refused as refused:
            return await _operators_page(request, 404, error=text(refused.code))
        return redirect("/operators", status=303)

    @bp.get("/audit")
    @supervisor_required
    async def audit(request: Request) -> HTTPResponse:
        return render(request, "audit.html", rows=await db(request, request.app.ctx.store.latest_audit))

    return bp


def validate_new_operator(username: str, password: str, role: str) -> Optional[str]:
    """The message code of what is wrong with a new operator, or None."""
    if not USERNAME.match(username):
        return "username_invalid"
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        return "password_short"
    if role not in (queue.OPERATOR, queue.SUPERVISOR):
        return "role_invalid"
    return None


def local_time(moment: Optional[datetime]) -> str:
    return moment.astimezone(BUENOS_AIRES).strftime("%d/%m %H:%M") if moment else ""
