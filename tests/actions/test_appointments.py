"""Appointments flow (book, list, cancel) against the reference backend."""
import datetime as dt

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions import parsing
from actions.appointments import (
    ActionAskAppointmentSlot,
    ActionBookAppointment,
    ActionCancelAppointment,
    ActionListAppointments,
    ActionOfferAppointmentSlots,
    ValidateAppointmentCancelForm,
    ValidateAppointmentForm,
    ValidateAppointmentSlotForm,
    choose_offer,
    match_specialty,
    offers_from,
)
from actions.base import FAILURES_SLOT, RETRY_SLOT, WRITE_KEY_SLOT
from actions.clients.appointments import AppointmentsClient
from tests.actions.flow_support import (
    closed_port_url,
    message_of,
    response_names,
    resets,
    slot_events,
    user_event,
)

BOOKING = (
    "specialty", "health_centre", "health_centre_name", "appointment_date", "appointment_offers",
    "appointment_slot", "appointment_slot_label", "appointment_confirmed",
)
TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture
def client(city_services):
    return AppointmentsClient(city_services)


@pytest.fixture
def validator(client):
    return ValidateAppointmentForm(client, today=lambda: TODAY)


def booking_slots(centre="H-26", specialty="pediatría", when=None, dni="31000001", **extra):
    preference = when or parsing.DatePreference(TOMORROW, TOMORROW + dt.timedelta(days=6))
    return {
        "specialty": specialty,
        "health_centre": centre,
        "health_centre_name": "Hospital General de Agudos Dr. C. Durand",
        "appointment_date": preference.to_slot(),
        "dni": dni,
        **extra,
    }


# --- pure helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, expected",
    [("pediatria", "pediatría"), ("Pediatría", "pediatría"), ("clínica", "clínica médica"),
     ("odontologia", "odontología"), ("astrología", None), ("", None)],
)
def test_match_specialty(typed, expected):
    known = ["clínica médica", "odontología", "pediatría"]
    assert match_specialty(typed, known) == expected


def test_choose_offer():
    offers = [
        {"id": "7", "starts_at": "2026-12-01T08:00:00-03:00", "label": "01/12/2026 08:00"},
        {"id": "8", "starts_at": "2026-12-01T10:30:00-03:00", "label": "01/12/2026 10:30"},
    ]
    assert choose_offer("2", offers)["id"] == "8"
    assert choose_offer("1)", offers)["id"] == "7"
    assert choose_offer("el de las 10:30", offers)["id"] == "8"
    assert choose_offer("3", offers) is None
    assert choose_offer("0", offers) is None
    assert choose_offer("cualquiera", offers) is None


# --- appointment_form validation ------------------------------------------------------


async def test_specialty_is_the_backend_spelling(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_specialty("pediatria", dispatcher, tracker_factory(), domain)
    assert result == {"specialty": "pediatría", FAILURES_SLOT: None}


async def test_unknown_specialty_lists_known_ones(validator, dispatcher, tracker_factory, domain, client):
    result = await validator.validate_specialty("astrología", dispatcher, tracker_factory(), domain)
    assert result == {"specialty": None, FAILURES_SLOT: "specialty:1"}
    assert response_names(dispatcher) == ["utter_invalid_specialty"]
    assert "pediatría" in message_of(dispatcher, "utter_invalid_specialty")["specialties"]


async def test_centre_by_name(validator, dispatcher, tracker_factory, domain, client):
    tracker = tracker_factory(slots={"specialty": "pediatría"})
    result = await validator.validate_health_centre("el Durand", dispatcher, tracker, domain)
    expected = client.find_centres(name="el Durand", specialty="pediatría", limit=1)[0]
    assert result == {"health_centre": expected.id, "health_centre_name": expected.name, FAILURES_SLOT: None}
    assert response_names(dispatcher) == ["utter_health_centre_chosen"]


async def test_centre_by_barrio(validator, dispatcher, tracker_factory, domain, client):
    tracker = tracker_factory(slots={"specialty": "pediatría"})
    result = await validator.validate_health_centre("Palermo", dispatcher, tracker, domain)
    centre = client.find_centres(barrio="Palermo", specialty="pediatría", limit=1)[0]
    assert result["health_centre"] == centre.id and centre.barrio == "Palermo"


async def test_nearest_centre_to_a_whatsapp_pin(validator, dispatcher, tracker_factory, domain, client):
    pin = {"latitude": -34.6083, "longitude": -58.3712, "name": "Plaza de Mayo", "address": None}
    tracker = tracker_factory(
        text="",
        intent="inform",
        metadata={"whatsapp": {"type": "location", "location": pin}},
        slots={"specialty": "pediatría", "requested_slot": "health_centre"},
        active_loop="appointment_form",
    )
    events = await validator.run(dispatcher, tracker, domain)
    nearest = client.find_centres(near=(-34.6083, -58.3712), specialty="pediatría", limit=1)[0]
    assert SlotSet("health_centre", nearest.id) in events
    assert SlotSet("health_centre_name", nearest.name) in events


async def test_unknown_centre_is_rejected(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots={"specialty": "pediatría"})
    result = await validator.validate_health_centre("Hospital de Springfield", dispatcher, tracker, domain)
    assert result == {"health_centre": None, FAILURES_SLOT: "health_centre:1"}
    assert response_names(dispatcher) == ["utter_invalid_health_centre"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("mañana a la tarde", parsing.DatePreference(TOMORROW, TOMORROW, "afternoon")),
        ("hoy", parsing.DatePreference(TODAY, TODAY)),
    ],
)
async def test_date_preference_uses_the_injected_today(validator, dispatcher, tracker_factory, domain, typed, expected):
    result = await validator.validate_appointment_date(typed, dispatcher, tracker_factory(), domain)
    assert result == {"appointment_date": expected.to_slot(), FAILURES_SLOT: None}


