"""Schema and seeding: idempotent, deterministic, on SQLite and PostgreSQL."""
from datetime import date, timedelta

import pytest

from city_services.db import Database
from city_services.seed import ensure_calendar, initialise
from tests.fixtures.city_services import _pg_admin_url, fresh_pg_database

COUNTED = ("health_centres", "centre_specialties", "slots", "infractions", "green_points",
           "ecobici_stations", "ecobici_status", "address_points")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_factory(request, tmp_path):
    """Makes fresh empty databases of one kind; all removed at the end."""
    made = []
    if request.param == "postgresql":
        admin = _pg_admin_url()
        if admin is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        contexts = []

        def make():
            context = fresh_pg_database(admin)
            contexts.append(context)
            database = Database(context.__enter__())
            made.append(database)
            return database

        yield make
        for database in made:
            database.close()
        for context in contexts:
            context.__exit__(None, None, None)
    else:
        def make():
            database = Database(f"sqlite:///{tmp_path / f'db{len(made)}.sqlite3'}")
            made.append(database)
            return database

        yield make


def counts(database):
    with database.transaction() as cursor:
        return {table: cursor.execute(f"SELECT COUNT(*) FROM {table}").scalar() for table in COUNTED}


def infractions(database):
    with database.transaction() as cursor:
        return cursor.execute(
            "SELECT id, plate, dni, occurred_at, place, reason, amount_cents, status, due_date"
            " FROM infractions ORDER BY id").fetchall()


def test_initialise_twice_changes_nothing(database_factory):
    database = database_factory()
    initialise(database, calendar_days=14)
    first = counts(database)
    initialise(database, calendar_days=14)
    assert counts(database) == first
    assert first["health_centres"] == 79 and first["green_points"] == 80
    assert first["ecobici_stations"] == 358 and first["slots"] > 1000


def test_generated_records_are_deterministic(database_factory):
    one, two = database_factory(), database_factory()
    initialise(one, calendar_days=7)
    initialise(two, calendar_days=7)
    assert infractions(one) == infractions(two)
    with one.transaction() as a, two.transaction() as b:
        query = "SELECT centre_id, specialty, starts_at FROM slots ORDER BY centre_id, specialty, starts_at"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        query = "SELECT station_id, bikes, docks FROM ecobici_status ORDER BY station_id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_sample_subjects_have_the_documented_fines(database_factory):
    database = database_factory()
    initialise(database, calendar_days=1)
    with database.transaction() as cursor:
        rows = cursor.execute(
            "SELECT plate, status, COUNT(*) AS n FROM infractions GROUP BY plate, status").fetchall()
    by_plate = {}
    for row in rows:
        by_plate.setdefault(row["plate"], {})[row["status"]] = row["n"]
    assert by_plate["AB123CD"] == {"pending": 3, "paid": 1}
    assert by_plate["AC456FG"] == {"pending": 10, "paid": 3, "disputed": 1}
    assert "AE789HJ" not in by_plate
    assert by_plate["123ABC"] == {"disputed": 1}


def test_calendar_is_topped_up_not_duplicated(database_factory):
    database = database_factory()
    initialise(database, calendar_days=3)
    with database.transaction(write=True) as cursor:
        later = date.today() + timedelta(days=7)
        added = ensure_calendar(cursor, date.today(), 10)
        again = ensure_calendar(cursor, date.today(), 10)
        last_day = cursor.execute("SELECT MAX(day) FROM slots").scalar()
        weekend = cursor.execute("SELECT day FROM slots").fetchall()
    assert added > 0 and again == 0
    assert last_day <= (date.today() + timedelta(days=9)).isoformat()
    assert last_day >= (later - timedelta(days=3)).isoformat()
    assert all(date.fromisoformat(row["day"]).weekday() < 5 for row in weekend)
