"""Personal data belongs to whoever created it (the chat identity, ``citizen_id``), and a
creating POST with an ``Idempotency-Key`` is made once however often it is repeated."""
import datetime as dt
import uuid

import pytest
import requests

OWNER, STRANGER = "5491100000301", "5491100000399"


def _free_slot(base: str) -> int:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    response = requests.get(f"{base}/health-centres/H-26/slots", timeout=10, params={
        "specialty": "pediatría", "from": tomorrow.isoformat(),
        "to": (tomorrow + dt.timedelta(days=6)).isoformat()})
    assert response.status_code == 200, response.text
    return response.json()["slots"][0]["id"]


def _book(base: str, citizen_id: str, key: str = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(f"{base}/appointments", headers=headers, timeout=10, json={
        "slot_id": str(_free_slot(base)), "dni": "30111222", "citizen_id": citizen_id})


def test_appointments_are_listed_and_cancelled_only_by_who_booked(city_services):
    owner, stranger = f"{OWNER}-{uuid.uuid4().hex[:6]}", f"{STRANGER}-{uuid.uuid4().hex[:6]}"
    booked = _book(city_services, owner)
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]

    mine = requests.get(f"{city_services}/appointments", params={"citizen_id": owner}, timeout=10)
    assert [a["code"] for a in mine.json()["appointments"]] == [code]
    theirs = requests.get(f"{city_services}/appointments", timeout=10,
                          params={"citizen_id": stranger, "dni": "30111222"})
    assert theirs.json()["appointments"] == [], "a DNI never lists anyone's appointments"

    # someone else's code answers like an unknown one: existence is not revealed
    foreign = requests.post(f"{city_services}/appointments/{code}/cancel", timeout=10,
                            json={"citizen_id": stranger})
    unknown = requests.post(f"{city_services}/appointments/TUR-999999/cancel", timeout=10,
                            json={"citizen_id": stranger})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()

    cancelled = requests.post(f"{city_services}/appointments/{code}/cancel", timeout=10,
                              json={"citizen_id": owner})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = requests.post(f"{city_services}/appointments/{code}/cancel", timeout=10,
                          json={"citizen_id": owner})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_cancelled")


def test_cancel_without_citizen_id_is_refused(city_services):
    response = requests.post(f"{city_services}/appointments/TUR-000001/cancel", timeout=10,
                             json={"dni": "30111222"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_citizen_id")


def test_a_complaint_shows_its_details_only_to_its_author(city_services):
    created = requests.post(f"{city_services}/service-requests", timeout=10, json={
        "category": "bache", "description": "Pozo enorme frente a mi casa",
        "address": "Av. Corrientes 1234", "citizen_id": OWNER})
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]

    mine = requests.get(f"{city_services}/service-requests/{ticket}",
                        params={"citizen_id": OWNER}, timeout=10).json()
    assert mine["owner"] is True
    assert mine["address"] == "Av. Corrientes 1234"
    assert mine["description"] == "Pozo enorme frente a mi casa"

    for params in ({"citizen_id": STRANGER}, {}):
        other = requests.get(f"{city_services}/service-requests/{ticket}", params=params,
                             timeout=10)
        assert other.status_code == 200
        assert other.json() == {"ticket": ticket, "category": "bache",
                                "status": mine["status"], "owner": False}
        assert "Corrientes" not in other.text


def test_an_incident_shows_its_details_only_to_its_reporter(city_services):
    created = requests.post(f"{city_services}/incidents", timeout=10, json={
        "kind": "arbol_caido", "description": "Cayó un árbol sobre un auto",
        "address": "Av. Rivadavia 5000", "citizen_id": OWNER, "people_at_risk": False})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    mine = requests.get(f"{city_services}/incidents/{number}", params={"citizen_id": OWNER},
                        timeout=10).json()
    assert mine["owner"] is True and "priority" in mine
    other = requests.get(f"{city_services}/incidents/{number}",
                         params={"citizen_id": STRANGER}, timeout=10)
    assert other.json() == {"number": number, "kind": "arbol_caido",
                            "status": mine["status"], "owner": False}
    assert "Rivadavia" not in other.text


@pytest.mark.parametrize("path, body", [
    ("/service-requests", {"category": "bache", "description": "Pozo", "citizen_id": OWNER,
                           "address": "Av. Corrientes 1234"}),
    ("/incidents", {"kind": "otro", "description": "Ruido", "citizen_id": OWNER,
                    "address": "Av. Corrientes 1234", "people_at_risk": False}),
    ("/certificates", {"plate": "AE789HJ"}),
])
def test_a_repeated_idempotency_key_answers_the_first_record(city_services, path, body):
    key = f"test:{uuid.uuid4().hex}"
    first = requests.post(city_services + path, json=body, headers={"Idempotency-Key": key},
                          timeout=10)
    again = requests.post(city_services + path, json=body, headers={"Idempotency-Key": key},
                          timeout=10)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    fresh = requests.post(city_services + path, json=body, timeout=10,
                          headers={"Idempotency-Key": f"test:{uuid.uuid4().hex}"})
    assert fresh.status_code == 201 and fresh.json() != first.json()


def test_a_repeated_booking_key_books_one_slot(city_services):
    citizen, key = f"{OWNER}-{uuid.uuid4().hex[:6]}", f"test:{uuid.uuid4().hex}"
    slot = str(_free_slot(city_services))
    body = {"slot_id": slot, "dni": "30111222", "citizen_id": citizen}
    responses = [requests.post(f"{city_services}/appointments", json=body, timeout=10,
                               headers={"Idempotency-Key": key}) for _ in range(3)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["code"] for r in responses}) == 1
    listed = requests.get(f"{city_services}/appointments", params={"citizen_id": citizen},
                          timeout=10).json()["appointments"]
    assert len(listed) == 1


def test_a_key_reused_on_another_route_is_refused(city_services):
    key = f"test:{uuid.uuid4().hex}"
    first = requests.post(f"{city_services}/certificates", json={"plate": "AE789HJ"},
                          headers={"Idempotency-Key": key}, timeout=10)
    assert first.status_code == 201
    other = requests.post(f"{city_services}/incidents", headers={"Idempotency-Key": key},
                          timeout=10, json={"kind": "otro", "description": "d",
                                            "citizen_id": OWNER, "people_at_risk": False})
    # keys are scoped by route, so the same key elsewhere is a separate request
    assert other.status_code == 201


def test_a_failed_first_attempt_does_not_burn_the_key(city_services):
    key = f"test:{uuid.uuid4().hex}"
    bad = requests.post(f"{city_services}/service-requests", headers={"Idempotency-Key": key},
                        timeout=10, json={"category": "ovnis", "description": "d",
                                          "citizen_id": OWNER, "address": "a"})
    assert bad.status_code == 422
    good = requests.post(f"{city_services}/service-requests", headers={"Idempotency-Key": key},
                         timeout=10, json={"category": "bache", "description": "Pozo",
                                           "citizen_id": OWNER, "address": "Av. Corrientes 1234"})
    assert good.status_code == 201, good.text
