"""Human handoff: the conversation joins the operators' queue of the city's systems."""
import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import idempotency_key, rate_limited
from actions.clients.errors import ServiceError
from actions.clients.handoffs import HandoffsClient
from actions.rate_limits import HANDOFF

logger = logging.getLogger(__name__)


def conversation_summary(tracker: Tracker, last: int = 5) -> Text:
    """The citizen's last messages, oldest first, so the operator starts with context."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return "\n".join(t for t in texts[-last:] if t)


class ActionRequestHuman(Action):
    def __init__(self, client: Optional[HandoffsClient] = None) -> None:
        self._client = client or HandoffsClient.from_env()

    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        channel = tracker.get_latest_input_channel() or "unknown"
        if await rate_limited(dispatcher, tracker, HANDOFF):
            return []
        try:
            await asyncio.to_thread(
                self._client.request,
                citizen_id=tracker.sender_id,
                reason="citizen_request",
                channel=channel,
                summary=conversation_summary(tracker),
                idempotency_key=idempotency_key(tracker, self.name()),
            )
        except ServiceError as error:
            logger.error("Handoff request failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return []
        dispatcher.utter_message(response="utter_handoff_queued")
        return [SlotSet("handoff_requested", True)]
