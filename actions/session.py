"""What a new conversation session keeps from the previous one: nothing personal.

Rasa's own ``action_session_start`` carries every slot over (or none). A DNI, a plate, an
address or a health specialty typed an hour ago must not be reused silently, nor shown
to whoever continues the chat, so this replaces it with an allow-list: only slots that
say nothing about the citizen cross the session boundary. A slot added to the domain is
dropped until someone decides it is harmless and lists it here.
"""
from typing import Any, Dict, FrozenSet, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

# Harmless and useful across sessions: that a person was already asked for (so a second
# request says "you are in the queue"), the recycling material last asked about, and the
# metadata Rasa sets for the message that opens this very session.
CARRIED_OVER: FrozenSet[Text] = frozenset(
    {"handoff_requested", "material", "session_started_metadata"}
)

# Personal data asked for one lookup or one booking: cleared when its flow ends
# (success, failure or "cancelar"), and never carried over (they are not in CARRIED_OVER).
# privacy_accepted is here so the notice is shown again with the next lookup.
PERSONAL_SLOTS: FrozenSet[Text] = frozenset(
    {
        "privacy_accepted",
        "infractions_subject",
        "infractions_last_subject",
        "dni",
        "location",
        "location_lat",
        "location_lon",
    }
)


def carried_over(slots: Dict[Text, Any]) -> List[EventType]:
    return [
        SlotSet(name, value)
        for name, value in sorted(slots.items())
        if name in CARRIED_OVER and name not in PERSONAL_SLOTS and value is not None
    ]


def forget_personal_data(slots: Dict[Text, Any]) -> List[EventType]:
    """Reset every personal slot that holds something."""
    return [SlotSet(name, None) for name in sorted(PERSONAL_SLOTS) if slots.get(name) is not None]


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        # SessionStarted resets every slot in Rasa's tracker; the SlotSets after it
        # restore only the allow-listed ones. It also unpauses the tracker: a conversation
        # an operator holds (or that waits in the queue) stays paused across the boundary,
        # or the bot would start answering beside the operator after an hour of silence.
        paused = [ConversationPaused()] if tracker.is_paused() else []
        return [
            SessionStarted(),
            *carried_over(tracker.current_slot_values()),
            *paused,
            ActionExecuted("action_listen"),
        ]
