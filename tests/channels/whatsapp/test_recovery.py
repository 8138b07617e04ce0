"""recorded_answer: the bot messages Rasa saved for one user message."""
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from channels.whatsapp.recovery import recorded_answer


def conversation():
    return [
        UserUttered("hola", message_id="wamid.A"),
        ActionExecuted("utter_greet"),
        BotUttered("¡Hola!", data={"buttons": [{"title": "VTV", "payload": "/vtv"}]}),
        ActionExecuted("action_listen"),
        UserUttered("vtv", message_id="wamid.B"),
        SlotSet("tema", "vtv"),
        BotUttered("La VTV se hace con turno previo."),
        UserUttered("gracias", message_id="wamid.C"),
    ]


def test_the_bot_messages_after_the_message_until_the_next_one_are_its_answer() -> None:
    first = recorded_answer(conversation(), "wamid.A")
    assert [m["text"] for m in first] == ["¡Hola!"]
    assert first[0]["buttons"] == [{"title": "VTV", "payload": "/vtv"}]
    assert [m["text"] for m in recorded_answer(conversation(), "wamid.B")] == ["La VTV se hace con turno previo."]


def test_a_turn_rasa_took_without_answering_is_an_empty_answer() -> None:
    assert recorded_answer(conversation(), "wamid.C") == []


def test_a_message_rasa_never_took_has_no_answer() -> None:
    assert recorded_answer(conversation(), "wamid.Z") is None
    assert recorded_answer([], "wamid.A") is None
