import requests
from rasa_sdk.events import SlotSet

from actions.clients.handoffs import HandoffsClient
from actions.handoff import ActionRequestHuman, conversation_summary


def test_summary_keeps_the_last_user_messages_in_order(tracker_factory):
    events = [{"event": "user", "text": f"mensaje {i}"} for i in range(7)] + [{"event": "bot", "text": "hola"}]
    assert conversation_summary(tracker_factory(events=events), last=3) == "mensaje 4\nmensaje 5\nmensaje 6"


async def test_handoff_is_queued_in_the_city_services(city_services, operator_token, dispatcher, tracker_factory, domain):
    sender = "5491122223333"
    tracker = tracker_factory(text="quiero hablar con una persona", intent="human_handoff", sender_id=sender)
    events = await ActionRequestHuman(HandoffsClient(city_services)).run(dispatcher, tracker, domain)
    assert events == [SlotSet("handoff_requested", True)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_queued"]
    queued = requests.get(
        f"{city_services}/handoffs",
        params={"status": "open"},
        headers={"Authorization": f"Bearer {operator_token}"},  # the queue holds phone numbers
        timeout=5,
    ).json()
    assert any(sender == item.get("citizen_id") for item in _items(queued)), queued


async def test_handoff_backend_down_is_apologised(dispatcher, tracker_factory, domain):
    client = HandoffsClient("http://127.0.0.1:9", timeout=(0.5, 0.5))
    events = await ActionRequestHuman(client).run(dispatcher, tracker_factory(intent="human_handoff"), domain)
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_unavailable"]


def _items(body):
    return body if isinstance(body, list) else body.get("items") or body.get("handoffs") or []
