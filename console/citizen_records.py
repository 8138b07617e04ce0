"""What the console tells the bot's processes about one citizen: their handoffs with their messages
(the bot's tests and tools read them through ``GET /api/handoffs``), and why their open one was
opened. Erasure and the retention purge are the store's (``Store.forget_citizen``, ``Store.purge``).
"""
from typing import Any, Dict, List, Optional

from city_services.db import Database


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
