"""Conversation actions: greeting by name and leaving a procedure (the fallback is in handoff.py)."""
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.session import forget_personal_data

logger = logging.getLogger(__name__)


def first_name(metadata: Optional[Dict[Text, Any]]) -> Optional[Text]:
    """The first word of the WhatsApp profile name, if it looks like a name.

    Profile names are free text ("Caro 🌻", "+54 9 11...", "."): only a leading word made of
    letters is used, so nobody is greeted by an emoji or a phone number.
    """
    profile = ((metadata or {}).get("whatsapp") or {}).get("profile_name") or ""
    words = profile.split()
    if not words:
        return None
    word = words[0].strip(".,;:!¡?¿")
    if len(word) < 2 or not word.isalpha():
        return None
    return word[:1].upper() + word[1:]


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        name = first_name(tracker.latest_message.get("metadata"))
        if name:
            dispatcher.utter_message(response="utter_greet_named", first_name=name)
        else:
            dispatcher.utter_message(response="utter_greet")
        dispatcher.utter_message(response="utter_menu")
        return []


class ActionStop(Action):
    """Leaves the active form, forgetting what it had collected, or says nothing was running."""

    def name(self) -> Text:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        form = tracker.active_loop.get("name")
        # a DNI, plate or address given for a lookup is forgotten when the citizen
        # abandons, even between forms (e.g. a plate kept for the certificate offer)
        personal = forget_personal_data(tracker.current_slot_values())
        if not form:
            dispatcher.utter_message(response="utter_nothing_to_stop")
            return personal
        form_slots = (domain.get("forms", {}).get(form) or {}).get("required_slots") or []
        dispatcher.utter_message(response="utter_stop")
        cleared = set(form_slots)
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *(SlotSet(slot, None) for slot in form_slots),
            *(event for event in personal if event["name"] not in cleared),
        ]
