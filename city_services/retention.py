"""Forgetting citizens: erase one citizen's records on request, anonymise old ones.

Two writes, each in one transaction (see :mod:`city_services.repository` for the style):

* :func:`forget_citizen`, the citizen's "borrar mis datos": their appointments are deleted
  (a booking still to come frees its slot); their service requests and emergency reports
  stay, because the city still has to fix the pothole or answer the emergency, but lose
  every personal field (who, what they wrote, where, the photo).
* :func:`anonymise_older_than`, the retention limit (``make purge``): records older than
  the limit lose the same personal fields; statistics (category, status, dates, specialty)
  remain.

``citizen_id`` columns are NOT NULL, so an anonymised record carries ``ANONYMOUS`` (the
empty string), which no channel's sender id can equal.
"""
from datetime import timedelta
from typing import Dict

from city_services.clock import now
from city_services.db import Cursor, Database

ANONYMOUS = ""

# The first answer to a write is replayed to a retry of it (Idempotency-Key) for one day: long
# enough for any retry after a timeout, short enough that the copy of what the citizen wrote
# that it holds does not outlive the retry it is for.
IDEMPOTENCY_REPLAY = timedelta(days=1)

# The personal fields of reports: who, their own words, the place and the photo.
_REPORT_FIELDS = (
    "citizen_id = '', description = '', address = NULL, lat = NULL, lon = NULL, photo = NULL"
)


def _anonymise_reports(cursor: Cursor, table: str, where: str, params: tuple) -> int:
    return cursor.execute(
        f"UPDATE {table} SET {_REPORT_FIELDS} WHERE citizen_id <> '' AND {where}", params
    ).rowcount


def forget_citizen(db: Database, citizen_id: str) -> Dict[str, int]:
    """Erases what the city keeps of one citizen; returns the count of records by kind."""
    with db.transaction(write=True) as cursor:
        cursor.execute(
            "UPDATE slots SET booked = 0 WHERE id IN (SELECT slot_id FROM appointments"
            " WHERE citizen_id = ? AND status = 'booked')",
            (citizen_id,),
        )
        appointments = cursor.execute(
            "DELETE FROM appointments WHERE citizen_id = ?", (citizen_id,)
        ).rowcount
        service_requests = _anonymise_reports(
            cursor, "service_requests", "citizen_id = ?", (citizen_id,)
        )
        incidents = _anonymise_reports(cursor, "incidents", "citizen_id = ?", (citizen_id,))
    return {
        "appointments": appointments,
        "service_requests": service_requests,
        "incidents": incidents,
    }


def anonymise_older_than(db: Database, days: int) -> Dict[str, int]:
    """Anonymises every record older than ``days``; returns the count by kind.

    An appointment counts as old only once its slot has passed the limit too, so a booking
    made long ago for a date still to come keeps its owner. A service request's age is its
    last update: one still being worked on keeps its address.
    """
    cutoff = (now() - timedelta(days=days)).isoformat()
    replay_cutoff = (now() - min(timedelta(days=days), IDEMPOTENCY_REPLAY)).isoformat()
    with db.transaction(write=True) as cursor:
        replays = cursor.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?", (replay_cutoff,)
        ).rowcount
        appointments = cursor.execute(
            "UPDATE appointments SET dni = '', citizen_id = ''"
            " WHERE (dni <> '' OR citizen_id <> '') AND created_at < ?"
            " AND slot_id IN (SELECT id FROM slots WHERE starts_at < ?)",
            (cutoff, cutoff),
        ).rowcount
        service_requests = _anonymise_reports(
            cursor, "service_requests", "updated_at < ?", (cutoff,)
        )
        incidents = _anonymise_reports(cursor, "incidents", "created_at < ?", (cutoff,))
    return {
        "appointments": appointments,
        "service_requests": service_requests,
        "incidents": incidents,
        "idempotency_replays": replays,
    }
