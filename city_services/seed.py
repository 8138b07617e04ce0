"""Schema creation and idempotent seeding.

Open data (health centres, Puntos Verdes, Ecobici stations, geocoder
reference points) is loaded from ``data/raw/`` through :mod:`loaders` once,
guarded by ``meta.seed_version``. Generated records (fines, Ecobici
availability, appointment calendars) come from RNGs seeded with fixed strings,
so two fresh databases seeded on the same day hold the same data. The
calendar is topped up on every start (``meta.calendar_until``) so a
long-running database always has the next weeks' slots.
"""
import logging
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml

from city_services import loaders
from city_services.clock import BA_TZ, now, today
from city_services.db import Cursor, Database
from city_services.schema import STATEMENTS
from city_services.text import fold

logger = logging.getLogger(__name__)

SEED_VERSION = "1"
DATA_DIR = Path(__file__).resolve().parent / "data"
SLOT_MINUTES = 20

def _times(start_hour: int, end_hour: int) -> List[time]:
    out = []
    minute = start_hour * 60
    while minute < end_hour * 60:
        out.append(time(minute // 60, minute % 60))
        minute += SLOT_MINUTES
    return out


MORNING = _times(8, 12)
AFTERNOON = _times(13, 17)


def load_generated_vocabulary() -> Dict[str, Any]:
    with open(DATA_DIR / "generated.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _meta(cursor: Cursor, key: str) -> Optional[str]:
    return cursor.execute("SELECT value FROM meta WHERE key = ?", (key,)).scalar()


def _set_meta(cursor: Cursor, key: str, value: str) -> None:
    if _meta(cursor, key) is None:
        cursor.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    else:
        cursor.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))


def initialise(database: Database, calendar_days: int = 21) -> None:
    """Create the schema, seed once, top up the calendar. Safe on every start."""
    database.script(STATEMENTS)
    with database.transaction(write=True) as cursor:
        if _meta(cursor, "seed_version") is None:
            logger.info("seeding the reference data")
            seed_open_data(cursor)
            seed_infractions(cursor, load_generated_vocabulary())
            seed_ecobici_status(cursor, step=0)
            _set_meta(cursor, "seed_version", SEED_VERSION)
            _set_meta(cursor, "seeded_on", today().isoformat())
        ensure_calendar(cursor, today(), calendar_days)


# ---------------------------------------------------------------- open data


def seed_open_data(cursor: Cursor) -> None:
    results = loaders.load_all()
    for line in loaders.summary(results):
        logger.info(line)
    centres = results["hospitales.csv"].records + results["cesac.csv"].records
    cursor.executemany(
        "INSERT INTO health_centres (id, kind, name, name_key, address, barrio, lat, lon, phones)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (c.source_id, c.kind, c.name, fold(c.name), c.address, c.barrio, c.lat, c.lon,
             ", ".join(c.phones))
            for c in centres
        ),
    )
    cursor.executemany(
        "INSERT INTO centre_specialties (centre_id, specialty) VALUES (?, ?)",
        ((c.source_id, specialty) for c in centres for specialty in c.specialties),
    )
    points = results["puntos-verdes.csv"].records
    cursor.executemany(
        "INSERT INTO green_points (id, name, address, barrio, lat, lon, materials, hours, staffed)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (p.source_id, p.name, p.address, p.barrio, p.lat, p.lon, ",".join(p.materials),
             p.hours, int(p.staffed))
            for p in points
        ),
    )
    stations = results["ecobici-estaciones.csv"].records
    cursor.executemany(
        "INSERT INTO ecobici_stations (station_id, name, address, barrio, lat, lon, capacity)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (s.station_id, s.name, s.address, s.barrio, s.lat, s.lon,
             random.Random(f"ecobici-capacity|{s.station_id}").randrange(12, 41, 2))
            for s in stations
        ),
    )
    cursor.executemany(
        "INSERT INTO address_points (source, street, number, corner_street, barrio, lat, lon)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        _address_points(results),
    )


def _address_points(results: Dict[str, loaders.LoadResult]) -> Iterable[Tuple]:
    for name in ("hospitales.csv", "cesac.csv", "puntos-verdes.csv", "comisarias.csv"):
        for record in results[name].records:
            if record.street:
                yield (name, record.street, record.number, record.corner_street,
                       record.barrio, record.lat, record.lon)
    for station in results["ecobici-estaciones.csv"].records:
        yield ("ecobici-estaciones.csv", station.street, station.house_number, "",
               station.barrio, station.lat, station.lon)


# ------------------------------------------------------------ generated data


