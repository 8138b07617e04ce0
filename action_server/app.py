"""rasa-sdk's action server, answering only to Rasa.

Rasa sends the ``action_endpoint`` ``token:`` of endpoints.yml as the query parameter
``token`` of every call (``rasa.utils.endpoints.EndpointConfig.request``). Without it anyone
who reaches the port could run any action with any slots, e.g. list the appointments of a
chosen DNI. ``/health`` stays open for the run script and load balancers.

Malformed bodies are refused here with a 400 before rasa-sdk sees them: its handler turns
whatever the body breaks into a 500 that echoes the body back.
"""
import hmac
import json
import logging
import os
import zlib
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Text

from rasa_sdk.endpoint import create_app as create_sdk_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_PARAM = "token"  # rasa.utils.endpoints.EndpointConfig's default token_name
OPEN_PATHS = frozenset({"/health"})
# Rasa sends the whole tracker with each call: long conversations reach a few MB.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ActionServerSettings:
    token: Text
    interface: Text = "127.0.0.1"
    port: int = 5055
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("ACTION_SERVER_TOKEN is empty: the action server never runs without a token")

    @classmethod
    def from_env(cls, env: Optional[Mapping[Text, Text]] = None) -> "ActionServerSettings":
        env = os.environ if env is None else env
        return cls(
            token=env.get("ACTION_SERVER_TOKEN", ""),
            interface=env.get("ACTIONS_INTERFACE") or "127.0.0.1",
            port=int(env.get("ACTIONS_PORT") or 5055),
            max_body_bytes=int(env.get("ACTIONS_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
        )


class MalformedActionCall(ValueError):
    """The body is not an action call Rasa could have sent."""


def parse_action_call(body: bytes, deflated: bool, max_bytes: int) -> Dict[Text, Any]:
    """The JSON action call, checked for the shape rasa-sdk's executor reads."""
    if deflated:
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, max_bytes + 1)
        except zlib.error as error:
            raise MalformedActionCall("body is not deflate data") from error
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise MalformedActionCall("inflated body too large")
    try:
        call = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise MalformedActionCall("body is not JSON") from error
    if not isinstance(call, dict):
        raise MalformedActionCall("body is not a JSON object")
    if not isinstance(call.get("next_action"), str):
        raise MalformedActionCall("next_action must be a string")
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        raise MalformedActionCall("tracker must be an object with a sender_id")
    for key, kind in (("slots", dict), ("latest_message", dict), ("events", list), ("active_loop", dict)):
        if key in tracker and not isinstance(tracker[key], kind):
            raise MalformedActionCall(f"tracker.{key} must be a {kind.__name__}")
    # rasa-sdk indexes these without checking them; Rasa always sends them in this shape.
    if not all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in tracker.get("events") or []):
        raise MalformedActionCall("every tracker event must be an object with an event type")
    latest = tracker.get("latest_message") or {}
    for key, kind in (("intent", dict), ("entities", list), ("intent_ranking", list), ("metadata", dict)):
        if key in latest and not isinstance(latest[key], kind):
            raise MalformedActionCall(f"tracker.latest_message.{key} must be a {kind.__name__}")
    if not all(isinstance(e, dict) for e in latest.get("entities") or []):
        raise MalformedActionCall("every entity must be an object")
    if "version" in call and not isinstance(call["version"], str):  # rasa-sdk splits it
        raise MalformedActionCall("version must be a string")
    if not isinstance(call.get("domain", {}), dict):
        raise MalformedActionCall("domain must be an object")
    domain = call.get("domain") or {}
    for key in ("slots", "forms"):  # rasa-sdk's forms read every entry as an object
        entries = domain.get(key, {})
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise MalformedActionCall(f"domain.{key} must map names to objects")
    return call


def _declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _refuse(status: int, error: Text) -> HTTPResponse:
    return response.json({"error": error}, status=status)


def create_app(settings: ActionServerSettings, package: Text = "actions") -> Sanic:
    """rasa-sdk's app for ``package`` with the token, shape and size checks in front."""
    app = create_sdk_app(package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    expected = settings.token.encode("utf-8")

    @app.on_request
    async def guard(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = request.args.get(TOKEN_PARAM) or ""
        if not given:
            return _refuse(401, "missing token")
        if not hmac.compare_digest(given.encode("utf-8"), expected):
            return _refuse(403, "wrong token")
        if request.method == "POST" and request.path == "/webhook":
            if _declared_length(request) > settings.max_body_bytes:
                return _refuse(413, "body too large")
            deflated = request.headers.get("Content-Encoding") == "deflate"
            try:
                call = parse_action_call(request.body, deflated, settings.max_body_bytes)
            except MalformedActionCall as error:
                return _refuse(400, str(error))
            request.parsed_json = call  # rasa-sdk's request.json: parsed once
            if deflated:  # rasa-sdk would inflate it again, without a size limit
                del request.headers["Content-Encoding"]
        return None

    # Replaces rasa-sdk's handler, which answers 500 with the exception text and the request body.
    @app.exception(Exception)
    async def on_error(request: Request, error: Exception) -> HTTPResponse:
        if isinstance(error, SanicException):
            return _refuse(getattr(error, "status_code", 400) or 400, error.__class__.__name__)
        logger.error("action call failed on %s", request.path, exc_info=error)
        return _refuse(500, "internal error")

    return app
