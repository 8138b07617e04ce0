"""End to end: signed webhook -> Rasa (the project's trained model) -> action server
(in-process, against the reference backend) -> the fake Graph API."""
import itertools
import json
import logging
import re
import time
from typing import Any, Callable, Dict, List, Optional, Text

import pytest
from rasa.core.agent import Agent
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

from tests.channels.whatsapp.helpers import ChannelHarness, load_payload, with_message
from tests.fixtures.graph_api import FakeGraphApi

pytestmark = pytest.mark.model

_ids = itertools.count(1)
_clock = itertools.count(1763900000)


@pytest.fixture
def e2e(make_harness, model_agent: Agent) -> ChannelHarness:
    return make_harness(agent=model_agent)  # closed by make_harness, like the others


def new_sender() -> Text:
    return f"54911{time.time_ns() % 10**8:08d}"


def text_payload(sender: Text, body: Text) -> Dict[Text, Any]:
    return _as(load_payload("text"), sender, text={"body": body})


def button_payload(sender: Text, payload: Text, title: Text = "opción") -> Dict[Text, Any]:
    interactive = {"type": "button_reply", "button_reply": {"id": payload, "title": title}}
    return _as(load_payload("interactive_button_reply"), sender, interactive=interactive)


def location_payload(sender: Text, latitude: float, longitude: float) -> Dict[Text, Any]:
    return _as(load_payload("location_pin"), sender, location={"latitude": latitude, "longitude": longitude})


def image_payload(sender: Text, media_id: Text) -> Dict[Text, Any]:
    image = {"mime_type": "image/jpeg", "id": media_id}
    return _as(load_payload("image_no_caption"), sender, image=image)


def _as(payload: Dict[Text, Any], sender: Text, **fields: Any) -> Dict[Text, Any]:
    payload = with_message(
        payload, **{"from": sender, "id": f"wamid.E2E{next(_ids):06d}{sender}", "timestamp": str(next(_clock))}, **fields
    )
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    return payload


def content(message: Dict[Text, Any]) -> Text:
    """The text a citizen reads in one Graph message."""
    kind = message.get("type")
    if kind == "text":
        return message["text"]["body"]
    if kind == "interactive":
        return message["interactive"].get("body", {}).get("text", "")
    return (message.get(kind) or {}).get("caption", "") if isinstance(message.get(kind), dict) else ""


async def turn(harness: ChannelHarness, fake: FakeGraphApi, payload: Dict[Text, Any]) -> List[Dict[Text, Any]]:
    """Delivers one signed webhook and returns the Graph messages it caused."""
    sender = payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    before = len(fake.sent_messages(sender))
    response = await harness.deliver(payload)
    assert response.status_code == 200, response.text
    return fake.sent_messages(sender)[before:]


async def bot_events_of_last_turn(agent: Agent, sender: Text) -> List[BotUttered]:
    tracker = await agent.tracker_store.retrieve(sender)
    events = list(tracker.events)
    last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
    return [e for e in events[last_user:] if isinstance(e, BotUttered)]


