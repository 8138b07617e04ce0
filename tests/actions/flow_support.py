"""Helpers shared by the flow action tests (tests/actions/test_<flow>.py)."""
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from tests.fixtures.city_services import free_port


def response_names(dispatcher: CollectingDispatcher) -> List[Text]:
    """The response names the action chose, in order (wording is the trainers' business)."""
    return [message.get("response") for message in dispatcher.messages]


def message_of(dispatcher: CollectingDispatcher, response: Text) -> Dict[Text, Any]:
    found = [m for m in dispatcher.messages if m.get("response") == response]
    assert found, f"expected {response} among {response_names(dispatcher)}"
    return found[0]


def resets(*slots: Text) -> List[Dict[Text, Any]]:
    return [SlotSet(slot, None) for slot in slots]


def slot_events(**values: Any) -> List[Dict[Text, Any]]:
    """Trailing slot events, as the form appends them before its validation action runs."""
    return [{"event": "slot", "name": name, "value": value} for name, value in values.items()]


def user_event(
    text: Text = "", intent: Optional[Text] = None, metadata: Optional[Dict] = None, input_channel: Text = "whatsapp"
) -> Dict:
    parse = {"text": text, "intent": {"name": intent, "confidence": 1.0} if intent else {}, "entities": []}
    return {"event": "user", "text": text, "parse_data": parse, "metadata": metadata or {}, "input_channel": input_channel}


def closed_port_url() -> Text:
    """A base URL nobody listens on: every call fails like a backend that is down."""
    return f"http://127.0.0.1:{free_port()}"


def as_dict(events: Iterable[Dict[Text, Any]]) -> Dict[Text, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
