"""HTTP behaviour of the reference service that the clients do not exercise."""
import uuid

import pytest
import requests

from city_services.repository import incident_priority

BAD_REQUESTS = [
    ("GET", "/infractions", {}, None, 400, "missing_subject"),
    ("GET", "/infractions", {"plate": "A1"}, None, 422, "invalid_plate"),
    ("GET", "/infractions", {"dni": "12"}, None, 422, "invalid_dni"),
    ("POST", "/certificates", None, "not json", 400, "invalid_json"),
    ("POST", "/certificates", None, [1, 2], 400, "invalid_body"),
    ("GET", "/health-centres", {"lat": "x", "lon": "1"}, None, 422, "invalid_lat"),
    ("GET", "/health-centres", {"barrio": "Springfield"}, None, 422, "invalid_barrio"),
    ("GET", "/health-centres", {"limit": "0"}, None, 422, "invalid_limit"),
    ("GET", "/health-centres/H-26/slots", {}, None, 422, "invalid_specialty"),
    ("GET", "/health-centres/H-26/slots", {"specialty": "pediatría", "from": "mañana"}, None, 422,
     "invalid_from"),
    ("GET", "/health-centres/H-26/slots", {"specialty": "pediatría", "from": "2030-01-10",
                                           "to": "2030-01-01"}, None, 422, "invalid_to"),
    ("GET", "/health-centres/H-26/slots", {"specialty": "pediatría", "part_of_day": "night"},
     None, 422, "invalid_part_of_day"),
    ("POST", "/appointments", None, {"slot_id": "abc", "dni": "30123456", "citizen_id": "x"}, 422,
     "invalid_slot_id"),
    ("POST", "/appointments", None, {"slot_id": "1", "dni": "30123456"}, 422, "invalid_citizen_id"),
    ("GET", "/appointments", {}, None, 422, "invalid_citizen_id"),
    ("POST", "/service-requests", None, {"category": "ovnis", "description": "d",
                                         "citizen_id": "x", "address": "a"}, 422,
     "invalid_category"),
    ("POST", "/service-requests", None, {"category": "bache", "description": "d",
                                         "citizen_id": "x"}, 422, "invalid_address"),
    ("POST", "/service-requests", None, {"category": "bache", "description": "d",
                                         "citizen_id": "x", "lat": -34.6}, 422, "invalid_lat"),
    ("GET", "/service-requests/ABC-1", None, None, 400, "invalid_reference"),
    ("POST", "/incidents", None, {"kind": "incendio", "description": "d", "citizen_id": "x",
                                  "people_at_risk": "si"}, 422, "invalid_people_at_risk"),
    ("GET", "/green-points", {"lat": "-34.6"}, None, 422, "invalid_lon"),
    ("GET", "/green-points", {"lat": "-34.6", "lon": "-58.4", "material": "uranio"}, None, 422,
     "invalid_material"),
    ("GET", "/geocode", {}, None, 422, "invalid_address"),
]


@pytest.mark.parametrize("method, path, params, body, status, code", BAD_REQUESTS)
def test_bad_input_gets_a_json_error_never_a_trace(city_services, method, path, params, body,
                                                   status, code):
    kwargs = {"params": params, "timeout": 10}
    if isinstance(body, str):
        kwargs["data"] = body
    elif body is not None:
        kwargs["json"] = body
    response = requests.request(method, city_services + path, **kwargs)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert "Traceback" not in response.text


OPERATOR_ENDPOINTS = [
    ("POST", "/weather-alerts", {"level": "amarilla", "title": "t", "description": "d",
                                 "area": "CABA"}),
    ("POST", "/weather-alerts/1/expire", {}),
    ("PUT", "/ecobici/stations/2/status", {"bikes": 1}),
    ("POST", "/ecobici/simulation/step", {}),
    ("POST", "/service-requests/SOL-000001/status", {"status": "resolved"}),
]


