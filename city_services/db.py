"""A thin DB-API layer over sqlite3 and psycopg2.

SQL is written once with ``?`` placeholders and portable types; the
PostgreSQL side swaps ``?`` for ``%s`` and ``{serial}`` for ``SERIAL``.
Every unit of work runs in :meth:`Database.transaction`, which commits or
rolls back as a whole; rows come back as plain dicts.

SQLite: one short-lived connection per transaction (cheap, and sqlite3
connections must not cross threads), WAL journal, and ``BEGIN IMMEDIATE`` for
writes so two writers queue on the database lock instead of failing midway.
PostgreSQL: a ``ThreadedConnectionPool``; row locks taken by the conditional
``UPDATE`` serialise concurrent bookings of one slot.
"""
import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence
from urllib.parse import urlparse

logger = logging.getLogger(__name__)


class UniqueViolation(Exception):
    """A unique constraint refused the write (e.g. a slot booked twice)."""


class Cursor:
    """What a transaction hands to repository code."""

    def __init__(self, raw_cursor: Any, dialect: str) -> None:
        self._cursor = raw_cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> "Cursor":
        try:
            self._cursor.execute(self._sql(sql), tuple(params))
        except sqlite3.IntegrityError as exc:
            raise UniqueViolation(str(exc)) from exc
        except Exception as exc:  # psycopg2 is optional at import time
            if type(exc).__name__ in ("UniqueViolation", "IntegrityError"):
                raise UniqueViolation(str(exc)) from exc
            raise
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in rows]
        if not rows:
            return
        if self.dialect == "postgresql":
            from psycopg2.extras import execute_batch

            execute_batch(self._cursor, self._sql(sql), rows, page_size=500)
        else:
            self._cursor.executemany(sql, rows)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def _columns(self) -> List[str]:
        return [column[0] for column in self._cursor.description or ()]

    def fetchone(self) -> Optional[Dict[str, Any]]:
        row = self._cursor.fetchone()
        return None if row is None else dict(zip(self._columns(), row))

    def fetchall(self) -> List[Dict[str, Any]]:
        columns = self._columns()
        return [dict(zip(columns, row)) for row in self._cursor.fetchall()]

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else row[0]


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        parsed = urlparse(url)
        if parsed.scheme in ("postgresql", "postgres"):
            self.dialect = "postgresql"
            self._pool = None
            self._pool_lock = threading.Lock()
        elif parsed.scheme == "sqlite":
            self.dialect = "sqlite"
            # sqlite:///relative/path or sqlite:////absolute/path
            self.path = Path(url[len("sqlite:///"):])
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._sqlite_connect() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
        else:
            raise ValueError(f"unsupported database URL scheme {parsed.scheme!r}")

    # -------------------------------------------------------------- sqlite

    def _sqlite_connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            str(self.path), timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL: no fsync per commit (a power cut may lose the last commits,
        # never corrupt the file) — the usual trade-off for a WAL database.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    # ---------------------------------------------------------- postgresql

    def _pg_pool(self):
        with self._pool_lock:
            if self._pool is None:
                from psycopg2.pool import ThreadedConnectionPool

                self._pool = ThreadedConnectionPool(1, 12, self.url)
            return self._pool

    # -------------------------------------------------------------- public

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        """One unit of work; ``write=True`` takes SQLite's write lock up front."""
        if self.dialect == "sqlite":
            connection = self._sqlite_connect()
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                cursor = Cursor(connection.cursor(), self.dialect)
                try:
                    yield cursor
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                connection.close()
        else:
            pool = self._pg_pool()
            connection = pool.getconn()
            try:
                with connection:  # commits, or rolls back on exception
                    with connection.cursor() as raw:
                        yield Cursor(raw, self.dialect)
            finally:
                pool.putconn(connection)

    def script(self, statements: Iterable[str]) -> None:
        with self.transaction(write=True) as cursor:
            for statement in statements:
                cursor.execute(self.ddl(statement))

    def ddl(self, statement: str) -> str:
        serial = "SERIAL PRIMARY KEY" if self.dialect == "postgresql" else (
            "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        return statement.replace("{serial}", serial)

    def ping(self) -> bool:
        with self.transaction() as cursor:
            return cursor.execute("SELECT 1").scalar() == 1

    def close(self) -> None:
        if self.dialect == "postgresql" and self._pool is not None:
            self._pool.closeall()
            self._pool = None


def default_sqlite_url(repo_root: Path) -> str:
    return f"sqlite:///{(repo_root / 'var' / 'city_services.sqlite3').resolve()}"
