"""The console's Sanic app (21.12, as in Rasa 3.6): internal API, pages, live feed.

Handlers stay ``async`` and never touch the database on the event loop: store
calls run in a bounded thread pool, as in city_services.app.
"""
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from city_services.db import Database
from console import api, live, timeouts, web
from console.api import json_response
from console.areas import AreaBook, load_areas
from console.assistant import Assistant
from console.clock import Clock, utc_now
from console.config import ConsoleSettings
from console.outbound import Outbound
from console.store import Store
from console.texts import text
from console.validation import ApiError

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# every body but an operator's upload (the reply route streams its own, larger, limit: web.py),
# so that nobody can make the console buffer megabytes before it knows who is asking
REQUEST_MAX_SIZE = 1024 * 1024 + 64 * 1024


class ConfigurationError(Exception):
    """The console must not start with these settings."""


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters["local_time"] = web.local_time
    environment.filters["waited"] = _waited
    return environment


def _waited(since, now) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def create_app(settings: ConsoleSettings, *, store: Optional[Store] = None,
               assistant: Optional[Assistant] = None, outbound: Optional[Outbound] = None,
               areas: Optional[AreaBook] = None, clock: Clock = utc_now,
               name: str = "console", run_timeouts: bool = True) -> Sanic:
    if not settings.api_token:
        raise ConfigurationError("CONSOLE_API_TOKEN is not set: the internal API would be open")
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.ctx.settings = settings
    app.ctx.store = store or Store(Database(settings.database_url), clock)
    app.ctx.store.initialise()
    app.ctx.areas = areas or load_areas(settings.areas_file)
    app.ctx.assistant = assistant or Assistant(settings.rasa_url, settings.rasa_api_token)
    app.ctx.outbound = outbound or Outbound(settings.reply_template, settings.reply_template_language)
    app.ctx.templates = templates()
    app.ctx.executor = ThreadPoolExecutor(max_workers=settings.db_threads, thread_name_prefix="console-db")
    app.ctx.feed = live.ChangeFeed(app.ctx.store, settings.poll_seconds, app.ctx.executor)
    app.ctx.serving = False
    app.ctx.tasks = []

    app.blueprint(api.blueprint(settings.api_token))
    app.blueprint(web.blueprint(HERE / "static"))
    app.add_route(live.events, "/events", methods=["GET"], name="events")

    app.register_middleware(web.load_session, "request")

    @app.middleware("response")
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        # pages and fragments show citizens' messages: no copy stays in a browser's or proxy's cache
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")

    @app.after_server_start
    async def started(app_: Sanic, _loop) -> None:
        app_.ctx.serving = True
        if run_timeouts:
            app_.ctx.tasks.append(asyncio.get_running_loop().create_task(timeouts.run_forever(
                app_.ctx.store, app_.ctx.assistant, timedelta(minutes=settings.handoff_wait_minutes),
                settings.check_seconds, timedelta(minutes=settings.session_idle_minutes))))

    @app.before_server_stop
    async def stopping(app_: Sanic, _loop) -> None:
        for task in app_.ctx.tasks:
            task.cancel()
        await app_.ctx.feed.stop()
        await app_.ctx.outbound.close()

    @app.after_server_stop
    async def stopped(app_: Sanic, _loop) -> None:
        app_.ctx.store.database.close()
        app_.ctx.executor.shutdown(wait=False)

    def _is_api(request: Request) -> bool:
        return request.path.startswith("/api/")

    @app.exception(ApiError)
    async def api_error(request: Request, error: ApiError) -> HTTPResponse:
        message = text(error.code, detail=error.detail) if error.detail else text(error.code)
        return json_response({"error": error.code, "message": message}, status=error.status)

    @app.exception(SanicException)
    async def sanic_error(request: Request, error: SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            status, "internal_error" if status >= 500 else "invalid_request")
        message = text(code, detail=str(error)) if code == "invalid_request" else text(code)
        if _is_api(request):
            return json_response({"error": code, "message": message}, status=status)
        return web.render(request, "error.html", status=status, message=message)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api(request):
            return json_response({"error": "internal_error", "message": text("internal_error")}, status=500)
        return web.render(request, "error.html", status=500, message=text("internal_error"))

    return app
