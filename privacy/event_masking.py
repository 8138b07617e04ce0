"""Masking of Rasa events before they leave for the event stream.

The patterns are the trainers' (``trainers.masking``: DNI, old and Mercosur plates, phone
numbers, e-mails, addresses), the message ids are hashed as in the connector's logs
(``channels.whatsapp.masking.mask_wamid``). The sender id becomes a keyed pseudonym
(``trainers.masking.mask_sender``), so dashboards can still count turns per conversation
without holding the phone number.
"""
from typing import Any, Callable, Dict, Text

from channels.whatsapp.masking import mask_wamid
from trainers.masking import PII_ENTITIES, mask_text

# Keys whose values are names the assistant defines (intents, actions, slots, policies):
# masking them would only cost time.
_NAMES = frozenset(
    {"event", "name", "policy", "input_channel", "intent_name", "action_name",
     "retrieval_intent", "utter_action", "intent_response_key", "entity", "extractor",
     "processors", "type_name", "template_name"}
)
# A number this long in a slot or an entity is a DNI or a phone number, never a count.
_MIN_IDENTIFIER_DIGITS = 7


def mask_event(event: Dict[Text, Any], pseudonym: Callable[[Text], Text]) -> Dict[Text, Any]:
    """A copy of the serialised event with personal data replaced by placeholders."""
    sender = event.get("sender_id") if isinstance(event.get("sender_id"), str) else None

    def mask_string(value: Text) -> Text:
        return mask_text(value, sender_id=sender)

    def walk(value: Any, key: Text) -> Any:
        if isinstance(value, dict):
            if "entity" in value and value.get("entity") in PII_ENTITIES:
                return {**{k: walk(v, k) for k, v in value.items()},
                        "value": PII_ENTITIES[value["entity"]]}
            if isinstance(value.get("text"), str) and isinstance(value.get("entities"), list):
                masked = {k: walk(v, k) for k, v in value.items()}
                masked["text"] = mask_text(value["text"], value["entities"], sender)
                return masked
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        if isinstance(value, bool) or value is None:
            return value
        if key == "sender_id":
            return pseudonym(str(value))
        if key == "message_id":
            return mask_wamid(str(value))
        if key == "profile_name":
            return "<NOMBRE>"
        if isinstance(value, int) and len(str(abs(value))) >= _MIN_IDENTIFIER_DIGITS:
            masked = mask_string(str(value))
            return value if masked == str(value) else masked
        if isinstance(value, str) and key not in _NAMES:
            return mask_string(value)
        return value

    masked = walk(event, "")
    # A user event's text sits next to its parse data, whose entities mark what to hide.
    parse_data = event.get("parse_data")
    if isinstance(event.get("text"), str) and isinstance(parse_data, dict):
        masked["text"] = mask_text(event["text"], parse_data.get("entities") or [], sender)
    return masked
