"""Stores of processed WhatsApp message ids (``wamid``) that survive restarts.

Meta redelivers a webhook it considers failed for up to several days, so every
message id is *claimed* before the webhook is acknowledged: only the first
claim of an id wins and gets a bot turn. A claimed message is kept with its
payload until its turn is done, so messages accepted just before a crash are
replayed at the next start instead of being lost.
"""
import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Set, Text, Tuple

from channels.whatsapp.config import WhatsAppConfig

logger = logging.getLogger(__name__)


class ProcessedMessageStore(Protocol):
    async def claim(self, records: Sequence[Tuple[Text, Mapping[Text, Any]]]) -> Set[Text]:
        """Records each ``(wamid, payload)``; returns the wamids not seen before."""

    async def mark_done(self, wamid: Text) -> None:
        """The message's turn finished (answered or definitively failed)."""

    async def pending(self) -> List[Mapping[Text, Any]]:
        """Payloads of claimed messages whose turn never finished."""

    async def release_loop(self) -> None:
        """Closes what the running event loop holds (a loop that stops before the store)."""

    async def close(self) -> None:
        ...


class SQLiteProcessedMessageStore:
    """Default store: one SQLite file (``var/whatsapp_processed.sqlite3``).

    Claims and completions run on the event loop. In WAL mode with
    ``synchronous=NORMAL`` a commit does not wait for the disk: recording a
    delivery takes well under a millisecond, while handing it to a worker thread
    made the webhook wait a full turn of the loop for the result, 70 ms at p50
    with 16 citizens writing at once (bench/whatsapp_vs_rest.py). Only the
    start-up read of pending messages goes to a thread.
    """

    def __init__(self, path: Text, ttl_days: int = 30) -> None:
        self._path = path
        self._ttl_s = ttl_days * 86400
        self._lock = threading.Lock()
        self._connection: Optional[sqlite3.Connection] = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            directory = os.path.dirname(os.path.abspath(self._path))
            os.makedirs(directory, exist_ok=True)
            connection = sqlite3.connect(self._path, check_same_thread=False, timeout=10)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS processed_messages ("
                " wamid TEXT PRIMARY KEY,"
                " received_at REAL NOT NULL,"
                " done INTEGER NOT NULL DEFAULT 0,"
                " payload TEXT)"
            )
            connection.execute(
                "DELETE FROM processed_messages WHERE received_at < ?",
                (time.time() - self._ttl_s,),
            )
            connection.commit()
            self._connection = connection
        return self._connection

    def _claim(self, records: Sequence[Tuple[Text, Mapping[Text, Any]]]) -> Set[Text]:
        with self._lock:
            connection = self._connect()
            new: Set[Text] = set()
            now = time.time()
            with connection:  # one transaction: all ids recorded or none
                for wamid, payload in records:
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO processed_messages"
                        " (wamid, received_at, done, payload) VALUES (?, ?, 0, ?)",
                        (wamid, now, json.dumps(payload)),
                    )
                    if cursor.rowcount == 1:
                        new.add(wamid)
            return new

    def _mark_done(self, wamid: Text) -> None:
        with self._lock:
            with self._connect() as connection:
                connection.execute(
                    "UPDATE processed_messages SET done = 1, payload = NULL WHERE wamid = ?",
                    (wamid,),
                )

    def _pending(self) -> List[Mapping[Text, Any]]:
        with self._lock:
            rows = self._connect().execute(
                "SELECT payload FROM processed_messages"
                " WHERE done = 0 AND payload IS NOT NULL ORDER BY received_at"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    async def claim(self, records: Sequence[Tuple[Text, Mapping[Text, Any]]]) -> Set[Text]:
        if not records:
            return set()
        return self._claim(list(records))

    async def mark_done(self, wamid: Text) -> None:
        self._mark_done(wamid)

    async def pending(self) -> List[Mapping[Text, Any]]:
        return await asyncio.to_thread(self._pending)

    async def release_loop(self) -> None:
        """Nothing to do: the one connection serves every thread and loop."""

    async def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


# KEYS: pending hash, one key per wamid; ARGV: ttl, now, wamids..., payloads...
# Claiming an id and keeping its payload for replay happen atomically.
_CLAIM_SCRIPT = """
local n = #KEYS - 1
local claimed = {}
for i = 1, n do
  if redis.call('SET', KEYS[i + 1], ARGV[2], 'NX', 'EX', ARGV[1]) then
    redis.call('HSET', KEYS[1], ARGV[2 + i], ARGV[2 + n + i])
    table.insert(claimed, ARGV[2 + i])
  end
end
return claimed
"""


class RedisProcessedMessageStore:
    """Production store (``WHATSAPP_DEDUP_REDIS_URL``): ``SET NX`` per wamid with a TTL."""

    def __init__(self, url: Text, ttl_days: int = 30, prefix: Text = "vecino:whatsapp") -> None:
        self._url = url
        self._ttl_s = ttl_days * 86400
        self._prefix = prefix
        self._clients: Dict[int, Any] = {}

    def _client(self) -> Any:
        import redis.asyncio as redis_asyncio

        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._clients:  # redis.asyncio connections are loop-bound
            self._clients[loop_id] = redis_asyncio.from_url(self._url)
        return self._clients[loop_id]

    def _key(self, wamid: Text) -> Text:
        return f"{self._prefix}:wamid:{wamid}"

    @property
    def _pending_key(self) -> Text:
        return f"{self._prefix}:pending"

    async def claim(self, records: Sequence[Tuple[Text, Mapping[Text, Any]]]) -> Set[Text]:
        if not records:
            return set()
        keys = [self._pending_key] + [self._key(wamid) for wamid, _ in records]
        args = [self._ttl_s, time.time()]
        args += [wamid for wamid, _ in records]
        args += [json.dumps(payload) for _, payload in records]
        claimed = await self._client().eval(_CLAIM_SCRIPT, len(keys), *keys, *args)
        return {w.decode() if isinstance(w, bytes) else w for w in claimed}

    async def mark_done(self, wamid: Text) -> None:
        await self._client().hdel(self._pending_key, wamid)

    async def pending(self) -> List[Mapping[Text, Any]]:
        values = await self._client().hvals(self._pending_key)
        return [json.loads(v) for v in values]

    async def release_loop(self) -> None:
        await self.close()  # clients are per loop already

    async def close(self) -> None:
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.pop(loop_id, None)
        if client is not None:
            await client.close()


def create_store(config: WhatsAppConfig) -> ProcessedMessageStore:
    if config.dedup_redis_url:
        return RedisProcessedMessageStore(config.dedup_redis_url, config.dedup_ttl_days)
    return SQLiteProcessedMessageStore(config.dedup_sqlite_path, config.dedup_ttl_days)


# ---- forgetting (privacy/): blocking helpers, run from a thread or the purge command ----


def _sender_of(payload: Optional[Text]) -> Text:
    """Digits of the wa_id a pending payload came from ("" when unreadable)."""
    try:
        sender = str(json.loads(payload or "null")["message"]["from"])
    except (KeyError, TypeError, ValueError):
        return ""
    return "".join(c for c in sender if c.isdigit())


def _sent_at(payload: Optional[Text]) -> float:
    try:
        return float(json.loads(payload or "null")["message"]["timestamp"])
    except (KeyError, TypeError, ValueError):
        return 0.0  # unreadable: old enough for any limit


def purge_sqlite(
    path: Text,
    before: Optional[float] = None,
    wamids: Sequence[Text] = (),
    sender_digits: Optional[Text] = None,
) -> Dict[Text, int]:
    """Deletes records claimed before ``before``, the ``wamids`` and ``sender_digits``'s pending ones."""
    if not os.path.exists(path):
        return {"dedup_records": 0, "pending_messages": 0}
    connection = sqlite3.connect(path, timeout=10)
    try:
        with connection:
            rows = connection.execute(
                "SELECT wamid, received_at, done, payload FROM processed_messages"
            ).fetchall()
            doomed = {
                wamid
                for wamid, received_at, done, payload in rows
                if (before is not None and received_at < before)
                or wamid in set(wamids)
                or (sender_digits and not done and _sender_of(payload) == sender_digits)
            }
            connection.executemany(
                "DELETE FROM processed_messages WHERE wamid = ?", [(w,) for w in doomed]
            )
    finally:
        connection.close()
    pending = sum(1 for wamid, _, done, _ in rows if wamid in doomed and not done)
    return {"dedup_records": len(doomed) - pending, "pending_messages": pending}


def purge_redis(
    url: Text,
    before: Optional[float] = None,
    wamids: Sequence[Text] = (),
    sender_digits: Optional[Text] = None,
    prefix: Text = "vecino:whatsapp",
) -> Dict[Text, int]:
    """The same over Redis: the claim keys (value: claim time) and the pending hash."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        pending_key = f"{prefix}:pending"
        doomed = [
            wamid
            for wamid, payload in client.hgetall(pending_key).items()
            if wamid in set(wamids)
            or (before is not None and _sent_at(payload) < before)
            or (sender_digits and _sender_of(payload) == sender_digits)
        ]
        pending = client.hdel(pending_key, *doomed) if doomed else 0
        keys = {f"{prefix}:wamid:{wamid}" for wamid in [*wamids, *doomed]}
        if before is not None:
            for key in client.scan_iter(match=f"{prefix}:wamid:*", count=500):
                claimed_at = client.get(key)
                if claimed_at is not None and float(claimed_at) < before:
                    keys.add(key)
        records = client.delete(*keys) if keys else 0
    finally:
        client.close()
    # a pending message's claim is counted with it, as SQLite keeps both in one row
    return {"dedup_records": max(records - pending, 0), "pending_messages": pending}
