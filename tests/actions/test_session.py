"""A new session keeps nothing personal; abandoning a flow forgets its DNI, plate and address."""
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet

from actions.conversation import ActionStop
from actions.session import CARRIED_OVER, PERSONAL_SLOTS, ActionSessionStart

PREVIOUS_SESSION = {
    "dni": "30123456",
    "infractions_subject": "AB123CD",
    "infractions_last_subject": "AB123CD",
    "privacy_accepted": True,
    "specialty": "cardiología",
    "location": "Av. Corrientes 1234",
    "location_lat": -34.6,
    "location_lon": -58.38,
    "ticket": "SOL-000123",
    "retry_action": "action_book_appointment",
    "write_key": "action_book_appointment:abc",
    "handoff_requested": True,
    "material": "vidrio",
}


async def test_a_new_session_carries_over_only_harmless_slots(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots=PREVIOUS_SESSION)
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert events == [
        SessionStarted(),
        SlotSet("handoff_requested", True),
        SlotSet("material", "vidrio"),
        ActionExecuted("action_listen"),
    ]
    assert dispatcher.messages == []


async def test_the_session_start_metadata_survives(dispatcher, tracker_factory, domain):
    metadata = {"whatsapp": {"wa_id": "5491100000000", "profile_name": "Ana"}}
    tracker = tracker_factory(slots={"session_started_metadata": metadata, "dni": "30123456"})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert SlotSet("session_started_metadata", metadata) in events
    assert not any(e.get("name") == "dni" for e in events)


def test_the_domain_uses_the_custom_session_start(domain):
    assert "action_session_start" in domain["actions"]
    # Rasa's own carry-over would bring the DNI back if the custom action were removed
    assert domain["session_config"]["carry_over_slots_to_new_session"] is False


def test_personal_slots_are_real_slots_and_never_carried(domain):
    assert PERSONAL_SLOTS <= set(domain["slots"])
    assert not PERSONAL_SLOTS & CARRIED_OVER
    assert {"specialty", "ticket", "appointment_code"}.isdisjoint(CARRIED_OVER)


async def test_stop_between_flows_forgets_the_plate_kept_for_the_certificate(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text="cancelar", intent="stop", slots={
        "infractions_last_subject": "AB123CD", "privacy_accepted": True, "material": "vidrio"})
    events = await ActionStop().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_nothing_to_stop"]
    assert events == [SlotSet("infractions_last_subject", None), SlotSet("privacy_accepted", None)]


async def test_stop_inside_a_form_forgets_the_dni_once(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text="cancelar", intent="stop", active_loop="appointment_form", slots={
        "specialty": "pediatría", "dni": "30123456", "location": "Cuba 2000"})
    events = await ActionStop().run(dispatcher, tracker, domain)
    names = [e["name"] for e in events if e["event"] == "slot"]
    assert names.count("dni") == 1 and "location" in names and "specialty" in names
    assert all(e["value"] is None for e in events if e["event"] == "slot")


async def test_a_conversation_an_operator_has_stays_paused_in_the_new_session(dispatcher, tracker_factory, domain):
    # SessionStarted unpauses Rasa's tracker: without this the bot would answer beside the
    # operator after an hour of silence
    events = await ActionSessionStart().run(dispatcher, tracker_factory(paused=True), domain)
    assert events == [SessionStarted(), ConversationPaused(), ActionExecuted("action_listen")]


async def test_a_conversation_nobody_holds_is_not_paused_by_a_new_session(dispatcher, tracker_factory, domain):
    events = await ActionSessionStart().run(dispatcher, tracker_factory(paused=False), domain)
    assert ConversationPaused() not in events