async def test_invalid_date_then_third_failure(validator, dispatcher, tracker_factory, domain):
    first = await validator.validate_appointment_date("32/13", dispatcher, tracker_factory(), domain)
    assert first == {"appointment_date": None, FAILURES_SLOT: "appointment_date:1"}
    third = await validator.validate_appointment_date(
        "el día del arquero", dispatcher, tracker_factory(slots={FAILURES_SLOT: "appointment_date:2"}), domain
    )
    assert third == {"appointment_date": None, FAILURES_SLOT: None, "requested_slot": None}
    assert response_names(dispatcher) == [
        "utter_invalid_appointment_date", "utter_invalid_appointment_date", "utter_too_many_failures",
    ]


async def test_dni_from_the_whole_form_run(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        text="30.123.456",
        slots={"requested_slot": "dni"},
        active_loop="appointment_form",
        events=[user_event("30.123.456", "inform"), *slot_events(dni="30.123.456")],
    )
    assert await validator.run(dispatcher, tracker, domain) == [SlotSet("dni", "30123456"), SlotSet(FAILURES_SLOT, None)]


# --- offers, booking, conflicts -----------------------------------------------------


async def test_offers_are_the_real_free_slots(client, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots=booking_slots())
    events = await ActionOfferAppointmentSlots(client).run(dispatcher, tracker, domain)
    free = client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=5)
    assert free, "the reference calendar has free pediatrics slots next week"
    assert events == [
        SlotSet("appointment_offers", offers_from(free)), SlotSet(RETRY_SLOT, None), FollowupAction("appointment_slot_form"),
    ]
    assert response_names(dispatcher) == []

    ask = tracker_factory(slots={**booking_slots(), "appointment_offers": offers_from(free)})
    await ActionAskAppointmentSlot().run(dispatcher, ask, domain)
    assert response_names(dispatcher) == ["utter_ask_appointment_slot"]
    buttons = message_of(dispatcher, "utter_ask_appointment_slot")["buttons"]
    assert [b["payload"] for b in buttons] == [str(i) for i in range(1, len(free) + 1)]


