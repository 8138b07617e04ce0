"""Conversation actions: greeting by name, the menu and leaving a procedure (the fallbacks are in
handoff.py)."""
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


def leave_form(tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
    """Events that leave the active form (if any), forgetting what it had collected.

    A DNI, plate or address given for a lookup is forgotten when the citizen abandons,
    even between forms (e.g. a plate kept for the certificate offer).
    """
    personal = forget_personal_data(tracker.current_slot_values())
    form = tracker.active_loop.get("name")
    if not form:
        return personal
    form_slots = (domain.get("forms", {}).get(form) or {}).get("required_slots") or []
    cleared = set(form_slots)
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *(SlotSet(slot, None) for slot in form_slots),
        *(event for event in personal if event["name"] not in cleared),
    ]


class ActionStop(Action):
    """Leaves the active form, forgetting what it had collected, or says nothing was running."""

    def name(self) -> Text:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        events = leave_form(tracker, domain)
        if tracker.active_loop.get("name"):
            dispatcher.utter_message(response="utter_stop")
        else:
            dispatcher.utter_message(response="utter_nothing_to_stop")
        return events


MENU_GROUP_ENTITY = "menu_group"
MENU_RESPONSE = "utter_menu"


def menu_response(group: Optional[Text], responses: Dict[Text, Any]) -> Text:
    """The group's menu (``utter_menu_<group>``) when the domain has it, else the main menu."""
    if group:
        name = f"{MENU_RESPONSE}_{group}"
        if name in responses:
            return name
        logger.warning("No menu for group %r; showing the main menu", group)
    return MENU_RESPONSE


class ActionShowMenu(Action):
    """The menu on request: the main list of groups, or one group's services
    (``/help{"menu_group": "salud"}``).

    Asked for in the middle of a form, the form is left first (as ``stop`` would): the menu's
    rows start other procedures, which the form would otherwise read as its answer.
    """

    def name(self) -> Text:
        return "action_show_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        events: List[EventType] = []
        if tracker.active_loop.get("name"):
            events = leave_form(tracker, domain)
            dispatcher.utter_message(response="utter_menu_form_left")
        group = next(tracker.get_latest_entity_values(MENU_GROUP_ENTITY), None)
        dispatcher.utter_message(response=menu_response(group, domain.get("responses", {})))
        return events
