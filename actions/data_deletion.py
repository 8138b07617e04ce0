"""'Borrar mis datos': erase what the city systems keep of the citizen, once confirmed.

The rules ask first (utter_confirm_delete_data); this action runs on the citizen's "sí". It
erases the city's records of ``tracker.sender_id`` (the identity every flow books and
reports under) and what the operators' console keeps of them (handoffs, their messages
and photos). The conversation itself, the photos it carried and the WhatsApp delivery
records are erased by Rasa's tracker store (privacy/tracker_store.py) when it saves this
turn: this action's ``ActionExecuted`` followed by the ``AllSlotsReset`` it returns is the
marker it looks for. Erasing them here, mid-turn, would be undone by the save that follows.
"""
import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.citizen_data import CitizenDataClient
from actions.clients.errors import ServiceError
from actions.clients.handoffs import HandoffsClient

logger = logging.getLogger(__name__)


class ActionDeleteMyData(Action):
    def __init__(
        self, client: Optional[CitizenDataClient] = None, handoffs: Optional[HandoffsClient] = None
    ) -> None:
        self._client = client or CitizenDataClient.from_env()
        self._handoffs = handoffs or HandoffsClient.from_env()

    def name(self) -> Text:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        try:
            # both, even when the first fails: "borrar" again then finds less to do
            erased, handoffs = await asyncio.gather(
                asyncio.to_thread(self._client.erase, tracker.sender_id),
                asyncio.to_thread(self._handoffs.erase, tracker.sender_id),
            )
        except ServiceError as error:
            logger.warning("Could not erase a citizen's records: %s", error.message)
            dispatcher.utter_message(response="utter_data_deletion_failed")
        else:
            dispatcher.utter_message(
                response="utter_data_deleted",
                appointments=erased.appointments,
                handoffs=handoffs,
                service_requests=erased.service_requests,
                incidents=erased.incidents,
            )
        # The tracker store's marker (see above); the conversation goes even when the city
        # systems failed, as utter_data_deletion_failed tells the citizen.
        return [AllSlotsReset()]