def _plate_for(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if rng.random() < 0.6:  # Mercosur AA123BB
        return (rng.choice("AB") + rng.choice(letters) + f"{rng.randrange(1000):03d}"
                + rng.choice(letters) + rng.choice(letters))
    return "".join(rng.choice(letters) for _ in range(3)) + f"{rng.randrange(1000):03d}"


def seed_infractions(cursor: Cursor, vocabulary: Dict[str, Any]) -> None:
    spec = vocabulary["infractions"]
    reasons = sorted(spec["reasons"].items())
    places = [
        row["street"].title() + f" {row['number']}"
        for row in cursor.execute(
            "SELECT street, number FROM address_points WHERE source = ? AND number IS NOT NULL"
            " ORDER BY id",
            ("ecobici-estaciones.csv",),
        ).fetchall()
    ]
    rng = random.Random("city-services-infractions-v1")
    subjects = [dict(s) for s in spec["subjects"]]
    for _ in range(int(spec["random_subjects"])):
        subjects.append(
            {
                "plate": _plate_for(rng),
                "dni": str(rng.randrange(20_000_000, 45_000_000)),
                "pending": rng.choice((0, 0, 1, 2, 3)),
                "paid": rng.choice((0, 1, 2)),
                "disputed": rng.choice((0, 0, 0, 1)),
            }
        )
    anchor = today()
    rows = []
    counter = 0
    for subject in subjects:
        for status in ("pending", "paid", "disputed"):
            for _ in range(int(subject[status])):
                counter += 1
                reason, (low, high) = rng.choice(reasons)
                occurred = datetime.combine(
                    anchor - timedelta(days=rng.randrange(5, 400)),
                    time(rng.randrange(7, 23), rng.randrange(0, 60)),
                    tzinfo=BA_TZ,
                )
                due = occurred.date() + timedelta(days=int(spec["days_to_pay"]))
                amount_cents = rng.randrange(int(low), int(high) + 1, 500) * 100
                rows.append(
                    (f"INF-{counter:06d}", subject["plate"], subject["dni"],
                     occurred.isoformat(), rng.choice(places), reason, amount_cents, status,
                     due.isoformat())
                )
    cursor.executemany(
        "INSERT INTO infractions (id, plate, dni, occurred_at, place, reason, amount_cents,"
        " status, due_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def simulated_status(station_id: str, capacity: int, step: int) -> Tuple[int, int, int, int]:
    """(bikes, bikes_disabled, docks, is_renting) of a station at a simulation step."""
    rng = random.Random(f"ecobici-status|{station_id}|{step}")
    roll = rng.random()
    if roll < 0.08:
        bikes = 0
    elif roll < 0.14:
        bikes = capacity
    else:
        bikes = rng.randrange(1, capacity)
    disabled = min(capacity - bikes, rng.choice((0, 0, 0, 1, 2)))
    docks = capacity - bikes - disabled
    is_renting = 0 if rng.random() < 0.02 else 1
    return bikes, disabled, docks, is_renting


def seed_ecobici_status(cursor: Cursor, step: int) -> None:
    stations = cursor.execute(
        "SELECT station_id, capacity FROM ecobici_stations ORDER BY station_id"
    ).fetchall()
    stamp = int(now().timestamp())
    cursor.execute("DELETE FROM ecobici_status")
    cursor.executemany(
        "INSERT INTO ecobici_status (station_id, bikes, bikes_disabled, docks, is_renting,"
        " last_reported) VALUES (?, ?, ?, ?, ?, ?)",
        (
            (s["station_id"], *simulated_status(s["station_id"], s["capacity"], step), stamp)
            for s in stations
        ),
    )
    _set_meta(cursor, "ecobici_step", str(step))


def ensure_calendar(cursor: Cursor, start: date, days: int) -> int:
    """Generate free slots for weekdays in [start, start + days); returns rows added."""
    until = _meta(cursor, "calendar_until")
    first = start
    if until is not None:
        first = max(start, date.fromisoformat(until) + timedelta(days=1))
    last = start + timedelta(days=days - 1)
    if first > last:
        return 0
    pairs = cursor.execute(
        "SELECT centre_id, specialty FROM centre_specialties ORDER BY centre_id, specialty"
    ).fetchall()
    rows = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            for pair in pairs:
                rng = random.Random(f"calendar|{pair['centre_id']}|{pair['specialty']}|{day}")
                for part, times in (("morning", MORNING), ("afternoon", AFTERNOON)):
                    for slot_time in sorted(rng.sample(times, rng.choice((0, 1, 2, 3, 3, 4)))):
                        starts_at = datetime.combine(day, slot_time, tzinfo=BA_TZ)
                        rows.append((pair["centre_id"], pair["specialty"], day.isoformat(),
                                     starts_at.isoformat(), part))
        day += timedelta(days=1)
    cursor.executemany(
        "INSERT INTO slots (centre_id, specialty, day, starts_at, part_of_day)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        rows,
    )
    _set_meta(cursor, "calendar_until", last.isoformat())
    logger.info("calendar: %d slots added up to %s", len(rows), last)
    return len(rows)
