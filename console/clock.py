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


# how far from now a message's own time is believed; beyond, it is stored as received now
# (a year-5 date would not even sort as text among 2026's, and breaks nothing of the citizen's)
_BELIEVED_PAST = timedelta(days=400)
_BELIEVED_FUTURE = timedelta(minutes=10)


def parse_client_time(value: object, now: Optional[datetime] = None) -> Optional[datetime]:
    """A time sent by the bot: ISO-8601 text (offset or ``Z``) or epoch seconds; None if unreadable.

    A readable time far from ``now`` (a broken clock, a forged date) becomes ``now``."""
    moment: Optional[datetime] = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            moment = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # a readable date at the very edge of the calendar
            return now or utc_now()
    if moment is None:
        return None
    now = now or utc_now()
    if not now - _BELIEVED_PAST <= moment <= now + _BELIEVED_FUTURE:
        return now
    return moment
