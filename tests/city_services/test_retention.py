"""Forgetting in the reference service: one citizen's erasure and the retention purge,
through the operator endpoints, on SQLite and on PostgreSQL (each test on a private instance,
because a purge touches every record)."""
import dataclasses
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Dict, Iterator

import pytest
import requests

from actions.clients import AppointmentsClient, IncidentsClient, ServiceRequestsClient
from actions.clients.citizen_data import CitizenDataClient, ErasedRecords
from city_services.db import Database
from tests.fixtures.city_services import (
    CityServicesProcess,
    _pg_admin_url,
    fresh_pg_database,
    run_city_services,
)

OPERATOR_TOKEN = "test-operator-token"  # tests/fixtures/city_services.py's instances


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path: Path) -> Iterator[CityServicesProcess]:
    if request.param == "sqlite":
        with run_city_services(f"sqlite:///{tmp_path / 'city.sqlite3'}", tmp_path) as process:
            yield process
        return
    admin_url = _pg_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with fresh_pg_database(admin_url) as url, run_city_services(url, tmp_path) as process:
        yield process


def _records_of(base_url: str, citizen_id: str) -> Dict[str, str]:
    """One record of each kind the city keeps about a citizen; returns their references."""
    appointments = AppointmentsClient(base_url)
    centre = appointments.find_centres(specialty="pediatría", limit=1)[0]
    slot = appointments.free_slots(
        centre.id, "pediatría", date.today() + timedelta(days=1), date.today() + timedelta(days=14)
    )[0]
    appointment = appointments.book(slot.id, "30123456", citizen_id)
    request = ServiceRequestsClient(base_url).create(
        "bache", "un pozo enorme frente a mi casa", citizen_id,
        address="Av. Corrientes 1234", lat=-34.6037, lon=-58.3816, photo="var/media/123.jpg",
    )
    incident = IncidentsClient(base_url).report(
        "arbol_caido", "se cayó el árbol de mi vereda", citizen_id, False,
        address="Rivadavia 5000", lat=-34.6186, lon=-58.4397,
    )
    return {"appointment": appointment.code, "slot": slot.id, "ticket": request.ticket,
            "incident": incident.number}


def _row(database_url: str, sql: str, *params: str) -> Dict:
    database = Database(database_url)
    try:
        with database.transaction() as cursor:
            return cursor.execute(sql, params).fetchone()
    finally:
        database.close()


def _client(base_url: str) -> CitizenDataClient:
    return CitizenDataClient(base_url, OPERATOR_TOKEN)


def test_erasure_deletes_bookings_and_strips_reports(service):
    citizen, neighbour = f"whatsapp:549{uuid.uuid4().int % 10**10}", "whatsapp:5491100000000"
    mine = _records_of(service.base_url, citizen)
    theirs = _records_of(service.base_url, neighbour)

    erased = _client(service.base_url).erase(citizen)

    assert erased == ErasedRecords(appointments=1, service_requests=1, incidents=1)
    db = service.database_url
    assert _row(db, "SELECT COUNT(*) AS n FROM appointments WHERE citizen_id = ?", citizen)["n"] == 0
    assert _row(db, "SELECT booked FROM slots WHERE id = ?", mine["slot"])["booked"] == 0, \
        "the erased booking's slot must be free again"
    request = _row(db, "SELECT * FROM service_requests WHERE ticket = ?", mine["ticket"])
    assert {k: request[k] for k in ("citizen_id", "description", "address", "lat", "lon", "photo")} \
        == {"citizen_id": "", "description": "", "address": None, "lat": None, "lon": None,
            "photo": None}
    assert request["category"] == "bache" and request["status"] == "received"
    incident = _row(db, "SELECT * FROM incidents WHERE number = ?", mine["incident"])
    assert (incident["citizen_id"], incident["description"], incident["address"]) == ("", "", None)
    # the neighbour keeps everything
    assert _row(db, "SELECT citizen_id FROM appointments WHERE code = ?", theirs["appointment"]) \
        == {"citizen_id": neighbour}
    assert _row(db, "SELECT description FROM service_requests WHERE ticket = ?", theirs["ticket"]) \
        == {"description": "un pozo enorme frente a mi casa"}
    assert _client(service.base_url).erase(citizen) == ErasedRecords(0, 0, 0)


def test_purge_anonymises_what_is_older_than_the_limit_but_not_bookings_to_come(service):
    citizen = "whatsapp:5491122223333"
    records = _records_of(service.base_url, citizen)
    client = _client(service.base_url)

    assert _without_replays(client.anonymise_older_than(90)) == ErasedRecords(0, 0, 0)
    time.sleep(1.1)  # timestamps have whole seconds: the records are now older than 0 days
    assert _without_replays(client.anonymise_older_than(0)) == ErasedRecords(
        appointments=0, service_requests=1, incidents=1
    )

    db = service.database_url
    assert _row(db, "SELECT dni, citizen_id FROM appointments WHERE code = ?",
                records["appointment"]) == {"dni": "30123456", "citizen_id": citizen}, \
        "a booking for a date still to come keeps its owner"
    assert _row(db, "SELECT description, photo FROM service_requests WHERE ticket = ?",
                records["ticket"]) == {"description": "", "photo": None}


@pytest.mark.parametrize("path, body", [
    ("/citizens/erase", {"citizen_id": "whatsapp:5491122223333"}),
    ("/retention/purge", {"older_than_days": 0}),
])
@pytest.mark.parametrize("header", [None, "Bearer wrong-token"])
def test_forgetting_needs_the_operator_token(city_services, path, body, header):
    headers = {"Authorization": header} if header else {}
    response = requests.post(city_services + path, json=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "operator_token_required"


@pytest.mark.parametrize("path, body, code", [
    ("/citizens/erase", {}, "invalid_citizen_id"),
    ("/retention/purge", {}, "invalid_older_than_days"),
    ("/retention/purge", {"older_than_days": -1}, "invalid_older_than_days"),
    ("/retention/purge", {"older_than_days": "noventa"}, "invalid_older_than_days"),
])
def test_forgetting_refuses_bad_input(city_services, operator_token, path, body, code):
    response = requests.post(city_services + path, json=body, timeout=10,
                             headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def _without_replays(records: ErasedRecords) -> ErasedRecords:
    return dataclasses.replace(records, idempotency_replays=0)


def test_purge_keeps_the_answers_for_retries_one_day_at_most(service):
    """A write's answer is kept for a retry of it (Idempotency-Key); it holds what the citizen
    wrote, so the purge deletes it after a day even under a longer retention limit."""
    body = {"category": "bache", "description": "pozo en mi puerta", "citizen_id": "5491144445555",
            "address": "Corrientes 1234"}
    headers = {"Idempotency-Key": f"test:{uuid.uuid4().hex}"}
    first = requests.post(f"{service.base_url}/service-requests", json=body, headers=headers, timeout=10)
    client = _client(service.base_url)

    assert client.anonymise_older_than(90).idempotency_replays == 0  # younger than a day: kept
    retry = requests.post(f"{service.base_url}/service-requests", json=body, headers=headers, timeout=10)
    assert retry.json()["ticket"] == first.json()["ticket"]
    time.sleep(1.1)
    assert client.anonymise_older_than(0).idempotency_replays >= 1
    assert _row(service.database_url, "SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = ?",
                headers["Idempotency-Key"])["n"] == 0
