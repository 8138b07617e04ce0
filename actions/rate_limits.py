"""Per-citizen rate limits on lookups, emergency reports and handoffs.

A lookup (infractions, "mis turnos", cancellations, a ticket's status) costs the city a
query and, in a loop, turns Vecino into an oracle for plates, codes and ticket numbers;
emergency reports and handoffs page real people. So each citizen (the chat identity,
``tracker.sender_id``) gets ``max_calls`` per ``window_seconds`` of each kind.

The counters live in a store shared by every action-server process: a SQLite file under
``var/`` by default, Redis when ``RATE_LIMIT_REDIS_URL`` is set. Citizen ids are hashed
before they reach the store, so it holds no phone numbers. Windows are fixed (one counter
per citizen, kind and window): cheap, atomic in both stores, and the worst case (twice the
limit across a window boundary) is harmless for these limits.

Configuration (environment, defaults in ``DEFAULT_LIMITS``):
``RATE_LIMIT_<KIND>=<calls>/<seconds>`` (e.g. ``RATE_LIMIT_LOOKUP=20/3600``),
``RATE_LIMIT_SQLITE_PATH``, ``RATE_LIMIT_REDIS_URL``, ``RATE_LIMIT_REDIS_PREFIX``.

Usage in an action::

    decision = limiter.hit(tracker.sender_id, LOOKUP)
    if not decision.allowed:
        dispatcher.utter_message(response=decision.response)  # Spanish, in domain.yml
        return [...]
"""
import hashlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Protocol

logger = logging.getLogger(__name__)

LOOKUP = "lookup"
EMERGENCY = "emergency"
HANDOFF = "handoff"


@dataclass(frozen=True)
class Limit:
    kind: str
    max_calls: int
    window_seconds: int

    @property
    def response(self) -> str:
        """The domain response that tells the citizen (``utter_rate_limited_<kind>``)."""
        return f"utter_rate_limited_{self.kind}"

    @classmethod
    def parse(cls, kind: str, text: str) -> "Limit":
        """``"20/3600"`` → 20 calls per hour. Raises ValueError on anything else."""
        calls, _, seconds = text.strip().partition("/")
        limit = cls(kind, int(calls), int(seconds))
        if limit.max_calls < 1 or limit.window_seconds < 1:
            raise ValueError(f"rate limit {kind}: calls and seconds must be positive: {text!r}")
        return limit


# A citizen who checks a few plates and tickets, reports more than one emergency or asks
# twice for a person never meets these; a script does at once.
DEFAULT_LIMITS: Dict[str, Limit] = {
    LOOKUP: Limit(LOOKUP, 20, 3600),
    EMERGENCY: Limit(EMERGENCY, 5, 3600),
    HANDOFF: Limit(HANDOFF, 3, 3600),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: Limit
    count: int
    retry_after_seconds: int

    @property
    def response(self) -> str:
        return self.limit.response


class CounterStore(Protocol):
    def increment(self, key: str, window_seconds: int, now: float) -> int:
        """Add one to ``key`` in the window containing ``now``; the new count."""


def _window(window_seconds: int, now: float) -> int:
    return int(now // window_seconds)


class SqliteStore:
    """One SQLite file shared by the action server's processes (WAL, immediate
    transactions: two processes never lose an increment)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS rate_limits ("
                " key TEXT NOT NULL, window INTEGER NOT NULL, count INTEGER NOT NULL,"
                " expires_at REAL NOT NULL, PRIMARY KEY (key, window))"
            )

    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._local.connection = connection
        return connection

    def increment(self, key: str, window_seconds: int, now: float) -> int:
        window = _window(window_seconds, now)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            (count,) = db.execute(
                "INSERT INTO rate_limits (key, window, count, expires_at) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
                (key, window, (window + 1) * window_seconds),
            ).fetchone()
            # expired windows are worthless: drop them so the file does not grow
            db.execute("DELETE FROM rate_limits WHERE expires_at < ?", (now,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(count)


class RedisStore:
    """INCR + EXPIRE in one transaction: the key disappears with its window."""

    def __init__(self, url: str, prefix: str = "vecino:rate:") -> None:
        import redis  # only when configured: the default store needs no server

        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def increment(self, key: str, window_seconds: int, now: float) -> int:
        window = _window(window_seconds, now)
        name = f"{self.prefix}{key}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expireat(name, (window + 1) * window_seconds + 1)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    def __init__(
        self,
        store: CounterStore,
        limits: Optional[Mapping[str, Limit]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.limits = dict(limits or DEFAULT_LIMITS)
        self.clock = clock

    def hit(self, citizen_id: str, kind: str) -> Decision:
        """Count one call of ``kind`` by this citizen and say whether it may proceed.

        A store that fails (disk full, Redis down) lets the call through, loudly logged:
        a broken counter must not take lookups, and never emergencies, away from everyone.
        """
        limit = self.limits[kind]
        now = self.clock()
        try:
            count = self.store.increment(_subject(citizen_id, kind), limit.window_seconds, now)
        except Exception as error:  # noqa: BLE001 - any store failure fails open
            logger.error("rate limit store failed (%s): letting %s through", type(error).__name__, kind)
            return Decision(True, limit, 0, 0)
        retry_after = (_window(limit.window_seconds, now) + 1) * limit.window_seconds - now
        allowed = count <= limit.max_calls
        if not allowed:
            logger.warning("rate limit %s reached by a citizen (%d calls)", kind, count)
        return Decision(allowed, limit, count, max(0, int(retry_after)))


def _subject(citizen_id: str, kind: str) -> str:
    """The store never sees the phone number, only a hash of it."""
    digest = hashlib.sha256(str(citizen_id).encode("utf-8")).hexdigest()[:32]
    return f"{kind}:{digest}"


def limits_from_env(environ: Mapping[str, str] = os.environ) -> Dict[str, Limit]:
    limits = dict(DEFAULT_LIMITS)
    for kind in limits:
        text = environ.get(f"RATE_LIMIT_{kind.upper()}")
        if text:
            limits[kind] = Limit.parse(kind, text)
    return limits


def from_env(environ: Mapping[str, str] = os.environ) -> RateLimiter:
    limits = limits_from_env(environ)
    url = environ.get("RATE_LIMIT_REDIS_URL")
    if url:
        store: CounterStore = RedisStore(url, environ.get("RATE_LIMIT_REDIS_PREFIX", "vecino:rate:"))
    else:
        store = SqliteStore(Path(environ.get("RATE_LIMIT_SQLITE_PATH", "var/rate_limits.sqlite3")))
    return RateLimiter(store, limits)


_shared: Optional[RateLimiter] = None
_shared_lock = threading.Lock()


def shared() -> RateLimiter:
    """The process-wide limiter, built from the environment on first use (actions are
    instantiated at import, before tests can point the environment elsewhere)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = from_env()
        return _shared
