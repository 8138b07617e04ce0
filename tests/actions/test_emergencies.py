"""Civil Defense emergencies: at most four questions, recorded with priority and number,
then enqueued for the operators; never lost."""
from pathlib import Path

import pytest
import yaml
from rasa_sdk.events import ConversationPaused, SlotSet

from actions.base import FAILURES_SLOT, RETRY_SLOT, WRITE_KEY_SLOT
from actions.clients.geocoding import GeocodingClient
from actions.clients.handoffs import HandoffsClient
from actions.clients.incidents import IncidentsClient
from actions.emergencies import (
    ActionReportEmergency,
    ValidateEmergencyForm,
    match_emergency_type,
    photo_since_form_start,
)
from tests.fixtures.console import CONSOLE_TOKEN
from tests.actions.flow_support import closed_port_url, message_of, response_names, resets, user_event

FORM_SLOTS = ("emergency_type", "location", "location_lat", "location_lon", "people_at_risk", "emergency_description")


@pytest.fixture
def validator(city_services):
    return ValidateEmergencyForm(GeocodingClient(city_services))


@pytest.fixture
def action(city_services, console_service):
    return ActionReportEmergency(IncidentsClient(city_services), HandoffsClient(console_service.url, CONSOLE_TOKEN))


PAUSED = [SlotSet("handoff_requested", True), ConversationPaused()]


def filled(**overrides):
    slots = {
        "emergency_type": "arbol_caido",
        "location": "Av. Corrientes 1234",
        "location_lat": -34.6033671,
        "location_lon": -58.3818297,
        "people_at_risk": False,
        "emergency_description": "se cayó un árbol sobre la vereda y corta el paso",
    }
    slots.update(overrides)
    return slots


def test_form_asks_at_most_four_questions(domain):
    assert len(domain["forms"]["emergency_form"]["required_slots"]) <= 4


def test_first_reply_gives_the_emergency_numbers(domain):
    """The rule that starts the form utters the numbers before the first question."""
    rules = yaml.safe_load((Path(__file__).parents[2] / "data" / "rules" / "flows.yml").read_text())["rules"]
    start = [r for r in rules if r["rule"] == "start emergency_form on report_emergency"][0]["steps"]
    assert start[:3] == [{"intent": "report_emergency"}, {"action": "utter_emergency_numbers"}, {"action": "emergency_form"}]
    text = domain["responses"]["utter_emergency_numbers"][0]["text"]
    assert all(number in text for number in ("911", "100", "107", "103"))


@pytest.mark.parametrize(
    "typed, expected",
    [("incendio", "incendio"), ("árbol caído", "arbol_caido"), ("escape de gas", "escape_gas"),
     ("cables_caidos", "cables_caidos"), ("se me inundó la casa", "inundacion"), ("algo raro pasa", "otro")],
)
def test_match_emergency_type(typed, expected):
    assert match_emergency_type(typed) == expected


