"""Failures every client shares: service down, frozen (timeouts), broken (5xx), malformed."""
import socket
import sqlite3
import time
from datetime import date, timedelta

import pytest

from actions.clients import (
    AppointmentsClient,
    EcobiciClient,
    GeocodingClient,
    GreenPointsClient,
    IncidentsClient,
    InfractionsClient,
    ServiceRequestsClient,
    ServiceUnavailable,
    WeatherAlertsClient,
)
from actions.clients._http import DEFAULT_BASE_URL, build_session
from tests.fixtures.city_services import free_port

DAY = date.today() + timedelta(days=1)

# Every public client method, called with valid arguments.
CALLS = {
    "infractions.find": (InfractionsClient, lambda c: c.find(plate="AB123CD")),
    "infractions.issue_certificate": (InfractionsClient, lambda c: c.issue_certificate(dni="35111222")),
    "infractions.verify_certificate": (InfractionsClient, lambda c: c.verify_certificate("LD-AAAAA-AAAAA")),
    "appointments.find_centres": (AppointmentsClient, lambda c: c.find_centres(name="durand")),
    "appointments.specialties": (AppointmentsClient, lambda c: c.specialties()),
    "appointments.free_slots": (AppointmentsClient, lambda c: c.free_slots("H-26", "pediatría", DAY, DAY)),
    "appointments.book": (AppointmentsClient, lambda c: c.book("1", "30123456", "x")),
    "appointments.list": (AppointmentsClient, lambda c: c.list("30123456")),
    "appointments.cancel": (AppointmentsClient, lambda c: c.cancel("TUR-000001", "30123456")),
    "service_requests.create": (ServiceRequestsClient, lambda c: c.create("bache", "d", "x", address="Cuba 2000")),
    "service_requests.get": (ServiceRequestsClient, lambda c: c.get("SOL-000001", "x")),
    "incidents.report": (IncidentsClient, lambda c: c.report("incendio", "d", "x", True)),
    "green_points.nearest": (GreenPointsClient, lambda c: c.nearest(-34.6, -58.4)),
    "geocoding.locate": (GeocodingClient, lambda c: c.locate("Cuba 2000")),
    "geocoding.barrio_centre": (GeocodingClient, lambda c: c.barrio_centre("Palermo")),
    "ecobici.nearest": (EcobiciClient, lambda c: c.nearest(-34.6, -58.4)),
    "weather_alerts.active": (WeatherAlertsClient, lambda c: c.active()),
}


def make(cls, base_url, **kwargs):
    if cls is EcobiciClient:
        base_url += "/ecobici/gbfs"
    return cls(base_url, **kwargs)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_service_down_is_service_unavailable(name):
    cls, call = CALLS[name]
    client = make(cls, f"http://127.0.0.1:{free_port()}", session=build_session(retries=0))
    with pytest.raises(ServiceUnavailable):
        call(client)


@pytest.fixture(scope="module")
def frozen_service(tmp_path_factory):
    """A private instance stopped with SIGSTOP: connections are accepted, never answered."""
    from tests.fixtures.city_services import run_city_services

    directory = tmp_path_factory.mktemp("frozen")
    with run_city_services(f"sqlite:///{directory / 'db.sqlite3'}", directory) as service:
        service.freeze()
        yield service
        service.thaw()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_timeout_is_service_unavailable(name, frozen_service):
    cls, call = CALLS[name]
    client = make(cls, frozen_service.base_url, session=build_session(retries=0),
                  timeout=(0.5, 0.3))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        call(client)
    assert time.monotonic() - started < 5, "the timeout bounds the call"


def test_get_is_retried_then_gives_up(frozen_service):
    client = InfractionsClient(frozen_service.base_url, timeout=(0.5, 0.2))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        client.find(plate="AB123CD")
    assert time.monotonic() - started >= 0.6, "a GET is tried more than once"


def test_only_get_is_retried():
    retry = build_session().get_adapter("http://127.0.0.1").max_retries
    assert retry.allowed_methods == frozenset({"GET"})
    assert retry.total == 2 and retry.backoff_factor > 0


def test_server_error_is_service_unavailable(start_city_services):
    service = start_city_services()
    with sqlite3.connect(service.database_url[len("sqlite:///"):]) as db:
        db.execute("DROP TABLE weather_alerts")
    with pytest.raises(ServiceUnavailable) as raised:
        WeatherAlertsClient(service.base_url).active()
    assert raised.value.status == 500
    assert "Traceback" not in str(raised.value.payload)


def test_backend_stopped_midway(start_city_services):
    service = start_city_services()
    client = ServiceRequestsClient(service.base_url)
    ticket = client.create("bache", "Pozo", "x", address="Cuba 2000").ticket
    service.stop()
    with pytest.raises(ServiceUnavailable):
        client.get(ticket, "x")


def test_malformed_answer_is_service_unavailable(city_services):
    client = EcobiciClient(city_services, information_feed="health")  # not a GBFS feed
    with pytest.raises(ServiceUnavailable) as raised:
        client.nearest(-34.6, -58.4)
    assert "malformed" in str(raised.value)


def test_no_io_at_construction_or_from_env(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("network I/O during construction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("CITY_SERVICES_URL", raising=False)
    for cls, _call in CALLS.values():
        client = cls.from_env()
        assert client._session is None and not hasattr(client._local, "session")
        expected = DEFAULT_BASE_URL + ("/ecobici/gbfs" if cls is EcobiciClient else "")
        assert client.base_url == expected
    monkeypatch.setenv("CITY_SERVICES_URL", "http://city.example:8080/")
    assert InfractionsClient.from_env().base_url == "http://city.example:8080"
    assert EcobiciClient.from_env().base_url == "http://city.example:8080/ecobici/gbfs"


# --- every status a city system may answer maps to one typed failure ----------------


@pytest.fixture
def answering_status():
    """A real HTTP server answering every request with the chosen status and a JSON error."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def start(status: int) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.dumps({"error": {"code": f"e{status}", "message": "m"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reply

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status, error", [
    (401, "CredentialsRejected"), (403, "CredentialsRejected"), (429, "Busy"),
    (409, "Conflict"), (404, "NotFound"), (422, "InvalidRequest"), (500, "ServiceUnavailable"),
    (405, "ServiceError"),
])
def test_status_maps_to_one_typed_failure(answering_status, status, error):
    from actions.clients import errors

    client = ServiceRequestsClient(answering_status(status), session=build_session(retries=0))
    with pytest.raises(errors.ServiceError) as raised:
        client.create("bache", "d", "x", address="Cuba 2000", idempotency_key="k")
    assert type(raised.value).__name__ == error
    assert (raised.value.status, raised.value.code) == (status, f"e{status}")


def test_rejected_credentials_and_busy_are_unavailable_for_the_citizen():
    from actions.clients.errors import Busy, CredentialsRejected

    assert issubclass(CredentialsRejected, ServiceUnavailable) and issubclass(Busy, ServiceUnavailable)
