import uuid
from pathlib import Path

import pytest
import yaml
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.conversation import ActionGreet, ActionShowMenu, ActionStop, first_name

ROOT = Path(__file__).resolve().parents[2]


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


def group_entity(group):
    return [{"entity": "menu_group", "value": group, "start": 5, "end": 5 + len(group)}]


async def test_menu_on_request_shows_the_groups(dispatcher, tracker_factory, domain):
    events = await ActionShowMenu().run(dispatcher, tracker_factory(text="menú", intent="help"), domain)
    assert events == []
    assert responses(dispatcher) == ["utter_menu"]


async def test_a_group_of_the_menu_shows_its_services(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text='/help{"menu_group": "salud"}', intent="help", entities=group_entity("salud"))
    events = await ActionShowMenu().run(dispatcher, tracker, domain)
    assert events == []
    assert responses(dispatcher) == ["utter_menu_salud"]


async def test_an_unknown_group_shows_the_main_menu(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text='/help{"menu_group": "nada"}', intent="help", entities=group_entity("nada"))
    await ActionShowMenu().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_menu"]


async def test_menu_inside_a_form_leaves_the_form_first(dispatcher, tracker_factory):
    domain = {"forms": {"demo_form": {"required_slots": ["plate", "dni"]}}, "responses": {"utter_menu": []}}
    tracker = tracker_factory(text="menu", intent="help", active_loop="demo_form", slots={"plate": "AB123CD"})
    events = await ActionShowMenu().run(dispatcher, tracker, domain)
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("plate", None), SlotSet("dni", None)]
    assert responses(dispatcher) == ["utter_menu_form_left", "utter_menu"]


def payload_intent(payload):
    return payload[1:].split("{")[0]


def test_the_menu_reaches_every_service_of_the_topic_contract(domain):
    """utter_menu's groups open utter_menu_<group>; together they offer every service and civil
    defense topic (trainers/topics.yml, the contract's names), plus a person."""
    contract = yaml.safe_load((ROOT / "trainers" / "topics.yml").read_text(encoding="utf-8"))
    topics = set(contract["services"]) | set(contract["civil_defense"])
    responses_ = domain["responses"]
    offered = set()
    (main,) = responses_["utter_menu"]
    for button in main["buttons"]:
        payload = button["payload"]
        offered.add(payload_intent(payload))
        if payload.startswith("/help{"):
            group = yaml.safe_load(payload[len("/help"):])["menu_group"]
            assert f"utter_menu_{group}" in responses_, f"{payload} opens no menu"
            (variation,) = responses_[f"utter_menu_{group}"]
            offered |= {payload_intent(b["payload"]) for b in variation["buttons"]}
    reached = {topic for topic in topics if any(i == topic or i.startswith(f"{topic}_") for i in offered)}
    assert reached == topics, f"not in the menu: {sorted(topics - reached)}"
    assert "human_handoff" in {payload_intent(b["payload"]) for b in main["buttons"]}


@pytest.mark.model
async def test_menu_inside_a_form_leaves_it_and_shows_the_menu_end_to_end(model_agent):
    """Through the trained model and the action server: the form rejects `help`, the rule runs
    action_show_menu, the form is left and the menu shown; a group's row opens its menu."""
    from rasa.shared.core.events import BotUttered

    sender = f"menu-test-{uuid.uuid4().hex[:8]}"

    async def said(text):
        before = len((await model_agent.processor.get_tracker(sender)).events)
        await model_agent.handle_text(text, sender_id=sender)
        tracker = await model_agent.processor.get_tracker(sender)
        new = list(tracker.events)[before:]
        return tracker, [e.metadata.get("utter_action") for e in new if isinstance(e, BotUttered)]

    tracker, _ = await said("quiero sacar un turno")
    assert tracker.active_loop_name == "appointment_form"
    tracker, responses_ = await said("menú")
    assert tracker.active_loop_name is None, "the form is left"
    assert responses_ == ["utter_menu_form_left", "utter_menu"]
    _, responses_ = await said('/help{"menu_group": "seguridad"}')
    assert responses_ == ["utter_menu_seguridad"]
    _, responses_ = await said("sí")
    assert responses_ == ["utter_affirm_idle"], "a yes that answers no question"