async def test_unknown_place_is_still_accepted_as_written(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_location("frente a la plaza del barrio", dispatcher, tracker_factory(), domain)
    assert result == {"location": "frente a la plaza del barrio", "location_lat": None, "location_lon": None, FAILURES_SLOT: None}


async def test_empty_place_is_asked_again(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_location("ahí", dispatcher, tracker_factory(), domain)
    assert result == {"location": None, FAILURES_SLOT: "location:1"}
    assert response_names(dispatcher) == ["utter_invalid_location"]


async def test_people_at_risk_repeats_the_numbers(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_people_at_risk(True, dispatcher, tracker_factory(intent="affirm"), domain)
    assert result == {"people_at_risk": True, FAILURES_SLOT: None}
    assert response_names(dispatcher) == ["utter_emergency_numbers"]


async def test_incident_recorded_then_enqueued_for_operators(
    action, dispatcher, tracker_factory, domain, city_services, console_service
):
    sender = "5491100007777"
    events = await action.run(dispatcher, tracker_factory(slots=filled(people_at_risk=True), sender_id=sender), domain)
    assert response_names(dispatcher) == ["utter_emergency_recorded", "utter_emergency_operator_follow_up"]
    recorded = message_of(dispatcher, "utter_emergency_recorded")
    assert recorded["number"].startswith("DC-") and recorded["priority"] == "alta"
    mine = IncidentsClient(city_services).get(recorded["number"], sender)
    assert (mine.kind, mine.owner, mine.priority) == ("arbol_caido", True, "alta")
    theirs = IncidentsClient(city_services).get(recorded["number"], "5491100000999")
    assert (theirs.owner, theirs.priority, theirs.created_at) == (False, None, None)
    # the bot pauses: an operator of Defensa Civil follows up, people in danger first
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT) + PAUSED
    (handoff,) = console_service.handoffs_of(sender)
    assert (handoff["reason"], handoff["area"], handoff["priority"]) == ("emergency", "defensa_civil", 0)
    assert handoff["collected"]["incident_number"] == recorded["number"]
    assert handoff["collected"]["people_in_danger"] is True


async def test_photo_sent_during_the_form_is_attached(action, dispatcher, tracker_factory, domain, city_services):
    media = {"id": "m1", "mime_type": "image/jpeg", "path": "var/media/m1.jpg", "status": "stored"}
    events = [
        {"event": "active_loop", "name": "emergency_form"},
        user_event("", "inform", {"whatsapp": {"media": media}}),
        user_event("hay humo", "inform"),
    ]
    await action.run(dispatcher, tracker_factory(slots=filled(), events=events), domain)
    number = message_of(dispatcher, "utter_emergency_recorded")["number"]
    assert IncidentsClient(city_services).get(number, "5491100000000").has_photo is True


async def test_failed_photo_leaves_the_incident_recorded_without_photo(action, dispatcher, tracker_factory, domain, city_services):
    media = {"id": "m2", "mime_type": "image/jpeg", "path": None, "status": "failed"}
    events = [{"event": "active_loop", "name": "emergency_form"}, user_event("", "inform", {"whatsapp": {"media": media}})]
    assert photo_since_form_start(tracker_factory(events=events)) == (True, None)
    await action.run(dispatcher, tracker_factory(slots=filled(), events=events), domain)
    assert response_names(dispatcher) == [
        "utter_emergency_recorded", "utter_recorded_without_photo", "utter_emergency_operator_follow_up",
    ]
    number = message_of(dispatcher, "utter_emergency_recorded")["number"]
    assert IncidentsClient(city_services).get(number, "5491100000000").has_photo is False


async def test_backend_down_never_loses_the_report(dispatcher, tracker_factory, domain):
    down = closed_port_url()
    action = ActionReportEmergency(IncidentsClient(down, timeout=(0.5, 1)), HandoffsClient(down, timeout=(0.5, 1)))
    events = await action.run(dispatcher, tracker_factory(slots=filled()), domain)
    assert events[0] == SlotSet(RETRY_SLOT, "action_report_emergency"), "every answer stays for the retry"
    # the retry sends the same Idempotency-Key: a report that did arrive is not made twice
    assert [e["name"] for e in events] == [RETRY_SLOT, WRITE_KEY_SLOT]
    assert events[1]["value"].startswith("action_report_emergency:")
    assert response_names(dispatcher) == ["utter_emergency_not_recorded"]
    assert "911" in domain["responses"]["utter_emergency_not_recorded"][0]["text"]


async def test_operators_queue_down_still_reports(city_services, dispatcher, tracker_factory, domain):
    action = ActionReportEmergency(IncidentsClient(city_services), HandoffsClient(closed_port_url(), timeout=(0.5, 1)))
    events = await action.run(dispatcher, tracker_factory(slots=filled()), domain)
    # recorded, and said truthfully that no operator was told: the bot stays on
    assert response_names(dispatcher) == ["utter_emergency_recorded", "utter_emergency_operator_unreachable"]
    assert "911" in domain["responses"]["utter_emergency_operator_unreachable"][0]["text"]
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)


def test_the_photo_of_the_message_that_started_the_report_is_attached(tracker_factory):
    media = {"id": "m3", "mime_type": "image/jpeg", "path": "var/media/m3.jpg", "status": "stored"}
    older = {"id": "m0", "mime_type": "image/jpeg", "path": "var/media/m0.jpg", "status": "stored"}
    events = [
        user_event("", "inform", {"whatsapp": {"media": older}}),  # another conversation's photo
        user_event("se inundó mi calle", "report_emergency", {"whatsapp": {"media": media}}),
        {"event": "action", "name": "emergency_form"},
        {"event": "active_loop", "name": "emergency_form"},
        user_event("Av. Rivadavia 1234", "inform"),
    ]
    assert photo_since_form_start(tracker_factory(events=events)) == (True, "var/media/m3.jpg")


def test_a_photo_sent_before_the_report_began_is_not_attached(tracker_factory):
    older = {"id": "m4", "mime_type": "image/jpeg", "path": "var/media/m4.jpg", "status": "stored"}
    events = [
        user_event("", "inform", {"whatsapp": {"media": older}}),
        user_event("se inundó mi calle", "report_emergency"),
        {"event": "active_loop", "name": "emergency_form"},
        user_event("Av. Rivadavia 1234", "inform"),
    ]
    assert photo_since_form_start(tracker_factory(events=events)) == (False, None)


@pytest.mark.parametrize(
    "slot, method",
    [
        ("emergency_type", "validate_emergency_type"),
        ("location", "validate_location"),
        ("emergency_description", "validate_emergency_description"),
    ],
)
async def test_a_file_sent_without_caption_is_no_answer(validator, dispatcher, tracker_factory, domain, slot, method):
    """The form's from_text mapping hands the file's "/inform" over: asked again, nothing said."""
    result = await getattr(validator, method)("/inform", dispatcher, tracker_factory(), domain)
    assert result == {slot: None} and dispatcher.messages == []