async def test_signed_webhook_gets_the_models_answer(e2e: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    sender = new_sender()
    sent = await turn(e2e, fake_graph_api, text_payload(sender, "hola, buen día"))
    uttered = await bot_events_of_last_turn(e2e.agent, sender)
    assert uttered, "the model answered the greeting"
    assert sent and len(sent) <= len(uttered), "texts of one turn are merged, never multiplied"
    outbound_text = "\n".join(content(m) for m in sent)
    for event in uttered:
        if event.text:
            assert event.text.strip() in outbound_text, f"{event.text!r} did not reach WhatsApp"
        for button in event.data.get("buttons") or []:
            assert json.dumps(sent).count(json.dumps(button["payload"])[1:-1]) or button["title"] in outbound_text
    assert fake_graph_api.violations == []
    assert [r["message_id"] for r in fake_graph_api.read_receipts()][-1].startswith("wamid.E2E")


async def test_bad_signature_reaches_neither_rasa_nor_whatsapp(e2e: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    sender = new_sender()
    response = await e2e.deliver(text_payload(sender, "hola"), secret="forged")
    assert response.status_code == 403
    tracker = await e2e.agent.tracker_store.retrieve(sender)
    assert tracker is None or not [e for e in tracker.events if isinstance(e, UserUttered)]
    assert fake_graph_api.requests == []


async def test_redelivered_wamid_is_answered_once(e2e: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    sender = new_sender()
    payload = text_payload(sender, "hola")
    first = await turn(e2e, fake_graph_api, payload)
    again = await turn(e2e, fake_graph_api, payload)
    assert first and again == []
    tracker = await e2e.agent.tracker_store.retrieve(sender)
    user_turns = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert [e.message_id for e in user_turns] == [payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]]


async def test_location_pin_finds_the_nearest_green_points(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.green_points import GreenPointsClient

    sender = new_sender()
    latitude, longitude = -34.6037, -58.3816  # Obelisco
    await turn(e2e, fake_graph_api, button_payload(sender, "/green_points", "Puntos Verdes"))
    tracker = await e2e.agent.tracker_store.retrieve(sender)
    assert tracker.active_loop_name == "green_points_form", "the flow asks for a location"
    sent = await turn(e2e, fake_graph_api, location_payload(sender, latitude, longitude))
    nearest = GreenPointsClient(city_services).nearest(latitude, longitude, limit=3)
    shown = "\n".join(content(m) for m in sent)
    assert nearest and nearest[0].name in shown, f"{nearest[0].name!r} not in {shown!r}"


def photo_payload(sender: Text, fake: FakeGraphApi, caption: Optional[Text] = None) -> Dict[Text, Any]:
    """A photo the fake Graph API can serve, without caption or with ``caption``."""
    photo_id = f"{time.time_ns()}"
    fake.add_media(photo_id, b"\xff\xd8\xff\xe0 a photo", "image/jpeg")
    if caption is None:
        return image_payload(sender, photo_id)
    return _as(load_payload("image"), sender, image={"mime_type": "image/jpeg", "id": photo_id, "caption": caption})


async def answer_form(
    harness: ChannelHarness,
    fake: FakeGraphApi,
    first: Dict[Text, Any],
    form: Text,
    answers: Dict[Text, Callable[[], Dict[Text, Any]]],
) -> Text:
    """Sends ``first``, then answers each question of ``form`` from ``answers`` (every question
    must have one) until the form ends; returns all the citizen read, as one text."""
    sender = first["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    sent = await turn(harness, fake, first)
    for _ in range(8):
        tracker = await harness.agent.tracker_store.retrieve(sender)
        if tracker.active_loop_name != form:
            break
        requested = tracker.get_slot("requested_slot")
        assert requested in answers, f"unexpected question {requested!r}"
        sent += await turn(harness, fake, answers[requested]())
    return "\n".join(content(m) for m in sent)


def last_number(shown: Text, pattern: Text) -> Text:
    numbers = re.findall(pattern, shown)
    assert numbers, f"no {pattern} in {shown!r}"
    return numbers[-1]


def request_answers(sender: Text) -> Dict[Text, Callable[[], Dict[Text, Any]]]:
    return {
        "request_category": lambda: text_payload(sender, "bache"),
        "location": lambda: location_payload(sender, -34.6037, -58.3816),
        "request_description": lambda: text_payload(sender, "Hay un pozo enorme en la calle, peligroso para las motos"),
    }


async def test_photo_flows_into_a_service_request(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.service_requests import ServiceRequestsClient

    sender = new_sender()
    answers = {**request_answers(sender), "request_photo": lambda: photo_payload(sender, fake_graph_api)}
    first = button_payload(sender, "/service_requests", "Reclamos")
    shown = await answer_form(e2e, fake_graph_api, first, "service_request_form", answers)
    request = ServiceRequestsClient(city_services).get(last_number(shown, r"SOL-\d+"), sender)
    assert request.has_photo, "the WhatsApp photo reached the service request"


async def test_a_photo_sent_with_the_first_message_of_a_request_is_not_asked_for_again(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.service_requests import ServiceRequestsClient

    sender = new_sender()
    first = photo_payload(sender, fake_graph_api, caption="quiero reclamar por este bache")
    # no answer for request_photo: being asked for it fails the test
    shown = await answer_form(e2e, fake_graph_api, first, "service_request_form", request_answers(sender))
    assert ServiceRequestsClient(city_services).get(last_number(shown, r"SOL-\d+"), sender).has_photo


async def test_a_photo_sent_with_an_emergency_report_reaches_the_incident(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.incidents import IncidentsClient

    sender = new_sender()
    first = photo_payload(sender, fake_graph_api, caption="se inundó mi calle")
    answers = {
        "emergency_type": lambda: text_payload(sender, "inundación"),
        "location": lambda: location_payload(sender, -34.6037, -58.3816),
        "people_at_risk": lambda: text_payload(sender, "no"),
        "emergency_description": lambda: text_payload(sender, "el agua ya entra en las casas de la cuadra"),
    }
    shown = await answer_form(e2e, fake_graph_api, first, "emergency_form", answers)
    assert IncidentsClient(city_services).get(last_number(shown, r"DC-\d+"), sender).has_photo


async def test_a_voice_note_sent_during_an_emergency_report_reaches_the_incident(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.incidents import IncidentsClient

    sender = new_sender()
    voice_id = f"{time.time_ns()}"
    fake_graph_api.add_media(voice_id, b"OggS\x00\x02 a voice note", "audio/ogg")
    voice_note = _as(load_payload("audio"), sender, audio={"mime_type": "audio/ogg; codecs=opus", "id": voice_id, "voice": True})
    described = iter([voice_note, text_payload(sender, "el agua ya entra en las casas de la cuadra")])
    answers = {
        "emergency_type": lambda: text_payload(sender, "inundación"),
        "location": lambda: location_payload(sender, -34.6037, -58.3816),
        "people_at_risk": lambda: text_payload(sender, "no"),
        # the voice note first: the file goes with the report, the question comes again
        "emergency_description": lambda: next(described),
    }
    shown = await answer_form(e2e, fake_graph_api, text_payload(sender, "se inundó mi calle"), "emergency_form", answers)
    assert IncidentsClient(city_services).get(last_number(shown, r"DC-\d+"), sender).has_photo
    tracker = await e2e.agent.tracker_store.retrieve(sender)
    values = [e.value for e in tracker.events if isinstance(e, SlotSet) and e.key == "emergency_description"]
    # the form's mapping takes the voice note's "/inform"; validation empties it at once
    assert values[values.index("/inform") + 1] is None, f"the voice note is no description: {values}"
    assert [v for v in values if v][-1] == "el agua ya entra en las casas de la cuadra", values


async def test_no_secrets_phone_numbers_or_texts_in_info_logs(
    e2e: ChannelHarness, fake_graph_api: FakeGraphApi, caplog
) -> None:
    sender = new_sender()
    text = "hola, quiero saber dónde reciclar pilas"
    payload = text_payload(sender, text)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]  # embeds the number
    with caplog.at_level(logging.INFO):
        await turn(e2e, fake_graph_api, payload)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert logged, "INFO logging was captured"
    config = e2e.channel.config
    for secret in (config.access_token, config.app_secret, sender, text, wamid):
        assert secret not in logged, f"{secret!r} leaked into INFO logs"


async def test_trigger_intent_reaches_whatsapp_at_once(e2e: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    """Proactive messages (/conversations/{id}/trigger_intent?output_channel=whatsapp)."""
    sender = new_sender()
    await turn(e2e, fake_graph_api, text_payload(sender, "hola"))  # the citizen wrote first
    before = len(fake_graph_api.sent_messages(sender))
    _, response = await e2e.app.asgi_client.post(
        f"/conversations/{sender}/trigger_intent?output_channel=whatsapp", json={"name": "greet"}
    )
    assert response.status_code == 200, response.text
    assert "messages" not in response.json, "WhatsApp output is not a collecting channel"
    uttered = await bot_events_of_last_turn(e2e.agent, sender)
    sent = fake_graph_api.sent_messages(sender)[before:]
    assert sent, "the proactive message went straight to WhatsApp"
    shown = "\n".join(content(m) for m in sent)
    assert any(event.text and event.text.strip() in shown for event in uttered)
