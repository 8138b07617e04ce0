"""The console's records on city_services.db.Database (SQLite or PostgreSQL).

Every mutation of a handoff runs in one write transaction together with its
audit row and its ``changes`` row, so the live feed and the audit never miss
or invent an action. Methods are blocking (DB-API): the web layer runs them in
a thread pool.
"""
import json
import logging
from datetime import timedelta
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from city_services.db import Cursor, Database, UniqueViolation
from console import queue
from console.clock import Clock, from_text, to_text, utc_now
from console.models import Handoff, HandoffRequest, IncomingMessage, Message, Operator
from console.queue import Viewer
from console.schema import STATEMENTS

logger = logging.getLogger(__name__)

_HANDOFF_COLUMNS = """h.id, h.citizen_id, h.channel, h.reason, h.topic, h.area, h.priority, h.status,
    h.operator_id, o.username AS operator_username, h.summary, h.collected, h.created_at,
    h.taken_at, h.ended_at, h.last_citizen_at, h.wait_notice_at"""
_HANDOFF_FROM = "handoffs h LEFT JOIN operators o ON o.id = h.operator_id"


class Refused(Exception):
    """An action the rules refuse; ``code`` names the message in messages.yml."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _handoff(row: Dict[str, Any]) -> Handoff:
    return Handoff(
        id=row["id"], citizen_id=row["citizen_id"], channel=row["channel"], reason=row["reason"],
        topic=row["topic"], area=row["area"], priority=row["priority"], status=row["status"],
        operator_id=row["operator_id"], operator_username=row["operator_username"],
        summary=row["summary"], collected=json.loads(row["collected"] or "{}"),
        created_at=from_text(row["created_at"]), taken_at=from_text(row["taken_at"]),
        ended_at=from_text(row["ended_at"]), last_citizen_at=from_text(row["last_citizen_at"]),
        wait_notice_at=from_text(row["wait_notice_at"]),
    )


def _message(row: Dict[str, Any]) -> Message:
    return Message(
        id=row["id"], handoff_id=row["handoff_id"], at=from_text(row["at"]),
        direction=row["direction"], kind=row["kind"], text=row["text"],
        media_ref=row["media_ref"], mime_type=row["mime_type"], latitude=row["latitude"],
        longitude=row["longitude"], operator_id=row["operator_id"], external_id=row["external_id"],
    )


def _operator(row: Dict[str, Any]) -> Operator:
    areas = tuple(a for a in (row["areas"] or "").split(",") if a)
    return Operator(row["id"], row["username"], row["role"], areas, bool(row["active"]))


class Store:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.database = database
        self.clock = clock

    def initialise(self) -> None:
        self.database.script(STATEMENTS)

    def _now(self) -> str:
        return to_text(self.clock())

    # ------------------------------------------------------------ helpers

    def _audit(self, cur: Cursor, operator_id: Optional[int], action: str,
               handoff_id: Optional[int] = None, detail: Optional[str] = None) -> None:
        cur.execute("INSERT INTO audit (at, operator_id, action, handoff_id, detail) VALUES (?, ?, ?, ?, ?)",
                    (self._now(), operator_id, action, handoff_id, detail))

    def _change(self, cur: Cursor, handoff_id: int, area: str, kind: str) -> None:
        cur.execute("INSERT INTO changes (at, handoff_id, area, kind) VALUES (?, ?, ?, ?)",
                    (self._now(), handoff_id, area, kind))

    def _load(self, cur: Cursor, handoff_id: int) -> Optional[Handoff]:
        row = cur.execute(f"SELECT {_HANDOFF_COLUMNS} FROM {_HANDOFF_FROM} WHERE h.id = ?",
                          (handoff_id,)).fetchone()
        return _handoff(row) if row else None

    def _open_for(self, cur: Cursor, citizen_id: str) -> Optional[Handoff]:
        row = cur.execute(
            f"SELECT {_HANDOFF_COLUMNS} FROM {_HANDOFF_FROM} "
            "WHERE h.citizen_id = ? AND h.status IN ('queued', 'held')", (citizen_id,)).fetchone()
        return _handoff(row) if row else None

    def _insert_message(self, cur: Cursor, handoff_id: int, item: IncomingMessage,
                        operator_id: Optional[int] = None) -> Optional[int]:
        """Appends one message unless it is already there (same external id, or the same
        content at the same time when the bot sends no id); returns its id, or None."""
        if item.external_id:
            seen = cur.execute("SELECT id FROM messages WHERE handoff_id = ? AND external_id = ?",
                               (handoff_id, item.external_id)).fetchone()
        else:
            seen = cur.execute(
                "SELECT id FROM messages WHERE handoff_id = ? AND at = ? AND direction = ? "
                "AND kind = ? AND COALESCE(text, '') = ? AND COALESCE(media_ref, '') = ?",
                (handoff_id, to_text(item.at), item.direction, item.kind, item.text or "",
                 item.media_ref or "")).fetchone()
        if seen:
            return None
        cur.execute(
            "INSERT INTO messages (handoff_id, at, direction, kind, text, media_ref, mime_type, "
            "latitude, longitude, operator_id, external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (handoff_id, to_text(item.at), item.direction, item.kind, item.text, item.media_ref,
             item.mime_type, item.latitude, item.longitude, operator_id, item.external_id))
        return cur.execute("SELECT MAX(id) FROM messages WHERE handoff_id = ?", (handoff_id,)).scalar()

    def _system_message(self, cur: Cursor, handoff_id: int, operator_id: Optional[int], event: str) -> None:
        """A line in the history ("taken", "transferred:reclamos"...), rendered in Spanish by the page."""
        self._insert_message(cur, handoff_id, IncomingMessage(
            at=self.clock(), direction="system", kind="other", text=event), operator_id)

    def _waiting_ahead(self, cur: Cursor, handoff: Handoff) -> int:
        if handoff.status != "queued":  # someone is already on it
            return 0
        rows = cur.execute("SELECT id, priority, created_at FROM handoffs WHERE status = 'queued' AND area = ?",
                           (handoff.area,)).fetchall()
        own = queue.order_key(handoff.priority, to_text(handoff.created_at), handoff.id)
        return queue.waiting_ahead(own, [queue.order_key(r["priority"], r["created_at"], r["id"]) for r in rows])

    # ------------------------------------------------------------ the bot's side

    def open_handoff(self, request: HandoffRequest, area: str, priority: int,
                     open_now: bool) -> Tuple[Handoff, bool, int]:
        """Creates the citizen's handoff, or merges into the one already open.

        Returns (handoff, created, waiting_ahead). ``area`` and ``priority`` are what the
        rules give this request; a merge only ever raises the priority."""
        for attempt in range(3):
            try:
                return self._open_handoff_once(request, area, priority, open_now)
            except UniqueViolation:
                # PostgreSQL: another process opened this citizen's handoff meanwhile; merge into it
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _open_handoff_once(self, request: HandoffRequest, area: str, priority: int,
                           open_now: bool) -> Tuple[Handoff, bool, int]:
        now = self._now()
        with self.database.transaction(write=True) as cur:
            existing = self._open_for(cur, request.citizen_id)
            if existing is None:
                cur.execute(
                    "INSERT INTO handoffs (citizen_id, channel, reason, topic, area, priority, status, "
                    "summary, collected, created_at, last_citizen_at, wait_notice_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                    (request.citizen_id, request.channel, request.reason, request.topic, area, priority,
                     request.summary, json.dumps(request.collected, ensure_ascii=False), now,
                     # the bot hands over right after the citizen wrote, even when its history
                     # carries no citizen message: WhatsApp's 24-hour window is open from now
                     _last_citizen(request.history) or now, None if open_now else now))
                handoff_id = cur.execute(
                    "SELECT id FROM handoffs WHERE citizen_id = ? AND status = 'queued'",
                    (request.citizen_id,)).scalar()
                created, kind = True, "created"
                self._audit(cur, None, "handoff_created", handoff_id,
                            f"reason={request.reason} area={area} priority={priority}")
            else:
                handoff_id, created, kind = existing.id, False, "merged"
                collected = {**existing.collected, **request.collected}
                reason, new_area, new_priority = existing.reason, existing.area, existing.priority
                if priority < existing.priority:
                    new_priority = priority
                    if request.reason == "emergency":
                        reason = "emergency"
                        # a queued conversation moves to the emergency area; a held one stays
                        # with the person already on it
                        if existing.status == "queued":
                            new_area = area
                cur.execute(
                    "UPDATE handoffs SET priority = ?, reason = ?, area = ?, collected = ?, "
                    "summary = COALESCE(?, summary) WHERE id = ?",
                    (new_priority, reason, new_area, json.dumps(collected, ensure_ascii=False),
                     request.summary, handoff_id))
                self._audit(cur, None, "handoff_merged", handoff_id,
                            f"reason={request.reason} priority={new_priority}")
            for item in request.history:
                self._insert_message(cur, handoff_id, item)
            last = _last_citizen(request.history)
            if last:
                cur.execute("UPDATE handoffs SET last_citizen_at = ? WHERE id = ? AND "
                            "(last_citizen_at IS NULL OR last_citizen_at < ?)", (last, handoff_id, last))
            handoff = self._load(cur, handoff_id)
            self._change(cur, handoff_id, handoff.area, kind)
            return handoff, created, self._waiting_ahead(cur, handoff)

    def append_citizen_message(self, citizen_id: str, item: IncomingMessage, emergency: bool,
                               emergency_area: str) -> Optional[int]:
        """Adds a message to the citizen's open handoff; None when there is none."""
        with self.database.transaction(write=True) as cur:
            handoff = self._open_for(cur, citizen_id)
            if handoff is None:
                return None
            self._insert_message(cur, handoff.id, item)
            cur.execute("UPDATE handoffs SET last_citizen_at = ? WHERE id = ? AND "
                        "(last_citizen_at IS NULL OR last_citizen_at < ?)",
                        (to_text(item.at), handoff.id, to_text(item.at)))
            area = handoff.area
            if emergency and handoff.priority > queue.EMERGENCY:
                area = emergency_area if handoff.status == "queued" else handoff.area
                cur.execute("UPDATE handoffs SET priority = ?, reason = 'emergency', area = ? WHERE id = ?",
                            (queue.EMERGENCY, area, handoff.id))
                self._audit(cur, None, "priority_raised", handoff.id, "emergency")
            self._change(cur, handoff.id, area, "message")
            return handoff.id

    # ------------------------------------------------------------ reading

    def handoff(self, handoff_id: int) -> Optional[Handoff]:
        with self.database.transaction() as cur:
            return self._load(cur, handoff_id)

    def open_handoffs(self, areas: Optional[Sequence[str]] = None) -> List[Handoff]:
        """Queued and held handoffs (of ``areas``; all when None), in queue order."""
        with self.database.transaction() as cur:
            rows = cur.execute(f"SELECT {_HANDOFF_COLUMNS} FROM {_HANDOFF_FROM} "
                               "WHERE h.status IN ('queued', 'held')").fetchall()
        handoffs = [_handoff(r) for r in rows if areas is None or r["area"] in areas]
        return sorted(handoffs, key=lambda h: queue.order_key(h.priority, to_text(h.created_at), h.id))

    def messages(self, handoff_id: int) -> List[Message]:
        with self.database.transaction() as cur:
            rows = cur.execute("SELECT * FROM messages WHERE handoff_id = ? ORDER BY at, id",
                               (handoff_id,)).fetchall()
        return [_message(r) for r in rows]

    def message(self, message_id: int) -> Optional[Message]:
        with self.database.transaction() as cur:
            row = cur.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message(row) if row else None

    # ------------------------------------------------------------ operators' actions

    def _checked(self, cur: Cursor, handoff_id: int, viewer: Viewer, action: str) -> Handoff:
        handoff = self._load(cur, handoff_id)
        if handoff is None:
            raise Refused("not_found")
        refusal = (queue.may_take(viewer, handoff.area, handoff.status, handoff.operator_id)
                   if action == "take" else
                   queue.may_act(viewer, handoff.area, handoff.status, handoff.operator_id, action))
        if refusal:
            raise Refused(refusal)
        return handoff

    def take(self, handoff_id: int, viewer: Viewer) -> Handoff:
        with self.database.transaction(write=True) as cur:
            handoff = self._checked(cur, handoff_id, viewer, "take")
            if handoff.status == "held":  # already this operator's
                return handoff
            # conditional: of two operators racing on PostgreSQL, only one row update wins
            cur.execute("UPDATE handoffs SET status = 'held', operator_id = ?, taken_at = ? "
                        "WHERE id = ? AND status = 'queued'", (viewer.id, self._now(), handoff_id))
            if cur.rowcount != 1:
                raise Refused("already_held")
            self._system_message(cur, handoff_id, viewer.id, "taken")
            self._audit(cur, viewer.id, "take", handoff_id)
            self._change(cur, handoff_id, handoff.area, "taken")
            return self._load(cur, handoff_id)

    def check(self, handoff_id: int, viewer: Viewer, action: str) -> Handoff:
        """The handoff if ``viewer`` may do ``action`` now (before a reply goes out), else Refused."""
        with self.database.transaction() as cur:
            return self._checked(cur, handoff_id, viewer, action)

    def record_reply(self, handoff_id: int, viewer: Viewer, kind: str, text: Optional[str],
                     media_ref: Optional[str], mime_type: Optional[str], external_id: Optional[str],
                     detail: str) -> int:
        with self.database.transaction(write=True) as cur:
            handoff = self._checked(cur, handoff_id, viewer, "reply")
            message_id = self._insert_message(cur, handoff_id, IncomingMessage(
                at=self.clock(), direction="operator", kind=kind, text=text, media_ref=media_ref,
                mime_type=mime_type, external_id=external_id), viewer.id)
            self._audit(cur, viewer.id, "reply", handoff_id, detail)
            self._change(cur, handoff_id, handoff.area, "message")
            return message_id

    def end(self, handoff_id: int, viewer: Viewer, status: str) -> Handoff:
        """Hand back to the bot (``returned``) or close (``closed``)."""
        action = {"returned": "hand_back", "closed": "close"}[status]
        with self.database.transaction(write=True) as cur:
            handoff = self._checked(cur, handoff_id, viewer, action)
            cur.execute("UPDATE handoffs SET status = ?, ended_at = ? WHERE id = ? AND status IN "
                        "('queued', 'held')", (status, self._now(), handoff_id))
            if cur.rowcount != 1:
                raise Refused("not_open")
            self._system_message(cur, handoff_id, viewer.id, status)
            self._audit(cur, viewer.id, action, handoff_id)
            self._change(cur, handoff_id, handoff.area, status)
            return self._load(cur, handoff_id)

    def transfer(self, handoff_id: int, viewer: Viewer, area: str) -> Handoff:
        """Back to the queue of another area, held by nobody (it keeps its waiting time)."""
        with self.database.transaction(write=True) as cur:
            handoff = self._checked(cur, handoff_id, viewer, "transfer")
            if area == handoff.area:
                raise Refused("same_area")
            cur.execute("UPDATE handoffs SET status = 'queued', operator_id = NULL, taken_at = NULL, "
                        "area = ? WHERE id = ?", (area, handoff_id))
            self._system_message(cur, handoff_id, viewer.id, f"transferred:{area}")
            self._audit(cur, viewer.id, "transfer", handoff_id, f"{handoff.area} -> {area}")
            # both areas' queues change
            self._change(cur, handoff_id, handoff.area, "transferred")
            self._change(cur, handoff_id, area, "transferred")
            return self._load(cur, handoff_id)

    # ------------------------------------------------------------ waiting citizens

    def due_wait_notices(self, waited_since: str) -> List[Handoff]:
        """Queued handoffs created at or before ``waited_since`` whose citizen got no notice yet."""
        with self.database.transaction() as cur:
            rows = cur.execute(
                f"SELECT {_HANDOFF_COLUMNS} FROM {_HANDOFF_FROM} WHERE h.status = 'queued' "
                "AND h.wait_notice_at IS NULL AND h.created_at <= ? ORDER BY h.created_at",
                (waited_since,)).fetchall()
        return [_handoff(r) for r in rows]

    def claim_wait_notice(self, handoff_id: int) -> bool:
        """Takes the notice before it is sent, so that of several console processes only
        one tells the citizen (False when another one already did, or the handoff moved on)."""
        with self.database.transaction(write=True) as cur:
            cur.execute("UPDATE handoffs SET wait_notice_at = ? WHERE id = ? AND wait_notice_at IS NULL "
                        "AND status = 'queued'", (self._now(), handoff_id))
            return cur.rowcount == 1

    def release_wait_notice(self, handoff_id: int) -> None:
        """The notice could not be sent: the next pass tries again."""
        with self.database.transaction(write=True) as cur:
            cur.execute("UPDATE handoffs SET wait_notice_at = NULL WHERE id = ?", (handoff_id,))

    def record_wait_notice(self, handoff_id: int, response: str) -> None:
        with self.database.transaction(write=True) as cur:
            handoff = self._load(cur, handoff_id)
            self._system_message(cur, handoff_id, None, "wait_notice")
            self._audit(cur, None, "wait_notice", handoff_id, response)
            self._change(cur, handoff_id, handoff.area, "wait_notice")

    def prune(self, changes_before: str, idle_before: str, created_before: str) -> None:
        """Housekeeping: old live-feed rows, and sessions nobody can use any more."""
        with self.database.transaction(write=True) as cur:
            cur.execute("DELETE FROM changes WHERE at < ?", (changes_before,))
            cur.execute("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                        (idle_before, created_before))

    def _forget(self, cur: Cursor, ids: Sequence[int]) -> List[str]:
        """Deletes these handoffs and their messages; returns the operators' upload files to
        delete. Audit rows stay, without the link to the forgotten handoff; citizens' photos
        belong to the WhatsApp connector's media folder and its own purge."""
        uploads: List[str] = []
        for handoff_id in ids:
            uploads += [r["media_ref"] for r in cur.execute(
                "SELECT media_ref FROM messages WHERE handoff_id = ? AND direction = 'operator' "
                "AND media_ref IS NOT NULL", (handoff_id,)).fetchall()]
            cur.execute("DELETE FROM messages WHERE handoff_id = ?", (handoff_id,))
            # the detail of an action on a conversation may quote it (an attachment's name)
            cur.execute("UPDATE audit SET handoff_id = NULL, detail = NULL WHERE handoff_id = ?", (handoff_id,))
            cur.execute("DELETE FROM handoffs WHERE id = ?", (handoff_id,))
        return uploads

    def purge(self, ended_before: str) -> Tuple[int, List[str]]:
        """Retention: forgets handoffs that ended before ``ended_before`` with their messages.
        Returns (how many handoffs, the operators' upload files to delete)."""
        with self.database.transaction(write=True) as cur:
            ids = [r["id"] for r in cur.execute(
                "SELECT id FROM handoffs WHERE status IN ('returned', 'closed') AND ended_at < ?",
                (ended_before,)).fetchall()]
            uploads = self._forget(cur, ids)
            if ids:
                self._audit(cur, None, "purge", None, f"handoffs={len(ids)}")
            return len(ids), uploads

    def forget_citizen(self, citizen_id: str) -> Tuple[int, List[str]]:
        """Erasure on the citizen's request: every handoff of theirs, open ones included (the
        live feed tells their operators it is gone). Returns (how many, upload files)."""
        with self.database.transaction(write=True) as cur:
            rows = cur.execute("SELECT id, area FROM handoffs WHERE citizen_id = ?", (citizen_id,)).fetchall()
            uploads = self._forget(cur, [r["id"] for r in rows])
            for row in rows:
                self._change(cur, row["id"], row["area"], "forgotten")
            if rows:
                self._audit(cur, None, "citizen_forgotten", None, f"handoffs={len(rows)}")
            return len(rows), uploads

    # ------------------------------------------------------------ live feed

    def last_change_id(self) -> int:
        with self.database.transaction() as cur:
            return cur.execute("SELECT COALESCE(MAX(id), 0) FROM changes").scalar() or 0

    def changes_after(self, change_id: int, limit: int = 200) -> List[Dict[str, Any]]:
        with self.database.transaction() as cur:
            return cur.execute("SELECT id, handoff_id, area, kind FROM changes WHERE id > ? "
                               "ORDER BY id LIMIT ?", (change_id, limit)).fetchall()

    # ------------------------------------------------------------ audit

    def audit(self, operator_id: Optional[int], action: str, handoff_id: Optional[int] = None,
              detail: Optional[str] = None) -> None:
        with self.database.transaction(write=True) as cur:
            self._audit(cur, operator_id, action, handoff_id, detail)

    def latest_audit(self, limit: int = 200) -> List[Dict[str, Any]]:
        with self.database.transaction() as cur:
            rows = cur.execute(
                "SELECT a.id, a.at, a.action, a.handoff_id, a.detail, o.username FROM audit a "
                "LEFT JOIN operators o ON o.id = a.operator_id ORDER BY a.id DESC LIMIT ?",
                (limit,)).fetchall()
        for row in rows:
            row["at"] = from_text(row["at"])
        return rows

    # ------------------------------------------------------------ operators

    def operator_count(self) -> int:
        with self.database.transaction() as cur:
            return cur.execute("SELECT COUNT(*) FROM operators").scalar()

    def create_operator(self, username: str, password_hash: str, role: str, areas: Iterable[str],
                        actor: Optional[int]) -> Operator:
        with self.database.transaction(write=True) as cur:
            try:
                cur.execute("INSERT INTO operators (username, password_hash, role, areas, active, created_at) "
                            "VALUES (?, ?, ?, ?, 1, ?)",
                            (username, password_hash, role, ",".join(areas), self._now()))
            except UniqueViolation:
                raise Refused("username_taken") from None
            row = cur.execute("SELECT * FROM operators WHERE username = ?", (username,)).fetchone()
            self._audit(cur, actor, "operator_created", None, f"{username} role={role}")
            return _operator(row)

    def operators(self) -> List[Operator]:
        with self.database.transaction() as cur:
            return [_operator(r) for r in cur.execute("SELECT * FROM operators ORDER BY username").fetchall()]

    def operator(self, operator_id: int) -> Optional[Operator]:
        with self.database.transaction() as cur:
            row = cur.execute("SELECT * FROM operators WHERE id = ?", (operator_id,)).fetchone()
        return _operator(row) if row else None

    def credentials(self, username: str) -> Optional[Tuple[Operator, str]]:
        with self.database.transaction() as cur:
            row = cur.execute("SELECT * FROM operators WHERE username = ?", (username,)).fetchone()
        return (_operator(row), row["password_hash"]) if row else None

    def deactivate(self, operator_id: int, actor: int) -> None:
        with self.database.transaction(write=True) as cur:
            cur.execute("UPDATE operators SET active = 0 WHERE id = ?", (operator_id,))
            if cur.rowcount != 1:
                raise Refused("not_found")
            cur.execute("DELETE FROM sessions WHERE operator_id = ?", (operator_id,))
            self._audit(cur, actor, "operator_deactivated", None, f"operator={operator_id}")

    def set_password(self, operator_id: int, password_hash: str, actor: int) -> None:
        with self.database.transaction(write=True) as cur:
            cur.execute("UPDATE operators SET password_hash = ? WHERE id = ?", (password_hash, operator_id))
            if cur.rowcount != 1:
                raise Refused("not_found")
            cur.execute("DELETE FROM sessions WHERE operator_id = ?", (operator_id,))
            self._audit(cur, actor, "password_reset", None, f"operator={operator_id}")

    # ------------------------------------------------------------ login failures

    def locked_until(self, username: str) -> Optional[str]:
        with self.database.transaction() as cur:
            return cur.execute("SELECT locked_until FROM login_failures WHERE username = ?",
                               (username,)).scalar()

    def book_login_attempt(self, username: str, limit: int, lock: timedelta) -> bool:
        """Counts an attempt before its password is checked, atomically, so that parallel
        guesses cannot all slip past the lock-out; True when this one may be checked."""
        now = self._now()
        with self.database.transaction(write=True) as cur:
            # a lock that has run out starts the count afresh
            cur.execute("UPDATE login_failures SET failures = 0, locked_until = NULL "
                        "WHERE username = ? AND locked_until IS NOT NULL AND locked_until <= ?", (username, now))
            row = cur.execute(
                "INSERT INTO login_failures (username, failures) VALUES (?, 1) ON CONFLICT (username) "
                "DO UPDATE SET failures = login_failures.failures + 1 RETURNING failures, locked_until",
                (username,)).fetchone()
            if row["locked_until"] and row["locked_until"] > now:
                return False
            if row["failures"] > limit:
                self._lock(cur, username, lock)
                return False
            return True

    def record_login_failure(self, username: str, limit: int, lock: timedelta) -> bool:
        """A booked attempt failed; at ``limit`` failures the name is locked for ``lock``. True when locked."""
        with self.database.transaction(write=True) as cur:
            failures = cur.execute("SELECT failures FROM login_failures WHERE username = ?", (username,)).scalar()
            if failures is not None and failures >= limit:
                self._lock(cur, username, lock)
                return True
            return False

    def _lock(self, cur: Cursor, username: str, lock: timedelta) -> None:
        cur.execute("UPDATE login_failures SET locked_until = ? WHERE username = ?",
                    (to_text(self.clock() + lock), username))
        self._audit(cur, None, "login_locked", None, username)

    def clear_login_failures(self, username: str) -> None:
        with self.database.transaction(write=True) as cur:
            cur.execute("DELETE FROM login_failures WHERE username = ?", (username,))

    # ------------------------------------------------------------ sessions

    def create_session(self, operator_id: int, token_hash: str, csrf_token: str) -> None:
        now = self._now()
        with self.database.transaction(write=True) as cur:
            cur.execute("INSERT INTO sessions (token_hash, operator_id, csrf_token, created_at, last_seen_at) "
                        "VALUES (?, ?, ?, ?, ?)", (token_hash, operator_id, csrf_token, now, now))
            self._audit(cur, operator_id, "login")

    def session(self, token_hash: str) -> Optional[Dict[str, Any]]:
        with self.database.transaction() as cur:
            row = cur.execute(
                "SELECT s.id AS session_id, s.csrf_token, s.created_at AS session_created_at, "
                "s.last_seen_at, o.* FROM sessions s JOIN operators o ON o.id = s.operator_id "
                "WHERE s.token_hash = ?", (token_hash,)).fetchone()
        if row is None:
            return None
        return {"id": row["session_id"], "csrf_token": row["csrf_token"],
                "created_at": from_text(row["session_created_at"]),
                "last_seen_at": from_text(row["last_seen_at"]), "operator": _operator(row)}

    def touch_session(self, session_id: int) -> None:
        with self.database.transaction(write=True) as cur:
            cur.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (self._now(), session_id))

    def delete_session(self, session_id: int, operator_id: Optional[int], action: Optional[str]) -> None:
        with self.database.transaction(write=True) as cur:
            cur.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if action:
                self._audit(cur, operator_id, action)


def _last_citizen(history: Sequence[IncomingMessage]) -> Optional[str]:
    times = [to_text(item.at) for item in history if item.direction == "citizen"]
    return max(times) if times else None
