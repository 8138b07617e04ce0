"""UTC time as the console stores it, behind an injectable clock (tests move time).

Timestamps are ISO-8601 text with microseconds and a ``Z``: one fixed width, so
text order is time order in SQLite and PostgreSQL alike.
"""
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

Clock = Callable[[], datetime]
UTC = timezone.utc
# Argentina keeps no daylight saving time: a fixed offset, independent of the host's tz data.
BUENOS_AIRES = timezone(timedelta(hours=-3), "America/Argentina/Buenos_Aires")


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def parse_client_time(value: object) -> Optional[datetime]:
    """A time sent by the bot: ISO-8601 text (offset or ``Z``) or epoch seconds; None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
