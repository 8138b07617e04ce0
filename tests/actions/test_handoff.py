"""Handing a conversation to a person: queued in the real operators' console, then paused."""
import pytest
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet

from actions.clients.handoffs import HandoffsClient
from actions.handoff import ActionDefaultFallback, ActionHandleFallback, ActionRequestHuman
from tests.fixtures.console import CONSOLE_TOKEN


def user(text, intent, timestamp):
    return {"event": "user", "text": text, "input_channel": "whatsapp", "timestamp": timestamp,
            "message_id": f"wamid.{intent}.{timestamp}", "metadata": {},
            "parse_data": {"intent": {"name": intent, "confidence": 0.95}}}


def responses(dispatcher):
    return [message["response"] for message in dispatcher.messages]


def client(console_service) -> HandoffsClient:
    return HandoffsClient(console_service.url, CONSOLE_TOKEN)


async def test_a_request_for_a_person_is_queued_with_its_history_and_pauses_the_bot(
    console_service, dispatcher, tracker_factory, domain
):
    sender = "5491122223333"
    events = [user("tengo una multa que no es mía", "infractions_check", 1764900000.0),
              {"event": "bot", "text": "¿Me pasás la patente?", "timestamp": 1764900001.0},
              user("quiero hablar con una persona", "human_handoff", 1764900002.0)]
    tracker = tracker_factory(events=events, sender_id=sender)
    result = await ActionRequestHuman(client(console_service)).run(dispatcher, tracker, domain)
    assert result == [SlotSet("handoff_requested", True), ConversationPaused()]
    assert responses(dispatcher) == ["utter_handoff_queued"]
    (handoff,) = console_service.handoffs_of(sender)
    assert (handoff["reason"], handoff["status"], handoff["channel"], handoff["priority"]) == (
        "citizen_request", "queued", "whatsapp", 2)
    assert handoff["area"] != "defensa_civil"
    assert dispatcher.messages[0]["area"], "the citizen is told which team takes the conversation"


async def test_asking_twice_joins_the_same_place_in_the_queue(console_service, dispatcher, tracker_factory, domain):
    sender = "5491122224444"
    action = ActionRequestHuman(client(console_service))
    for text in ("hablar con alguien", "un operador por favor"):
        tracker = tracker_factory(text=text, intent="human_handoff", sender_id=sender)
        await action.run(dispatcher, tracker, domain)
    assert len(console_service.handoffs_of(sender)) == 1


async def test_with_the_console_down_the_bot_apologises_and_stays_on(dispatcher, tracker_factory, domain):
    down = HandoffsClient("http://127.0.0.1:9", "token", timeout=(0.5, 0.5))
    events = await ActionRequestHuman(down).run(dispatcher, tracker_factory(intent="human_handoff"), domain)
    assert events == []
    assert responses(dispatcher) == ["utter_handoff_unavailable"]


async def test_a_wrong_console_token_is_not_a_queued_conversation(console_service, dispatcher, tracker_factory, domain):
    wrong = HandoffsClient(console_service.url, "not-the-token")
    events = await ActionRequestHuman(wrong).run(dispatcher, tracker_factory(intent="human_handoff"), domain)
    assert events == [] and responses(dispatcher) == ["utter_handoff_unavailable"]


