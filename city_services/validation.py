"""Input validation: every bad input becomes an :class:`ApiError` (400/422 + JSON)."""
import math
import re
from urllib.parse import unquote
from datetime import date, datetime
from typing import Any, Dict, Mapping, Optional, Sequence

from city_services.clock import BA_TZ
from city_services.text import fold


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "details"}}``."""

    def __init__(
        self, status: int, code: str, message: str, details: Optional[Dict[str, Any]] = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> Dict[str, Any]:
        error: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, "invalid_" + field, message, {"field": field})


# ASCII only: \d also matches other scripts' digits, which int() reads but no record has
_PLATE = re.compile(r"^(?:[A-Z]{3}\d{3}|[A-Z]{2}\d{3}[A-Z]{2}|\d{3}[A-Z]{3}|[A-Z]\d{3}[A-Z]{3})$", re.ASCII)


def plate(value: Any) -> str:
    """'ab 123 cd' → 'AB123CD' (cars old/Mercosur, motorcycles old/Mercosur)."""
    text = re.sub(r"[\s.\-]", "", str(value or "")).upper()
    if not _PLATE.match(text):
        raise invalid("plate", "plate must look like AB123CD, ABC123, A123BCD or 123ABC")
    return text


def dni(value: Any) -> str:
    text = re.sub(r"[\s.]", "", str(value or ""))
    if not re.fullmatch(r"[0-9]{7,8}", text) or int(text) < 1_000_000:
        raise invalid("dni", "dni must have 7 or 8 digits, e.g. 30123456")
    return text


def text(value: Any, field: str, max_length: int = 2000, required: bool = True) -> Optional[str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(field, f"{field} is required")
        return None
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be a string")
    if "\x00" in value:  # PostgreSQL cannot store it
        raise invalid(field, f"{field} must not contain NUL characters")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(field, f"{field} is longer than {max_length} characters")
    return value


def choice(value: Any, field: str, allowed: Sequence[str], required: bool = True) -> Optional[str]:
    if value is None or value == "":
        if required:
            raise invalid(field, f"{field} is required; one of {', '.join(allowed)}")
        return None
    if not isinstance(value, str) or value not in allowed:
        raise invalid(field, f"{field} must be one of {', '.join(allowed)}")
    return value


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise invalid(field, f"{field} must be true or false")


def number(value: Any, field: str, low: float, high: float, required: bool = True) -> Optional[float]:
    if value is None or value == "":
        if required:
            raise invalid(field, f"{field} is required")
        return None
    if isinstance(value, bool):
        raise invalid(field, f"{field} must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise invalid(field, f"{field} must be a number") from None
    if not math.isfinite(result) or not low <= result <= high:
        raise invalid(field, f"{field} must be between {low} and {high}")
    return result


def integer(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        result = int(str(value))
    except ValueError:
        raise invalid(field, f"{field} must be an integer") from None
    if not low <= result <= high:
        raise invalid(field, f"{field} must be between {low} and {high}")
    return result


def iso_date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise invalid(field, f"{field} must be a date YYYY-MM-DD") from None


def lat_lon(args: Mapping[str, Any], required: bool) -> Optional[tuple]:
    lat, lon = args.get("lat"), args.get("lon")
    if lat in (None, "") and lon in (None, ""):
        if required:
            raise invalid("lat", "lat and lon are required")
        return None
    return (
        number(lat, "lat", -90, 90),
        number(lon, "lon", -180, 180),
    )


def key(value: str) -> str:
    return fold(value)


def json_object(body: Any) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return body


_TICKET = re.compile(r"^(?:([A-Z]{2,3})\s*[-\s]?\s*)?0*(\d{1,6})$", re.ASCII)


def reference(value: Any, prefix: str) -> str:
    """'SOL-000123', 'sol 123', '123' → 'SOL-000123'; another prefix → invalid."""
    match = _TICKET.match(unquote(str(value or "")).strip().upper())
    if not match or (match.group(1) and match.group(1) != prefix):
        raise invalid("reference", f"expected a reference like {prefix}-000123", status=400)
    return f"{prefix}-{int(match.group(2)):06d}"


def aware_datetime(value: Any, field: str, required: bool = True) -> Optional[datetime]:
    """ISO-8601 with an explicit offset ('2026-11-23T15:00:00-03:00')."""
    if value is None or value == "":
        if required:
            raise invalid(field, f"{field} is required")
        return None
    try:
        result = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, f"{field} must be an ISO-8601 date-time") from None
    if result.tzinfo is None:
        raise invalid(field, f"{field} must include a UTC offset")
    return result


def as_ba(value: datetime) -> str:
    """Stored timestamps share the Buenos Aires offset so they compare as text."""
    return value.astimezone(BA_TZ).replace(microsecond=0).isoformat()
