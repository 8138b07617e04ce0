"""Time in Buenos Aires (UTC-3 all year: Argentina keeps no daylight saving time).

A fixed offset rather than zoneinfo keeps the service independent of the
host's tz database.
"""
from datetime import date, datetime, timedelta, timezone

BA_TZ = timezone(timedelta(hours=-3), "America/Argentina/Buenos_Aires")


def now() -> datetime:
    return datetime.now(BA_TZ).replace(microsecond=0)


def today() -> date:
    return now().date()