async def test_no_free_slots_asks_for_another_day(client, dispatcher, tracker_factory, domain):
    far = TODAY + dt.timedelta(days=120)
    tracker = tracker_factory(slots=booking_slots(when=parsing.DatePreference(far, far)))
    events = await ActionOfferAppointmentSlots(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_no_free_slots"]
    assert events == [
        *resets("appointment_date", "appointment_offers", "appointment_slot", "appointment_slot_label",
                "appointment_confirmed"),
        FollowupAction("appointment_form"),
    ]


async def test_choose_confirm_book_list_and_cancel(client, dispatcher, tracker_factory, domain):
    dni = "31000002"
    citizen, stranger = "5491100000102", "5491100000199"
    free = client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=5)
    offers = offers_from(free)
    slot_validator = ValidateAppointmentSlotForm()
    chosen = await slot_validator.validate_appointment_slot(
        "2", dispatcher, tracker_factory(slots={"appointment_offers": offers}), domain
    )
    assert chosen == {"appointment_slot": offers[1]["id"], "appointment_slot_label": offers[1]["label"], FAILURES_SLOT: None}

    tracker = tracker_factory(
        slots={**booking_slots(dni=dni), "appointment_offers": offers, **chosen, "appointment_confirmed": True},
        sender_id=citizen,
    )
    events = await ActionBookAppointment(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_appointment_booked"]
    code = message_of(dispatcher, "utter_appointment_booked")["code"]
    assert code.startswith("TUR-")
    # the DNI was asked for this booking only: cleared with the flow
    assert events == resets(*BOOKING, "dni", RETRY_SLOT, WRITE_KEY_SLOT)
    assert offers[1]["id"] not in [s.id for s in client.free_slots(
        "H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=50)]

    dispatcher.messages.clear()
    await ActionListAppointments(client).run(dispatcher, tracker_factory(sender_id=citizen), domain)
    assert response_names(dispatcher) == ["utter_appointment_item", "utter_appointments_how_to_cancel"]
    assert message_of(dispatcher, "utter_appointment_item")["code"] == code

    # someone else who knows the DNI (even with it in a slot) sees nothing and cancels nothing
    dispatcher.messages.clear()
    await ActionListAppointments(client).run(
        dispatcher, tracker_factory(slots={"dni": dni}, sender_id=stranger), domain)
    assert response_names(dispatcher) == ["utter_no_appointments"]
    dispatcher.messages.clear()
    intruder = tracker_factory(
        slots={"dni": dni, "appointment_code": code, "cancel_confirmed": True}, sender_id=stranger)
    await ActionCancelAppointment(client).run(dispatcher, intruder, domain)
    assert response_names(dispatcher) == ["utter_appointment_not_found"]
    assert [a.status for a in client.list(citizen) if a.code == code] == ["booked"]

    dispatcher.messages.clear()
    cancel_validator = ValidateAppointmentCancelForm()
    typed = code.split("-")[1].lstrip("0")
    assert await cancel_validator.validate_appointment_code(typed, dispatcher, tracker_factory(), domain) == {
        "appointment_code": code, FAILURES_SLOT: None}
    cancel = tracker_factory(slots={"appointment_code": code, "cancel_confirmed": True}, sender_id=citizen)
    events = await ActionCancelAppointment(client).run(dispatcher, cancel, domain)
    assert response_names(dispatcher) == ["utter_appointment_cancelled"]
    assert events == resets("appointment_code", "cancel_confirmed", RETRY_SLOT)
    assert [a.status for a in client.list(citizen) if a.code == code] == ["cancelled"]

    # cancelling it again (409 already_cancelled) is a clear answer, not an exception
    dispatcher.messages.clear()
    events = await ActionCancelAppointment(client).run(dispatcher, cancel, domain)
    assert response_names(dispatcher) == ["utter_appointment_already_cancelled"]
    assert events == resets("appointment_code", "cancel_confirmed", RETRY_SLOT)


async def test_deny_confirmation_chooses_again(dispatcher, tracker_factory, domain):
    result = await ValidateAppointmentSlotForm().validate_appointment_confirmed(False, dispatcher, tracker_factory(), domain)
    assert result == {"appointment_confirmed": None, "appointment_slot": None, "appointment_slot_label": None}


async def test_slot_taken_meanwhile_brings_fresh_options(client, dispatcher, tracker_factory, domain):
    free = client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=5)
    offers = offers_from(free)
    client.book(offers[0]["id"], "31000003", "someone-else")  # taken between offer and confirmation
    tracker = tracker_factory(slots={
        **booking_slots(dni="31000004"), "appointment_offers": offers,
        "appointment_slot": offers[0]["id"], "appointment_slot_label": offers[0]["label"],
        "appointment_confirmed": True,
    })
    events = await ActionBookAppointment(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_appointment_slot_taken"]
    fresh = offers_from(client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=5))
    assert offers[0]["id"] not in [o["id"] for o in fresh]
    assert events == [
        SlotSet("appointment_offers", fresh),
        *resets("appointment_slot", "appointment_slot_label", "appointment_confirmed", RETRY_SLOT),
        FollowupAction("appointment_slot_form"),
    ]


async def test_cancel_kept_when_citizen_says_no(client, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots={"appointment_code": "TUR-000001", "cancel_confirmed": False})
    events = await ActionCancelAppointment(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_appointment_kept"]
    assert events == resets("appointment_code", "cancel_confirmed", RETRY_SLOT)


async def test_cancel_of_an_unknown_code_is_not_found(client, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots={"appointment_code": "TUR-999999", "cancel_confirmed": True})
    await ActionCancelAppointment(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_appointment_not_found"]


async def test_no_appointments(client, dispatcher, tracker_factory, domain):
    await ActionListAppointments(client).run(dispatcher, tracker_factory(sender_id="5491100000107"), domain)
    assert response_names(dispatcher) == ["utter_no_appointments"]


async def test_a_typed_dni_never_lists_anyones_appointments(client, dispatcher, tracker_factory, domain):
    free = client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=1)
    client.book(free[0].id, "31000008", "5491100000108")
    tracker = tracker_factory(text="30.000.008", slots={"dni": "31000008"}, sender_id="5491100000109")
    await ActionListAppointments(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_no_appointments"]


async def test_backend_down_while_booking_keeps_the_choice(dispatcher, tracker_factory, domain):
    client = AppointmentsClient(closed_port_url(), timeout=(0.5, 1))
    slots = {**booking_slots(), "appointment_slot": "1", "appointment_slot_label": "x", "appointment_confirmed": True}
    events = await ActionBookAppointment(client).run(dispatcher, tracker_factory(slots=slots), domain)
    assert events[0] == SlotSet(RETRY_SLOT, "action_book_appointment")
    # the retry sends the same Idempotency-Key
    assert events[1]["name"] == WRITE_KEY_SLOT and events[1]["value"].startswith("action_book_appointment:")
    assert len(events) == 2
    assert response_names(dispatcher) == ["utter_service_unavailable"]


async def test_backend_down_while_offering_waits_for_the_citizen(dispatcher, tracker_factory, domain):
    client = AppointmentsClient(closed_port_url(), timeout=(0.5, 1))
    events = await ActionOfferAppointmentSlots(client).run(dispatcher, tracker_factory(slots=booking_slots()), domain)
    assert events == [SlotSet(RETRY_SLOT, "action_offer_appointment_slots"), FollowupAction("action_listen")]


async def test_backend_down_during_validation_asks_again_without_counting(dispatcher, tracker_factory, domain):
    validator = ValidateAppointmentForm(AppointmentsClient(closed_port_url(), timeout=(0.5, 1)))
    result = await validator.validate_specialty("pediatría", dispatcher, tracker_factory(), domain)
    assert result == {"specialty": None}
    assert response_names(dispatcher) == ["utter_service_unavailable_ask_again"]


async def test_retry_after_a_timeout_never_books_twice(start_city_services, dispatcher, tracker_factory, domain):
    """The backend is slow (its database locked by someone else): the booking times out on
    our side and is made once the lock is gone. The retry button sends the same
    Idempotency-Key (kept in a slot) and gets that very booking back: one booking only."""
    import sqlite3
    import time

    backend = start_city_services()
    client = AppointmentsClient(backend.base_url)
    citizen = "5491100000140"
    free = client.free_slots("H-26", "pediatría", TOMORROW, TOMORROW + dt.timedelta(days=6), limit=1)
    slots = {**booking_slots(dni="31000140"), "appointment_slot": free[0].id,
             "appointment_slot_label": "x", "appointment_confirmed": True}
    lock = sqlite3.connect(backend.database_url[len("sqlite:///"):], isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    try:
        slow = ActionBookAppointment(AppointmentsClient(backend.base_url, timeout=(0.5, 0.5)))
        events = await slow.run(dispatcher, tracker_factory(slots=slots, sender_id=citizen), domain)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert response_names(dispatcher) == ["utter_service_unavailable"]
    kept = {e["name"]: e["value"] for e in events}
    deadline = time.monotonic() + 10
    while not client.list(citizen) and time.monotonic() < deadline:
        time.sleep(0.1)
    first = client.list(citizen)
    assert len(first) == 1, "the backend made the booking whose answer we missed"

    dispatcher.messages.clear()
    retry = tracker_factory(text="/affirm", slots={**slots, **kept}, sender_id=citizen)
    await ActionBookAppointment(client).run(dispatcher, retry, domain)
    assert response_names(dispatcher) == ["utter_appointment_booked"]
    assert message_of(dispatcher, "utter_appointment_booked")["code"] == first[0].code
    assert [a.code for a in client.list(citizen)] == [first[0].code]
