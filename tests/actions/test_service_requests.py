"""Service requests flow against the reference backend, including the backend stopping in
the middle of the flow (slots kept, retry offered, nothing lost)."""
import sqlite3
import time

import pytest
import requests
from rasa_sdk.events import SlotSet

from actions.base import WRITE_KEY_SLOT, FAILURES_SLOT, RETRY_SLOT
from actions.clients.errors import NotFound
from actions.clients.geocoding import GeocodingClient
from actions.clients.service_requests import ServiceRequestsClient
from actions.service_requests import (
    ActionCheckServiceRequest,
    ActionCreateServiceRequest,
    ValidateServiceRequestForm,
    ValidateServiceRequestStatusForm,
    clean_description,
    match_category,
)
from tests.actions.flow_support import (
    as_dict,
    closed_port_url,
    message_of,
    response_names,
    resets,
    user_event,
)

FORM_SLOTS = ("request_category", "location", "location_lat", "location_lon", "request_description", "request_photo")
PIN = {"latitude": -34.6037, "longitude": -58.3816, "name": "Obelisco", "address": "Av. 9 de Julio y Corrientes"}


@pytest.fixture
def validator(city_services):
    return ValidateServiceRequestForm(GeocodingClient(city_services))


@pytest.fixture
def client(city_services):
    return ServiceRequestsClient(city_services)


def filled(**overrides):
    slots = {
        "request_category": "alumbrado",
        "location": "Av. Corrientes 1234",
        "location_lat": -34.6033671,
        "location_lon": -58.3818297,
        "request_description": "la luminaria de la esquina está apagada hace una semana",
        "request_photo": "none",
    }
    slots.update(overrides)
    return slots


@pytest.mark.parametrize(
    "typed, expected",
    [("bache", "bache"), ("Alumbrado", "alumbrado"), ("ruidos molestos", "ruido"), ("otro", "otro"),
     ("un pozo en la calle", "bache"), ("un ovni", None)],
)
def test_match_category(typed, expected):
    assert match_category(typed) == expected


@pytest.mark.parametrize("typed, expected", [("  hay   un bache  ", "hay un bache"), ("no", None), ("", None)])
def test_clean_description(typed, expected):
    assert clean_description(typed) == expected


async def test_typed_address_is_geocoded(validator, dispatcher, tracker_factory, domain, city_services):
    result = await validator.validate_location("Corrientes 1234", dispatcher, tracker_factory(text="Corrientes 1234"), domain)
    place = GeocodingClient(city_services).locate("Corrientes 1234")
    assert result == {"location": place.address, "location_lat": place.lat, "location_lon": place.lon, FAILURES_SLOT: None}


