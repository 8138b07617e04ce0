"""End to end: once a citizen is handed to a person, the bot is silent and everything they
send (text, photo, pin, voice note) reaches the operators' console; a new emergency still
gets the life-safety numbers at once. Signed webhooks -> the trained model -> the action
server -> the real console; the fake Graph API records what the citizen would read."""
import time
from typing import Any, Dict, List, Text

import pytest
from rasa.core.agent import Agent

from channels.whatsapp.connector import WhatsAppInput
from channels.whatsapp.handoff import ConsoleRelay
from tests.channels.whatsapp.helpers import ChannelHarness, load_payload
from tests.channels.whatsapp.test_e2e import _as, content, location_payload, new_sender, photo_payload, text_payload, turn
from tests.fixtures.console import CONSOLE_TOKEN, ConsoleProcess
from tests.fixtures.graph_api import FakeGraphApi

pytestmark = pytest.mark.model

OGG_VOICE_NOTE = b"OggS\x00\x02" + bytes(40) + b"OpusHead" + bytes(64)


@pytest.fixture
def relaying(make_harness, make_config, model_agent: Agent, console_service: ConsoleProcess) -> ChannelHarness:
    channel = WhatsAppInput(make_config(), handoff_relay=ConsoleRelay(console_service.url, CONSOLE_TOKEN))
    return make_harness(agent=model_agent, channel=channel)


def replies(sent: List[Dict[Text, Any]]) -> List[Text]:
    return [content(message) for message in sent]


async def handed_over(harness: ChannelHarness, fake: FakeGraphApi, console: ConsoleProcess) -> Text:
    sender = new_sender()
    shown = replies(await turn(harness, fake, text_payload(sender, "quiero hablar con una persona")))
    assert any("persona del equipo" in text for text in shown), shown
    tracker = await harness.agent.tracker_store.retrieve(sender)
    assert tracker.is_paused(), "the handoff pauses Rasa's conversation"
    assert [h["status"] for h in console.handoffs_of(sender)] == ["queued"]
    return sender


def citizen_messages(console: ConsoleProcess, sender: Text) -> List[Dict[Text, Any]]:
    (handoff,) = console.handoffs_of(sender)
    return [m for m in handoff["messages"] if m["direction"] == "citizen"]


async def test_while_paused_the_bot_is_silent_and_the_operator_gets_everything(
    relaying: ChannelHarness, fake_graph_api: FakeGraphApi, console_service: ConsoleProcess
) -> None:
    sender = await handed_over(relaying, fake_graph_api, console_service)

    assert await turn(relaying, fake_graph_api, text_payload(sender, "hola? hay alguien?")) == []
    assert await turn(relaying, fake_graph_api, photo_payload(sender, fake_graph_api, caption="así está la vereda")) == []
    assert await turn(relaying, fake_graph_api, location_payload(sender, -34.6037, -58.3816)) == []
    voice_id = f"{time.time_ns()}"
    fake_graph_api.add_media(voice_id, OGG_VOICE_NOTE, "audio/ogg; codecs=opus")
    voice = _as(load_payload("audio"), sender, audio={"id": voice_id, "mime_type": "audio/ogg; codecs=opus",
                                                      "voice": True})
    assert await turn(relaying, fake_graph_api, voice) == [], "no 'I cannot listen to audios' while a person has it"

    relayed = citizen_messages(console_service, sender)[-4:]
    assert [m["kind"] for m in relayed] == ["text", "image", "location", "audio"]
    assert relayed[0]["text"] == "hola? hay alguien?"
    assert relayed[1]["text"] == "así está la vereda" and relayed[1]["media_ref"]
    assert (relayed[2]["latitude"], relayed[2]["longitude"]) == (-34.6037, -58.3816)
    assert relayed[3]["media_ref"] and relayed[3]["mime_type"] == "audio/ogg"


async def test_a_new_emergency_while_paused_gets_the_numbers_and_raises_the_priority(
    relaying: ChannelHarness, fake_graph_api: FakeGraphApi, console_service: ConsoleProcess
) -> None:
    sender = await handed_over(relaying, fake_graph_api, console_service)
    shown = replies(await turn(relaying, fake_graph_api, text_payload(sender, "tengo una emergencia, se está incendiando la casa de al lado")))
    assert len(shown) == 1 and all(number in shown[0] for number in ("911", "100", "107", "103")), shown
    (handoff,) = console_service.handoffs_of(sender)
    assert handoff["priority"] <= 1 and handoff["reason"] == "emergency"


async def test_without_a_pause_an_audio_gets_the_usual_answer(
    relaying: ChannelHarness, fake_graph_api: FakeGraphApi, console_service: ConsoleProcess
) -> None:
    sender = new_sender()
    voice = _as(load_payload("audio"), sender)
    shown = replies(await turn(relaying, fake_graph_api, voice))
    assert len(shown) == 1, "the bot says what it can take"
    assert console_service.handoffs_of(sender) == []


async def test_an_emergency_handoff_does_not_get_the_numbers_again(
    relaying: ChannelHarness, fake_graph_api: FakeGraphApi, console_service: ConsoleProcess
) -> None:
    from rasa.shared.core.events import ConversationPaused

    from tests.fixtures.console import queue_handoff

    sender = new_sender()
    queue_handoff(console_service, sender, "se inundó todo", reason="emergency")
    tracker = await relaying.agent.tracker_store.get_or_create_tracker(sender)
    tracker.update(ConversationPaused())
    await relaying.agent.tracker_store.save(tracker)

    update = "el agua sigue subiendo, ya tenemos una emergencia en toda la cuadra"
    assert await turn(relaying, fake_graph_api, text_payload(sender, update)) == [], \
        "the citizen of an emergency handoff already has the numbers"
    assert citizen_messages(console_service, sender)[-1]["text"] == update


async def test_with_the_console_down_a_paused_emergency_still_gets_the_numbers(
    make_harness, make_config, model_agent: Agent, fake_graph_api: FakeGraphApi
) -> None:
    from rasa.shared.core.events import ConversationPaused

    down = ConsoleRelay("http://127.0.0.1:9", CONSOLE_TOKEN, attempts=2, backoff_s=0.01)
    harness = make_harness(agent=model_agent, channel=WhatsAppInput(make_config(), handoff_relay=down))
    sender = new_sender()
    tracker = await harness.agent.tracker_store.get_or_create_tracker(sender)
    tracker.update(ConversationPaused())
    await harness.agent.tracker_store.save(tracker)
    shown = replies(await turn(harness, fake_graph_api, text_payload(sender, "tengo una emergencia, se incendia la casa de al lado")))
    assert len(shown) == 1 and "911" in shown[0]
    assert (await harness.agent.tracker_store.retrieve(sender)).is_paused()
