"""Answers to the services' frequent questions (retrieval intents `<topic>/<question>`).

One action answers every topic, so that a single rule per form can resume the form after a
question asked in the middle of it (see data/rules/digressions.yml). The answer is the one the
ResponseSelector chose; a button payload such as "/vtv" carries no selection, so the topic's
`overview` answer is given instead.
"""
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)

OVERVIEW = "overview"


def faq_response(parse_data: Dict[Text, Any], responses: Dict[Text, Any]) -> Optional[Text]:
    """Name of the response answering the message, from its intent and the ResponseSelector."""
    topic = (parse_data.get("intent") or {}).get("name")
    if not topic:
        return None
    selected = (parse_data.get("response_selector") or {}).get(topic) or (
        parse_data.get("response_selector") or {}
    ).get("default")
    utter = ((selected or {}).get("response") or {}).get("utter_action")
    if utter and utter in responses:
        return utter
    overview = f"utter_{topic}/{OVERVIEW}"
    return overview if overview in responses else None


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        response = faq_response(tracker.latest_message, domain.get("responses", {}))
        if response is None:
            logger.warning("No frequent-question answer for intent %s", tracker.get_intent_of_latest_message())
            dispatcher.utter_message(response="utter_ask_rephrase")
        else:
            dispatcher.utter_message(response=response)
        return []
