"""Every answer of a city system that is not a success gets a clear answer for the citizen
and keeps the form's data; no action ever raises (the action server must never answer
Rasa with a 500). The backend here is a small real HTTP server that answers each request
with the status a test chooses, with the reference services' JSON error body."""
import json
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from actions.appointments import ActionBookAppointment, ActionCancelAppointment, ActionListAppointments
from actions.base import RETRY_SLOT, WRITE_KEY_SLOT
from actions.clients.appointments import AppointmentsClient
from actions.clients.handoffs import HandoffsClient
from actions.clients.incidents import IncidentsClient
from actions.clients.infractions import InfractionsClient
from actions.clients.service_requests import ServiceRequestsClient
from actions.emergencies import ActionReportEmergency
from actions.infractions import ActionLookUpInfractions
from actions.service_requests import ActionCheckServiceRequest, ActionCreateServiceRequest
from tests.actions.flow_support import response_names

CODES = {401: "unauthorized", 403: "forbidden", 405: "method_not_allowed", 409: "conflict",
         413: "payload_too_large", 429: "too_many_requests", 500: "internal", 503: "unavailable"}


class _Answer(BaseHTTPRequestHandler):
    status = 500
    seen = []

    def _reply(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
        body = json.dumps({"error": {"code": CODES[self.status], "message": "x"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def answering() -> Iterator:
    """answering(status) → base URL of a server that answers every request with it."""
    servers = []

    def start(status: int) -> str:
        handler = type("Handler", (_Answer,), {"status": status, "seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, handler))
        return f"http://127.0.0.1:{server.server_address[1]}"

    start.requests = lambda: [r for _, h in servers for r in h.seen]
    yield start
    for server, _ in servers:
        server.shutdown()
        server.server_close()


REQUEST = {"request_category": "alumbrado", "location": "Av. Corrientes 1234", "location_lat": -34.6,
           "location_lon": -58.38, "request_description": "luz apagada", "request_photo": "none"}
BOOKING = {"specialty": "pediatría", "health_centre": "H-26", "health_centre_name": "Durand",
           "appointment_date": None, "dni": "31000001", "appointment_slot": "1",
           "appointment_slot_label": "x", "appointment_confirmed": True}
EMERGENCY = {"emergency_type": "arbol_caido", "location": "Cuba 2000", "people_at_risk": False}


def _actions(base):
    return {
        "list_appointments": (ActionListAppointments(AppointmentsClient(base)), {}),
        "cancel_appointment": (ActionCancelAppointment(AppointmentsClient(base)),
                               {"appointment_code": "TUR-000001", "cancel_confirmed": True}),
        "book_appointment": (ActionBookAppointment(AppointmentsClient(base)), BOOKING),
        "check_service_request": (ActionCheckServiceRequest(ServiceRequestsClient(base)),
                                  {"ticket": "SOL-000001"}),
        "create_service_request": (ActionCreateServiceRequest(ServiceRequestsClient(base)), REQUEST),
        "look_up_infractions": (ActionLookUpInfractions(InfractionsClient(base)),
                                {"privacy_accepted": True, "infractions_subject": "AB123CD"}),
        "report_emergency": (ActionReportEmergency(IncidentsClient(base), HandoffsClient(base)), EMERGENCY),
    }


UNAVAILABLE = {"utter_service_unavailable", "utter_service_request_not_recorded", "utter_emergency_not_recorded"}


@pytest.mark.parametrize("status", [401, 403, 405, 413, 429, 500, 503])
@pytest.mark.parametrize("name", sorted(_actions("http://x")))
async def test_every_failure_gets_an_answer_and_keeps_the_data(
    answering, status, name, dispatcher, tracker_factory, domain
):
    action, slots = _actions(answering(status))[name]
    # a sender of its own: these calls must not count against anyone's rate limit
    sender = f"549119{uuid.uuid4().int % 10**7:07d}"
    events = await action.run(dispatcher, tracker_factory(slots=slots, sender_id=sender), domain)  # never raises
    answers = response_names(dispatcher)
    assert len(answers) == 1 and answers[0] in domain["responses"], answers
    if status == 429 and name != "report_emergency":
        assert answers == ["utter_service_busy"], "busy: try again in a few minutes"
    else:
        # an emergency always gets the answer with the life-safety numbers
        assert answers[0] in UNAVAILABLE | ({"utter_service_busy"} if status == 429 else set())
    # the form's data is kept (no slot of the form is reset) and a retry is offered
    reset = {e["name"] for e in events if e.get("event") == "slot" and e["value"] is None}
    assert not reset & set(slots), reset
    assert {"event": "slot", "timestamp": None, "name": RETRY_SLOT, "value": f"action_{name}"} in events


async def test_busy_answer_says_to_try_in_a_few_minutes(domain):
    text = domain["responses"]["utter_service_busy"][0]["text"]
    assert "minutos" in text


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_are_logged_loudly(answering, status, dispatcher, tracker_factory, domain, caplog):
    action = ActionCheckServiceRequest(ServiceRequestsClient(answering(status)))
    with caplog.at_level(logging.INFO):
        await action.run(dispatcher, tracker_factory(slots={"ticket": "SOL-000001"}), domain)
    assert response_names(dispatcher) == ["utter_service_unavailable"]
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR and "CREDENTIALS" in r.getMessage()]
    assert loud, [r.getMessage() for r in caplog.records]


async def test_a_failed_write_is_retried_with_the_same_key(answering, dispatcher, tracker_factory, domain):
    base = answering(503)
    action = ActionCreateServiceRequest(ServiceRequestsClient(base))
    events = await action.run(dispatcher, tracker_factory(slots=REQUEST), domain)
    kept = {e["name"]: e["value"] for e in events}
    await action.run(dispatcher, tracker_factory(text="/affirm", slots={**REQUEST, **kept}), domain)
    keys = [key for method, _, key in answering.requests() if method == "POST"]
    assert len(keys) == 2 and keys[0] == keys[1] == kept[WRITE_KEY_SLOT]
    assert keys[0].startswith("action_create_service_request:")


async def test_each_turn_has_its_own_key(answering, dispatcher, tracker_factory, domain):
    base = answering(503)
    action = ActionCreateServiceRequest(ServiceRequestsClient(base))
    await action.run(dispatcher, tracker_factory(slots=REQUEST), domain)
    await action.run(dispatcher, tracker_factory(slots=REQUEST), domain)
    keys = [key for method, _, key in answering.requests() if method == "POST"]
    assert len(set(keys)) == 2


async def test_giving_up_a_failed_step_forgets_what_it_asked(dispatcher, tracker_factory, domain):
    """«Dejarlo para después» after a fault ends the flow: the DNI it asked for and the
    failed write's key do not stay in the conversation."""
    from actions.base import ActionRetry

    slots = {**BOOKING, RETRY_SLOT: "action_book_appointment", WRITE_KEY_SLOT: "action_book_appointment:ab"}
    events = await ActionRetry().run(dispatcher, tracker_factory(intent="deny", slots=slots), domain)
    assert response_names(dispatcher) == ["utter_retry_dropped"]
    forgotten = {e["name"] for e in events if e["value"] is None}
    assert {RETRY_SLOT, WRITE_KEY_SLOT, "dni"} <= forgotten


async def test_a_booking_flow_that_ends_without_booking_forgets_the_dni(dispatcher, tracker_factory, domain):
    from actions.appointments import ActionOfferAppointmentSlots

    unconfirmed = {**BOOKING, "appointment_confirmed": None}
    events = await ActionBookAppointment(AppointmentsClient("http://127.0.0.1:9")).run(
        dispatcher, tracker_factory(slots=unconfirmed), domain)
    assert {"event": "slot", "timestamp": None, "name": "dni", "value": None} in events
    incomplete = {"dni": "31000001", "specialty": "pediatría"}
    events = await ActionOfferAppointmentSlots(AppointmentsClient("http://127.0.0.1:9")).run(
        dispatcher, tracker_factory(slots=incomplete), domain)
    assert {"event": "slot", "timestamp": None, "name": "dni", "value": None} in events
