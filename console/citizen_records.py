"""What the console keeps of one citizen: read by the bot's processes, erased on "borrar mis
datos", and purged after the retention limit (``make purge``).

Handoffs, their messages (texts, pins, and the operators' uploaded files) and their rows in the
live feed go. The audit keeps who did what and when, but no longer which conversation it was nor
any detail of it: the log of operators' actions outlives the citizen's data, not the other way.
The citizens' own photos and audios live in the WhatsApp connector's media folder, which the
tracker store's erasure and the media purge already empty (privacy/).
"""
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from city_services.db import Cursor, Database
from console.clock import to_text, utc_now
from console.media import inside

logger = logging.getLogger(__name__)

_ENDED = ("returned", "closed")


def handoffs_of(database: Database, citizen_id: str) -> List[Dict[str, Any]]:
    """The citizen's handoffs, oldest first, each with its messages (for the bot and its tests)."""
    with database.transaction() as cur:
        handoffs = cur.execute(
            "SELECT id, citizen_id, channel, reason, topic, area, priority, status, summary, collected,"
            " created_at, ended_at FROM handoffs WHERE citizen_id = ? ORDER BY id", (citizen_id,)).fetchall()
        for handoff in handoffs:
            handoff["messages"] = cur.execute(
                "SELECT id, at, direction, kind, text, media_ref, mime_type, latitude, longitude, external_id"
                " FROM messages WHERE handoff_id = ? ORDER BY id", (handoff["id"],)).fetchall()
    return handoffs


def open_reason(database: Database, citizen_id: str) -> Optional[str]:
    """Why the citizen's open handoff was opened (``emergency``, ...), or None if none is open."""
    with database.transaction() as cur:
        return cur.execute("SELECT reason FROM handoffs WHERE citizen_id = ? AND status IN ('queued', 'held')",
                           (citizen_id,)).scalar()


def _forget(cur: Cursor, handoff_ids: Sequence[int], upload_dir: Path) -> None:
    for handoff_id in handoff_ids:
        uploads = cur.execute("SELECT media_ref FROM messages WHERE handoff_id = ? AND direction = 'operator'"
                              " AND media_ref IS NOT NULL", (handoff_id,)).fetchall()
        for row in uploads:
            path = inside(upload_dir, row["media_ref"])
            if path is not None:
                path.unlink(missing_ok=True)
        cur.execute("DELETE FROM messages WHERE handoff_id = ?", (handoff_id,))
        cur.execute("DELETE FROM changes WHERE handoff_id = ?", (handoff_id,))
        cur.execute("UPDATE audit SET handoff_id = NULL, detail = NULL WHERE handoff_id = ?", (handoff_id,))
        area = cur.execute("SELECT area FROM handoffs WHERE id = ?", (handoff_id,)).scalar()
        cur.execute("DELETE FROM handoffs WHERE id = ?", (handoff_id,))
        # the open pages of every console drop it (live feed)
        cur.execute("INSERT INTO changes (at, handoff_id, area, kind) VALUES (?, ?, ?, 'erased')",
                    (to_text(utc_now()), handoff_id, area or ""))


def erase_citizen(database: Database, citizen_id: str, upload_dir: Path) -> int:
    """Deletes everything of ``citizen_id``, open conversations included; how many handoffs."""
    with database.transaction(write=True) as cur:
        ids = [row["id"] for row in cur.execute(
            "SELECT id FROM handoffs WHERE citizen_id = ?", (citizen_id,)).fetchall()]
        _forget(cur, ids, upload_dir)
    return len(ids)


def purge_ended_before(database: Database, before: str, upload_dir: Path) -> int:
    """Deletes the handoffs that ended (handed back or closed) before ``before`` (clock text).

    Open ones stay whatever their age: someone still has to answer them."""
    with database.transaction(write=True) as cur:
        ids = [row["id"] for row in cur.execute(
            "SELECT id FROM handoffs WHERE status IN (?, ?) AND ended_at < ?", (*_ENDED, before)).fetchall()]
        _forget(cur, ids, upload_dir)
    return len(ids)
