"""Tables of the console, created on start (idempotent).

Portable SQL for SQLite and PostgreSQL (``{serial}`` is the only dialect
placeholder, see city_services.db); timestamps are fixed-width UTC text
(console.clock.to_text), so text order is time order.
"""

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS operators (
        id {serial},
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor')),
        areas TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoffs (
        id {serial},
        citizen_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('citizen_request', 'emergency', 'fallback')),
        topic TEXT,
        area TEXT NOT NULL,
        priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
        status TEXT NOT NULL CHECK (status IN ('queued', 'held', 'returned', 'closed')),
        operator_id INTEGER REFERENCES operators (id),
        summary TEXT,
        collected TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        taken_at TEXT,
        ended_at TEXT,
        last_citizen_at TEXT,
        wait_notice_at TEXT
    )""",
    # The database itself refuses a second open handoff for one citizen.
    """CREATE UNIQUE INDEX IF NOT EXISTS handoffs_one_open_per_citizen
        ON handoffs (citizen_id) WHERE status IN ('queued', 'held')""",
    "CREATE INDEX IF NOT EXISTS handoffs_open ON handoffs (status, area, priority, created_at)",
    """CREATE TABLE IF NOT EXISTS messages (
        id {serial},
        handoff_id INTEGER NOT NULL REFERENCES handoffs (id),
        at TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('citizen', 'bot', 'operator', 'system')),
        kind TEXT NOT NULL CHECK (kind IN ('text', 'image', 'location', 'audio', 'document',
                                           'video', 'sticker', 'other')),
        text TEXT,
        media_ref TEXT,
        mime_type TEXT,
        latitude DOUBLE PRECISION,
        longitude DOUBLE PRECISION,
        operator_id INTEGER REFERENCES operators (id),
        external_id TEXT,
        UNIQUE (handoff_id, external_id)
    )""",
    "CREATE INDEX IF NOT EXISTS messages_by_handoff ON messages (handoff_id, id)",
    """CREATE TABLE IF NOT EXISTS sessions (
        id {serial},
        token_hash TEXT NOT NULL UNIQUE,
        operator_id INTEGER NOT NULL REFERENCES operators (id),
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    )""",
    # failed logins per user name (also for names that do not exist: no enumeration)
    """CREATE TABLE IF NOT EXISTS login_failures (
        username TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        id {serial},
        at TEXT NOT NULL,
        operator_id INTEGER REFERENCES operators (id),
        action TEXT NOT NULL,
        handoff_id INTEGER REFERENCES handoffs (id),
        detail TEXT
    )""",
    # every mutation of a handoff adds a row; the live feed of each console process reads it
    """CREATE TABLE IF NOT EXISTS changes (
        id {serial},
        at TEXT NOT NULL,
        handoff_id INTEGER NOT NULL,
        area TEXT NOT NULL,
        kind TEXT NOT NULL
    )""",
)
