import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.conversation import ActionGreet, ActionStop, first_name


def responses(dispatcher):
    return [message["response"] for message in dispatcher.messages]


@pytest.mark.parametrize(
    "profile_name, expected",
    [
        ("carolina", "Carolina"),
        ("Juan Pérez", "Juan"),
        ("María José 🌻", "María"),
        ("+54 9 11 5555-5555", None),
        (".", None),
        ("🌻", None),
        ("", None),
        (None, None),
    ],
)
def test_first_name_only_greets_real_names(profile_name, expected):
    assert first_name({"whatsapp": {"profile_name": profile_name}}) == expected


def test_first_name_without_whatsapp_metadata():
    assert first_name({}) is None
    assert first_name(None) is None


async def test_greet_by_profile_name_then_menu(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text="hola", intent="greet", metadata={"whatsapp": {"profile_name": "Lucía"}})
    events = await ActionGreet().run(dispatcher, tracker, domain)
    assert events == []
    assert responses(dispatcher) == ["utter_greet_named", "utter_menu"]
    assert dispatcher.messages[0]["first_name"] == "Lucía"


async def test_greet_without_name(dispatcher, tracker_factory, domain):
    await ActionGreet().run(dispatcher, tracker_factory(text="hola", intent="greet"), domain)
    assert responses(dispatcher) == ["utter_greet", "utter_menu"]


async def test_stop_without_a_procedure(dispatcher, tracker_factory, domain):
    events = await ActionStop().run(dispatcher, tracker_factory(text="cancelar", intent="stop"), domain)
    assert events == []
    assert responses(dispatcher) == ["utter_nothing_to_stop"]


async def test_stop_leaves_the_form_and_forgets_its_slots(dispatcher, tracker_factory):
    domain = {"forms": {"demo_form": {"required_slots": ["plate", "dni"]}}}
    tracker = tracker_factory(text="salir", intent="stop", active_loop="demo_form", slots={"plate": "AB123CD"})
    events = await ActionStop().run(dispatcher, tracker, domain)
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("plate", None), SlotSet("dni", None)]
    assert responses(dispatcher) == ["utter_stop"]
