"""Parsing the internal API's JSON into typed requests; anything else is an ApiError (400)."""
import math
from typing import Any, Dict, Mapping, Optional, Tuple

from console.clock import parse_client_time
from console.models import COLLECTED_FIELDS, KINDS, HandoffRequest, IncomingMessage
from console.queue import REASONS
from console.texts import text

# WhatsApp ids are digits; the REST channel's are "rest:" and up to 128 characters
MAX_CITIZEN_ID = 160
MAX_TEXT = 4096
MAX_HISTORY = 200


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail


def invalid(problem: str, **values: Any) -> ApiError:
    """A 400 whose Spanish detail is ``problem`` in messages.yml, filled with ``values``."""
    return ApiError(400, "invalid_request", text(problem, **values))


def _text(body: Mapping[str, Any], key: str, limit: int, required: bool = False) -> Optional[str]:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid("field_missing", field=key)
        return None
    if not isinstance(value, str):
        raise invalid("field_text", field=key)
    if required and not value.strip():
        raise invalid("field_empty", field=key)
    if len(value) > limit or "\x00" in value or not _encodable(value):
        raise invalid("field_too_long", field=key, limit=limit)
    return value


def _encodable(value: str) -> bool:
    """A lone surrogate (valid in JSON's \\u escapes) is no text any database can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(body: Mapping[str, Any], key: str, low: float, high: float) -> Optional[float]:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise invalid("field_number", field=key, low=f"{low:g}", high=f"{high:g}")
    return float(value)


def _flag(body: Mapping[str, Any], key: str) -> Optional[bool]:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid("field_flag", field=key)
    return value


def _object(value: Any, where: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("field_object", field=where)
    return value


def message(raw: Any, where: str, directions: Tuple[str, ...]) -> IncomingMessage:
    body = _object(raw, where)
    at = parse_client_time(body.get("at"))
    if at is None:
        raise invalid("field_time", field=f"{where}.at")
    direction = body.get("direction", directions[0])
    if direction not in directions:
        raise invalid("field_choice", field=f"{where}.direction", choices=", ".join(directions))
    kind = body.get("kind")
    if kind not in KINDS:
        raise invalid("field_choice", field=f"{where}.kind", choices=", ".join(KINDS))
    return IncomingMessage(
        at=at, direction=direction, kind=kind,
        text=_text(body, "text", MAX_TEXT),
        media_ref=_text(body, "media_ref", 1024),
        mime_type=_text(body, "mime_type", 100),
        latitude=_number(body, "latitude", -90, 90),
        longitude=_number(body, "longitude", -180, 180),
        external_id=_text(body, "external_id", 200),
    )


def collected(raw: Any) -> Dict[str, Any]:
    if raw is None:
        return {}
    body = _object(raw, "collected")
    unknown = set(body) - set(COLLECTED_FIELDS)
    if unknown:
        raise invalid("field_unknown", field="collected", names=", ".join(sorted(unknown)))
    parsed = {
        "incident_number": _text(body, "incident_number", 64),
        "emergency_type": _text(body, "emergency_type", 64),
        "address": _text(body, "address", 300),
        "latitude": _number(body, "latitude", -90, 90),
        "longitude": _number(body, "longitude", -180, 180),
        "people_in_danger": _flag(body, "people_in_danger"),
        "description": _text(body, "description", MAX_TEXT),
    }
    return {key: value for key, value in parsed.items() if value is not None}


def handoff_request(raw: Any) -> HandoffRequest:
    body = _object(raw, "body")
    reason = body.get("reason")
    if reason not in REASONS:
        raise invalid("field_choice", field="reason", choices=", ".join(REASONS))
    history = body.get("history") or []
    if not isinstance(history, list):
        raise invalid("field_list", field="history")
    if len(history) > MAX_HISTORY:
        raise invalid("field_too_many", field="history", limit=MAX_HISTORY)
    people_in_danger = _flag(body, "people_in_danger")
    gathered = collected(body.get("collected"))
    if people_in_danger is not None:  # shown to operators with the rest of what the bot gathered
        gathered.setdefault("people_in_danger", people_in_danger)
    return HandoffRequest(
        citizen_id=_text(body, "citizen_id", MAX_CITIZEN_ID, required=True),
        channel=_text(body, "channel", 32, required=True),
        reason=reason,
        topic=_text(body, "topic", 64),
        people_in_danger=people_in_danger,
        summary=_text(body, "summary", MAX_TEXT),
        collected=gathered,
        history=tuple(message(item, f"history[{i}]", ("citizen", "bot")) for i, item in enumerate(history)),
    )


def citizen_message(raw: Any) -> Tuple[str, bool, IncomingMessage]:
    body = _object(raw, "body")
    emergency = _flag(body, "emergency") or False
    citizen_id = _text(body, "citizen_id", MAX_CITIZEN_ID, required=True)
    return citizen_id, emergency, message(body.get("message"), "message", ("citizen",))


def citizen_id(raw: Any) -> str:
    return _text(_object(raw, "body"), "citizen_id", MAX_CITIZEN_ID, required=True)
