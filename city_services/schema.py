"""Tables of the reference service, created on start (idempotent).

Portable SQL for SQLite and PostgreSQL: ``{serial}`` is the only dialect
placeholder; timestamps are ISO-8601 text with the Buenos Aires offset;
money is integer cents.
"""

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS health_centres (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('hospital', 'cesac')),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        address TEXT NOT NULL,
        barrio TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL,
        phones TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS centre_specialties (
        centre_id TEXT NOT NULL REFERENCES health_centres (id),
        specialty TEXT NOT NULL,
        PRIMARY KEY (centre_id, specialty)
    )""",
    """CREATE TABLE IF NOT EXISTS slots (
        id {serial},
        centre_id TEXT NOT NULL REFERENCES health_centres (id),
        specialty TEXT NOT NULL,
        day TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        part_of_day TEXT NOT NULL CHECK (part_of_day IN ('morning', 'afternoon')),
        booked INTEGER NOT NULL DEFAULT 0,
        UNIQUE (centre_id, specialty, starts_at)
    )""",
    "CREATE INDEX IF NOT EXISTS slots_search ON slots (centre_id, specialty, day)",
    """CREATE TABLE IF NOT EXISTS appointments (
        id {serial},
        code TEXT UNIQUE,
        slot_id INTEGER NOT NULL REFERENCES slots (id),
        dni TEXT NOT NULL,
        citizen_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
        created_at TEXT NOT NULL,
        cancelled_at TEXT
    )""",
    # The database itself refuses a second live booking of one slot.
    """CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_live_booking_per_slot
        ON appointments (slot_id) WHERE status = 'booked'""",
    "CREATE INDEX IF NOT EXISTS appointments_by_dni ON appointments (dni)",
    # "mis turnos" and cancellations are scoped by who booked (the chat identity).
    "CREATE INDEX IF NOT EXISTS appointments_by_citizen ON appointments (citizen_id)",
    """CREATE TABLE IF NOT EXISTS infractions (
        id TEXT PRIMARY KEY,
        plate TEXT NOT NULL,
        dni TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        place TEXT NOT NULL,
        reason TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'disputed')),
        due_date TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS infractions_by_plate ON infractions (plate)",
    "CREATE INDEX IF NOT EXISTS infractions_by_dni ON infractions (dni)",
    """CREATE TABLE IF NOT EXISTS certificates (
        code TEXT PRIMARY KEY,
        plate TEXT,
        dni TEXT,
        issued_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS service_requests (
        id {serial},
        ticket TEXT UNIQUE,
        category TEXT NOT NULL,
        description TEXT NOT NULL,
        citizen_id TEXT NOT NULL,
        address TEXT,
        lat DOUBLE PRECISION,
        lon DOUBLE PRECISION,
        photo TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS incidents (
        id {serial},
        number TEXT UNIQUE,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        citizen_id TEXT NOT NULL,
        people_at_risk INTEGER NOT NULL,
        address TEXT,
        lat DOUBLE PRECISION,
        lon DOUBLE PRECISION,
        photo TEXT,
        priority TEXT NOT NULL CHECK (priority IN ('alta', 'media', 'baja')),
        status TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS green_points (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        barrio TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL,
        materials TEXT NOT NULL,
        hours TEXT NOT NULL,
        staffed INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ecobici_stations (
        station_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        barrio TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL,
        capacity INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ecobici_status (
        station_id TEXT PRIMARY KEY REFERENCES ecobici_stations (station_id),
        bikes INTEGER NOT NULL,
        bikes_disabled INTEGER NOT NULL,
        docks INTEGER NOT NULL,
        is_renting INTEGER NOT NULL,
        last_reported INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS address_points (
        id {serial},
        source TEXT NOT NULL,
        street TEXT NOT NULL,
        number INTEGER,
        corner_street TEXT NOT NULL,
        barrio TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS weather_alerts (
        id {serial},
        level TEXT NOT NULL CHECK (level IN ('amarilla', 'naranja', 'roja')),
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        area TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT,
        expired_at TEXT,
        created_at TEXT NOT NULL
    )""",
    # The first answer to each Idempotency-Key of a creating POST: a retry with the
    # same key gets it back instead of creating a second record. status is NULL
    # while the first request is still being processed.
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        route TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        created_at TEXT NOT NULL
    )""",
    # Handoffs moved to the operators' console (console/); a database created before that
    # still holds their citizen ids and summaries, which nothing would ever purge again.
    "DROP TABLE IF EXISTS handoffs",
)