@pytest.mark.parametrize("method, path, body", OPERATOR_ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "test-operator-token"])
def test_operator_endpoints_require_the_operator_token(city_services, method, path, body, header):
    headers = {"Authorization": header} if header else {}
    response = requests.request(method, city_services + path, json=body, headers=headers,
                                timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "operator_token_required"


def test_operator_token_is_accepted(city_services, operator_token):
    # erasing a citizen who has no records changes nothing the other tests see
    response = requests.post(f"{city_services}/citizens/erase", timeout=10,
                             json={"citizen_id": f"nobody-{uuid.uuid4().hex}"},
                             headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 200
    assert response.json() == {"appointments": 0, "service_requests": 0, "incidents": 0}


def test_weather_alert_publish_validation_and_expiry(city_services, operator_token):
    auth = {"Authorization": f"Bearer {operator_token}"}
    bad = requests.post(f"{city_services}/weather-alerts", headers=auth, timeout=10, json={
        "level": "violeta", "title": "t", "description": "d", "area": "CABA"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_level")
    naive = requests.post(f"{city_services}/weather-alerts", headers=auth, timeout=10, json={
        "level": "roja", "title": "t", "description": "d", "area": "CABA",
        "ends_at": "2099-01-01T00:00:00"})
    assert (naive.status_code, naive.json()["error"]["code"]) == (422, "invalid_ends_at")
    future = requests.post(f"{city_services}/weather-alerts", headers=auth, timeout=10, json={
        "level": "roja", "title": "Mañana", "description": "d", "area": "CABA",
        "starts_at": "2099-01-01T00:00:00-03:00"})
    assert future.status_code == 201
    active_ids = [a["id"] for a in requests.get(f"{city_services}/weather-alerts",
                                                timeout=10).json()["alerts"]]
    assert future.json()["id"] not in active_ids, "an alert that has not started is not active"
    missing = requests.post(f"{city_services}/weather-alerts/999999/expire", headers=auth,
                            timeout=10)
    assert missing.status_code == 404


def test_certificate_pdf_is_a_real_pdf_with_the_code(city_services):
    issued = requests.post(f"{city_services}/certificates", json={"plate": "ae 789 hj"},
                           timeout=10)
    assert issued.status_code == 201, issued.text
    certificate = issued.json()
    assert certificate["plate"] == "AE789HJ"
    assert certificate["pdf_url"] == f"{city_services}/certificates/{certificate['code']}.pdf"
    pdf = requests.get(certificate["pdf_url"], timeout=10)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert certificate["code"].encode() in pdf.content
    again = requests.get(certificate["pdf_url"], timeout=10)
    assert again.content == pdf.content, "the PDF is a deterministic rendering of the record"
    unknown = requests.get(f"{city_services}/certificates/LD-AAAAA-AAAAA.pdf", timeout=10)
    assert unknown.status_code == 404


def test_gbfs_feeds_have_the_real_shape(city_services):
    info = requests.get(f"{city_services}/ecobici/gbfs/station_information.json", timeout=10).json()
    status = requests.get(f"{city_services}/ecobici/gbfs/station_status.json", timeout=10).json()
    for feed in (info, status):
        assert isinstance(feed["last_updated"], int) and isinstance(feed["ttl"], int)
        assert isinstance(feed["data"]["stations"], list)
    stations = info["data"]["stations"]
    assert len(stations) == 358, "2 stations with 0;0 coordinates are left out"
    assert {"station_id", "name", "lat", "lon", "address", "capacity"} <= set(stations[0])
    assert all(-34.71 < s["lat"] < -34.52 and -58.54 < s["lon"] < -58.33 for s in stations)
    by_id = {s["station_id"]: s for s in stations}
    for entry in status["data"]["stations"]:
        capacity = by_id[entry["station_id"]]["capacity"]
        used = entry["num_bikes_available"] + entry["num_docks_available"] + entry["num_bikes_disabled"]
        assert used == capacity, entry
    discovery = requests.get(f"{city_services}/ecobici/gbfs/gbfs.json", timeout=10).json()
    names = {feed["name"] for feed in discovery["data"]["es"]["feeds"]}
    assert names == {"station_information", "station_status"}


@pytest.mark.parametrize(
    "kind, at_risk, expected",
    [("incendio", False, "alta"), ("arbol_caido", False, "media"), ("tormenta", False, "baja"),
     ("tormenta", True, "alta"), ("otro", True, "alta"), ("inundacion", False, "media")],
)
def test_incident_priority(kind, at_risk, expected):
    assert incident_priority(kind, at_risk) == expected


def test_unknown_route_and_method(city_services):
    assert requests.get(f"{city_services}/nope", timeout=10).json()["error"]["code"] == \
        "route_not_found"
    response = requests.delete(f"{city_services}/health", timeout=10)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


NUL_REQUESTS = [
    ("GET", "/certificates/LD-%00", None, None),
    ("GET", "/geocode", {"address": "Corrientes\x001234"}, None),
    ("POST", "/service-requests", None, {"category": "bache", "description": "pozo\x00grande",
                                         "citizen_id": "whatsapp:5491155550101", "address": "Corrientes 1234"}),
    ("GET", "/health-centres", {"name": "a\x00"}, None),
]


@pytest.mark.parametrize("backend", ["city_services", "city_services_pg"])
@pytest.mark.parametrize("method, path, params, body", NUL_REQUESTS)
def test_a_nul_character_anywhere_is_a_4xx_on_both_databases(request, backend, method, path, params, body):
    # PostgreSQL refuses NUL in text: psycopg2 raised ValueError, answered as a 500 (issue 14)
    base = request.getfixturevalue(backend)
    response = requests.request(method, base + path, params=params, json=body, timeout=10)
    assert 400 <= response.status_code < 500, response.text


def test_a_request_without_coordinates_needs_a_person_to_locate_it(city_services):
    base = {"category": "bache", "description": "pozo grande", "citizen_id": "5491100000000"}
    unlocated = requests.post(f"{city_services}/service-requests", timeout=10,
                              json={**base, "address": "Calle Inventada 123"}).json()
    located = requests.post(f"{city_services}/service-requests", timeout=10,
                            json={**base, "address": "Suipacha 1156", "lat": -34.5968, "lon": -58.3797}).json()
    assert (unlocated["needs_location"], located["needs_location"]) == (True, False)
    fetched = requests.get(f"{city_services}/service-requests/{unlocated['ticket']}", timeout=10,
                           params={"citizen_id": base["citizen_id"]}).json()
    assert fetched["needs_location"] is True