async def test_first_fallback_asks_to_rephrase(console_service, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(events=[user("hola", "greet", 1.0), user("asdfg", "nlu_fallback", 2.0)])
    assert await ActionHandleFallback(client(console_service)).run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_ask_rephrase"]


async def test_second_fallback_in_a_row_offers_the_menu_and_a_person(console_service, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(events=[user("qwert", "nlu_fallback", 1.0), user("asdfg", "nlu_fallback", 2.0)])
    assert await ActionHandleFallback(client(console_service)).run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_fallback_menu"]
    payloads = [b["payload"] for b in domain["responses"]["utter_fallback_menu"][0]["buttons"]]
    assert payloads == ["/help", "/human_handoff"]


async def test_third_fallback_in_a_row_hands_the_conversation_to_a_person(
    console_service, dispatcher, tracker_factory, domain
):
    sender = "5491122225555"
    events = [user(text, "nlu_fallback", float(i)) for i, text in enumerate(("qwert", "asdfg", "zxcvb"))]
    result = await ActionHandleFallback(client(console_service)).run(
        dispatcher, tracker_factory(events=events, sender_id=sender), domain)
    assert ConversationPaused() in result
    assert responses(dispatcher) == ["utter_handoff_queued"]
    (handoff,) = console_service.handoffs_of(sender)
    assert handoff["reason"] == "fallback"


async def test_long_messages_and_a_long_typed_address_never_keep_an_emergency_from_the_queue(
    console_service, tracker_factory
):
    """Found by a hostile review: the console refused the handoff for its length (400)."""
    from actions.clients.handoffs import EMERGENCY
    from actions.handoff import queue_for_an_operator

    sender = "5491122226666"
    long_text = "se inundó todo " * 70  # about a thousand characters, five times
    events = [user(long_text, "report_emergency", 1764900000.0 + i) for i in range(5)]
    collected = {"incident_number": "DC-000123", "address": "calle sin número " * 30, "people_in_danger": True,
                 "description": "x" * 6000}
    queued = await queue_for_an_operator(client(console_service), tracker_factory(events=events, sender_id=sender),
                                         EMERGENCY, "emergency-handoff:DC-000123", collected=collected,
                                         people_in_danger=True)
    assert (queued.area, queued.priority) == ("defensa_civil", 0)
    (handoff,) = console_service.handoffs_of(sender)
    assert len(handoff["collected"]["address"]) == 300 and len(handoff["summary"]) <= 4096


async def test_a_rest_conversation_can_be_handed_over_too(console_service, dispatcher, tracker_factory, domain):
    sender = "rest:" + "v" * 128  # the REST channel's longest sender id
    tracker = tracker_factory(text="quiero hablar con una persona", intent="human_handoff", sender_id=sender,
                              input_channel="rest")
    events = await ActionRequestHuman(client(console_service)).run(dispatcher, tracker, domain)
    assert ConversationPaused() in events
    assert [h["channel"] for h in console_service.handoffs_of(sender)] == ["rest"]


async def test_the_core_fallback_keeps_the_message_and_offers_the_menu_and_a_person(
    dispatcher, tracker_factory, domain
):
    tracker = tracker_factory(text="y eso?", intent="affirm")
    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)
    assert events == [FollowupAction("action_listen")], "no UserUtteranceReverted: the message stays"
    assert responses(dispatcher) == ["utter_default"]
    (variation,) = domain["responses"]["utter_default"]
    assert [b["payload"] for b in variation["buttons"]] == ["/help", "/human_handoff"]
    assert "147" in variation["text"], "the City's citizen line is offered"


def test_when_no_person_can_be_reached_the_147_is_offered(domain):
    (variation,) = domain["responses"]["utter_handoff_unavailable"]
    assert "147" in variation["text"]


@pytest.mark.model
async def test_rasa_runs_this_core_fallback_through_the_action_server_not_its_own(model_agent):
    """The domain lists action_default_fallback, so Rasa calls the action server instead of its
    built-in one (which reverts the citizen's message)."""
    from rasa.core.actions.action import RemoteAction, action_for_name_or_text
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, UserUtteranceReverted
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = model_agent.domain
    action = action_for_name_or_text("action_default_fallback", domain, model_agent.processor.action_endpoint)
    assert isinstance(action, RemoteAction), "the project's action_default_fallback overrides Rasa's"
    tracker = DialogueStateTracker.from_events(
        "core-fallback-test",
        [ActionExecuted("action_listen"), UserUttered("y eso qué es", {"name": "affirm", "confidence": 0.5})],
        domain.slots,
    )
    events = await action.run(CollectingOutputChannel(), model_agent.processor.nlg, tracker, domain)
    assert not any(isinstance(event, UserUtteranceReverted) for event in events), "the message is kept"
    (said,) = [event for event in events if isinstance(event, BotUttered)]
    assert [b["payload"] for b in said.data["buttons"]] == ["/help", "/human_handoff"]