async def test_corner_is_accepted(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_location("Paraguay y Libertad", dispatcher, tracker_factory(), domain)
    assert result["location"] and result["location_lat"] is not None


async def test_location_pin_from_metadata(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        intent="inform",
        metadata={"whatsapp": {"type": "location", "location": PIN}},
        slots={"request_category": "bache", "requested_slot": "location"},
        active_loop="service_request_form",
        events=[user_event("", "inform", {"whatsapp": {"location": PIN}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert as_dict(events) == {
        "location": PIN["address"], "location_lat": PIN["latitude"], "location_lon": PIN["longitude"], FAILURES_SLOT: None,
    }
    assert response_names(dispatcher) == []


async def test_barrio_alone_is_not_an_address_for_a_request(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_location("Palermo", dispatcher, tracker_factory(), domain)
    assert result == {"location": None, FAILURES_SLOT: "location:1"}
    assert response_names(dispatcher) == ["utter_invalid_location"]


async def test_geocoder_down_keeps_the_typed_address(dispatcher, tracker_factory, domain):
    validator = ValidateServiceRequestForm(GeocodingClient(closed_port_url(), timeout=(0.5, 1)))
    result = await validator.validate_location("Corrientes 1234", dispatcher, tracker_factory(), domain)
    assert result == {"location": "Corrientes 1234", "location_lat": None, "location_lon": None, FAILURES_SLOT: None}


async def test_photo_reference_from_metadata(validator, dispatcher, tracker_factory, domain):
    media = {"id": "wamid-media-1", "mime_type": "image/jpeg", "path": "var/media/abc.jpg", "status": "stored"}
    tracker = tracker_factory(
        metadata={"whatsapp": {"type": "image", "media": media}},
        slots=dict(filled(request_photo=None), requested_slot="request_photo"),
        active_loop="service_request_form",
        events=[user_event("", "inform", {"whatsapp": {"media": media}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert as_dict(events) == {"request_photo": "var/media/abc.jpg", FAILURES_SLOT: None}


async def test_failed_photo_download_is_marked(validator, dispatcher, tracker_factory, domain):
    media = {"id": "wamid-media-2", "mime_type": "image/jpeg", "path": None, "status": "failed"}
    tracker = tracker_factory(
        metadata={"whatsapp": {"type": "image", "media": media}},
        slots=dict(filled(request_photo=None), requested_slot="request_photo"),
        active_loop="service_request_form",
        events=[user_event("", "inform", {"whatsapp": {"media": media}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert as_dict(events) == {"request_photo": "failed", FAILURES_SLOT: None}
    assert response_names(dispatcher) == ["utter_photo_failed"]


async def test_request_recorded_and_status_checked(client, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots=filled())
    events = await ActionCreateServiceRequest(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_service_request_created"]
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)
    stored = client.get(ticket, tracker.sender_id)
    assert (stored.category, stored.address, stored.has_photo) == ("alumbrado", "Av. Corrientes 1234", False)

    dispatcher.messages.clear()
    number = str(int(ticket.split("-")[1]))
    validated = await ValidateServiceRequestStatusForm().validate_ticket(f"sol {number}", dispatcher, tracker_factory(), domain)
    assert validated == {"ticket": ticket, FAILURES_SLOT: None}
    events = await ActionCheckServiceRequest(client).run(dispatcher, tracker_factory(slots={"ticket": ticket}), domain)
    assert response_names(dispatcher) == ["utter_service_request_status"]
    assert message_of(dispatcher, "utter_service_request_status")["ticket"] == ticket
    assert message_of(dispatcher, "utter_service_request_status")["address"] == "Av. Corrientes 1234"
    assert events == resets("ticket", RETRY_SLOT)


async def test_someone_elses_ticket_shows_only_its_status(client, dispatcher, tracker_factory, domain):
    """Tickets are sequential: anyone may type the next number. The author sees the
    details; anyone else only the status and category, never the address."""
    await ActionCreateServiceRequest(client).run(
        dispatcher, tracker_factory(slots=filled(), sender_id="5491100000301"), domain)
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    dispatcher.messages.clear()
    events = await ActionCheckServiceRequest(client).run(
        dispatcher, tracker_factory(slots={"ticket": ticket}, sender_id="5491100000302"), domain)
    assert response_names(dispatcher) == ["utter_service_request_status_only"]
    shown = message_of(dispatcher, "utter_service_request_status_only")
    assert shown["ticket"] == ticket and "address" not in shown
    assert "Corrientes" not in str(shown)
    assert events == resets("ticket", RETRY_SLOT)


async def test_request_with_failed_photo_is_recorded_without_photo(client, dispatcher, tracker_factory, domain):
    events = await ActionCreateServiceRequest(client).run(dispatcher, tracker_factory(slots=filled(request_photo="failed")), domain)
    assert response_names(dispatcher) == ["utter_service_request_created", "utter_recorded_without_photo"]
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert client.get(ticket, "5491100000000").has_photo is False
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)


async def test_request_with_photo(client, dispatcher, tracker_factory, domain):
    await ActionCreateServiceRequest(client).run(dispatcher, tracker_factory(slots=filled(request_photo="var/media/x.jpg")), domain)
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert client.get(ticket, "5491100000000").has_photo is True


async def test_wrong_ticket_prefix_is_rejected(dispatcher, tracker_factory, domain):
    result = await ValidateServiceRequestStatusForm().validate_ticket("DC-000001", dispatcher, tracker_factory(), domain)
    assert result == {"ticket": None, FAILURES_SLOT: "ticket:1"}
    assert response_names(dispatcher) == ["utter_invalid_ticket"]


async def test_unknown_ticket(client, dispatcher, tracker_factory, domain):
    await ActionCheckServiceRequest(client).run(dispatcher, tracker_factory(slots={"ticket": "SOL-999999"}), domain)
    assert response_names(dispatcher) == ["utter_service_request_not_found"]


async def test_backend_stops_in_the_middle_of_the_flow(start_city_services, dispatcher, tracker_factory, domain):
    """Validation works against a live backend; the backend then stops before the submit:
    the request is not lost (every slot kept), the retry is offered, and retrying against
    the backend once it is back records it."""
    backend = start_city_services()
    validator = ValidateServiceRequestForm(GeocodingClient(backend.base_url))
    located = await validator.validate_location("Rivadavia 5000", dispatcher, tracker_factory(), domain)
    assert located["location_lat"] is not None
    slots = filled(location=located["location"], location_lat=located["location_lat"], location_lon=located["location_lon"])

    backend.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{backend.base_url}/health", timeout=1)
    action = ActionCreateServiceRequest(ServiceRequestsClient(backend.base_url, timeout=(0.5, 1)))
    events = await action.run(dispatcher, tracker_factory(slots=slots), domain)
    assert events[0] == SlotSet(RETRY_SLOT, "action_create_service_request"), "no slot is reset"
    assert [e["name"] for e in events] == [RETRY_SLOT, WRITE_KEY_SLOT]
    assert response_names(dispatcher) == ["utter_service_request_not_recorded"]
    payloads = [b["payload"] for b in domain["responses"]["utter_service_request_not_recorded"][0]["buttons"]]
    assert payloads[0] == "/affirm"

    # the retry re-runs the same action with the same slots, against the backend once back
    dispatcher.messages.clear()
    back = start_city_services()
    retried = ActionCreateServiceRequest(ServiceRequestsClient(back.base_url))
    events = await retried.run(dispatcher, tracker_factory(slots={**slots, RETRY_SLOT: "action_create_service_request"}), domain)
    assert response_names(dispatcher) == ["utter_service_request_created"]
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert ServiceRequestsClient(back.base_url).get(ticket, "5491100000000").address == located["location"]
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)


async def test_slow_backend_is_a_fault_too(start_city_services, dispatcher, tracker_factory, domain):
    """A backend that accepts the connection but does not answer (frozen) times out: the
    citizen gets the apology and the retry, never a stack trace; nothing is lost."""
    backend = start_city_services()
    backend.freeze()
    try:
        action = ActionCreateServiceRequest(ServiceRequestsClient(backend.base_url, timeout=(0.5, 0.5)))
        events = await action.run(dispatcher, tracker_factory(slots=filled()), domain)
    finally:
        backend.thaw()
    assert events[0] == SlotSet(RETRY_SLOT, "action_create_service_request")
    assert [e["name"] for e in events] == [RETRY_SLOT, WRITE_KEY_SLOT]
    assert response_names(dispatcher) == ["utter_service_request_not_recorded"]


def _eventually(probe, seconds=10.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return probe()
        except NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def test_retry_after_a_timeout_never_files_a_second_ticket(start_city_services, dispatcher, tracker_factory, domain):
    """The backend is slow (its database is locked by someone else): our POST times out,
    and the backend records the request once the lock is gone. The retry button sends the
    same Idempotency-Key (kept in a slot) and gets that very ticket back: no second one."""
    backend = start_city_services()
    citizen = "5491100000303"
    lock = sqlite3.connect(backend.database_url[len("sqlite:///"):], isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    try:
        slow = ActionCreateServiceRequest(ServiceRequestsClient(backend.base_url, timeout=(0.5, 0.5)))
        events = await slow.run(dispatcher, tracker_factory(slots=filled(), sender_id=citizen), domain)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    kept = {e["name"]: e["value"] for e in events}
    assert response_names(dispatcher) == ["utter_service_request_not_recorded"]

    client = ServiceRequestsClient(backend.base_url)
    first = _eventually(lambda: client.get("SOL-000001", citizen))
    assert first.owner, "the backend recorded the request whose answer we missed"

    dispatcher.messages.clear()
    retry = tracker_factory(text="/affirm", slots={**filled(), **kept}, sender_id=citizen)
    await ActionCreateServiceRequest(client).run(dispatcher, retry, domain)
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert ticket == "SOL-000001", "the first, timed-out request was recorded and is answered again"
    with pytest.raises(NotFound):
        client.get("SOL-000002", citizen)

async def test_a_photo_sent_with_the_message_that_starts_the_request_is_kept(validator, dispatcher, tracker_factory, domain):
    # the validation Rasa runs as the form activates: nothing requested yet
    media = {"id": "wamid-media-3", "mime_type": "image/jpeg", "path": "var/media/first.jpg", "status": "stored"}
    tracker = tracker_factory(
        text="quiero reclamar por este bache",
        intent="service_requests",
        metadata={"whatsapp": {"type": "image", "media": media}},
        events=[user_event("quiero reclamar por este bache", "service_requests", {"whatsapp": {"media": media}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert as_dict(events).get("request_photo") == "var/media/first.jpg"


async def test_a_later_message_without_a_photo_keeps_the_one_sent(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        text="en la esquina de casa",
        slots=dict(filled(request_photo="var/media/first.jpg", request_description=None), requested_slot="request_description"),
        active_loop="service_request_form",
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert "request_photo" not in as_dict(events)


async def test_a_photo_after_a_failed_download_replaces_it(validator, dispatcher, tracker_factory, domain):
    media = {"id": "wamid-media-4", "mime_type": "image/jpeg", "path": "var/media/second.jpg", "status": "stored"}
    tracker = tracker_factory(
        metadata={"whatsapp": {"type": "image", "media": media}},
        slots=dict(filled(request_photo="failed", request_description=None), requested_slot="request_description"),
        active_loop="service_request_form",
        events=[user_event("", "inform", {"whatsapp": {"media": media}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert as_dict(events).get("request_photo") == "var/media/second.jpg"


async def test_an_address_not_located_twice_is_accepted_as_written(validator, dispatcher, tracker_factory, domain):
    # a complaint never dead-ends on an address: the first miss asks again...
    first = await validator.validate_location("Calle Inventada 123", dispatcher, tracker_factory(), domain)
    assert first == {"location": None, FAILURES_SLOT: "location:1"}
    # ...the second is kept as written, without coordinates, for a person to locate
    tracker = tracker_factory(slots={FAILURES_SLOT: "location:1", "requested_slot": "location"})
    second = await validator.validate_location("Calle Inventada 123", dispatcher, tracker, domain)
    assert second == {"location": "Calle Inventada 123", "location_lat": None, "location_lon": None, FAILURES_SLOT: None}
    assert response_names(dispatcher) == ["utter_invalid_location", "utter_location_accepted_as_written"]


async def test_an_unlocated_address_is_recorded_as_written(client, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots=filled(location="Calle Inventada 123", location_lat=None, location_lon=None))
    await ActionCreateServiceRequest(client).run(dispatcher, tracker, domain)
    ticket = message_of(dispatcher, "utter_service_request_created")["ticket"]
    assert client.get(ticket, tracker.sender_id).address == "Calle Inventada 123"
