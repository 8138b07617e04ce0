"""Emergencies reported to Civil Defense (Defensa Civil), following its protocol.

The first reply always carries the emergency numbers (911 / 100 / 107 / 103, a response
in domain.yml) before any question. Then at most four questions (type, location, people in
danger, description); a photo is taken from the message metadata when one was sent. The
incident is recorded with priority and number, queued for Civil Defense's operators, and
the bot pauses until an operator hands the conversation back. An incident
is never lost: faults keep every answer and offer a retry, and anything typed as the
location is accepted, with or without coordinates.
"""
import asyncio
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import labels, parsing
from actions.base import (
    LAT_SLOT,
    LOCATION_SLOT,
    LON_SLOT,
    RETRY_SLOT,
    WRITE_KEY_SLOT,
    FlowAction,
    LocationValidation,
    location_pin,
    rate_limited,
    reset,
)
from actions.rate_limits import EMERGENCY
from actions.clients.errors import NotFound, ServiceError
from actions.clients.geocoding import GeocodingClient
from actions.clients.handoffs import EMERGENCY as EMERGENCY_REASON, HandoffsClient
from actions.handoff import queue_for_an_operator
from actions.clients.incidents import Incident, IncidentsClient

logger = logging.getLogger(__name__)

KIND = "emergency_type"
PEOPLE = "people_at_risk"
DESCRIPTION = "emergency_description"
FORM_SLOTS = (KIND, LOCATION_SLOT, LAT_SLOT, LON_SLOT, PEOPLE, DESCRIPTION)
OTHER = "otro"
MIN_LOCATION = 4


def match_emergency_type(text: Text) -> Text:
    """Canonical kind from a canonical value or its label; anything else is "otro", so an
    emergency is never held back by a question about its kind."""
    folded = parsing.fold(text).replace(" ", "_")
    for kind in labels.known("emergency_types"):
        if folded in (kind, parsing.fold(labels.label("emergency_types", kind)).replace(" ", "_")):
            return kind
    return parsing.parse_emergency_type(text) or OTHER


def not_words(value: Any) -> bool:
    """A ``/intent`` payload: a photo, voice note or file sent without caption fills the
    asked slot's from_text mapping with it; it is the report's attachment, not an answer."""
    return str(value or "").lstrip().startswith("/")


def photo_since_form_start(tracker: Tracker) -> Tuple[bool, Optional[Text]]:
    """(a photo was sent, its reference or None if the download failed), looking at every
    user message since emergency_form became active and at the one that activated it (a
    photo sent with the report, its caption the first words)."""
    sent, started = False, False
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == "emergency_form":
            started = True
            continue
        if event.get("event") != "user":
            continue
        media = ((event.get("metadata") or {}).get("whatsapp") or {}).get("media")
        if media:
            sent = True
            if media.get("status") != "failed" and media.get("path"):
                return True, media["path"]
        if started:  # that was the message that activated the form
            break
    return sent, None


class ValidateEmergencyForm(LocationValidation):
    def __init__(self, geocoder: Optional[GeocodingClient] = None) -> None:
        super().__init__(geocoder)

    def name(self) -> Text:
        return "validate_emergency_form"

    async def validate_emergency_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if not_words(value):
            return {KIND: None}  # asked again, with no complaint: the file is kept
        return self.accept(KIND, match_emergency_type(str(value or "")))

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if location_pin(tracker) is not None:
            return await super().validate_location(value, dispatcher, tracker, domain)
        if not_words(value):
            return {LOCATION_SLOT: None}
        text = " ".join(str(value or "").split())
        if len(text) < MIN_LOCATION:
            return self.reject(LOCATION_SLOT, dispatcher, tracker)
        try:
            place = await asyncio.to_thread(self._geocoder.locate, text)
        except (NotFound, ServiceError):
            # operators read the place as written; an emergency is never refused for it
            return self.accept(LOCATION_SLOT, text, **{LAT_SLOT: None, LON_SLOT: None})
        return self.accept(LOCATION_SLOT, place.address, **{LAT_SLOT: place.lat, LON_SLOT: place.lon})

    async def validate_people_at_risk(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if value is True:
            dispatcher.utter_message(response="utter_emergency_numbers")
        return self.accept(PEOPLE, bool(value))

    async def validate_emergency_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if not_words(value):
            return {DESCRIPTION: None}
        text = " ".join(str(value or "").split())
        if len(text) < 3:
            return self.reject(DESCRIPTION, dispatcher, tracker)
        return self.accept(DESCRIPTION, text[:1000])


class ActionReportEmergency(FlowAction):
    """Submit of emergency_form: records the incident, then enqueues it for the operators."""

    def __init__(
        self,
        client: Optional[IncidentsClient] = None,
        handoffs: Optional[HandoffsClient] = None,
    ) -> None:
        self._client = client or IncidentsClient.from_env()
        self._handoffs = handoffs or HandoffsClient.from_env()

    def name(self) -> Text:
        return "action_report_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        kind = tracker.get_slot(KIND)
        address = tracker.get_slot(LOCATION_SLOT)
        if not kind or not address:
            return reset(*FORM_SLOTS)
        # over the limit the answer still gives 911/100/107/103: never silence here
        if await rate_limited(dispatcher, tracker, EMERGENCY):
            return reset(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)
        sent, photo = photo_since_form_start(tracker)
        description = tracker.get_slot(DESCRIPTION) or labels.label("emergency_types", kind)
        key = self.write_key(tracker)
        try:
            incident: Incident = await self.call(
                self._client.report,
                kind,
                description,
                tracker.sender_id,
                bool(tracker.get_slot(PEOPLE)),
                address=address,
                lat=tracker.get_slot(LAT_SLOT),
                lon=tracker.get_slot(LON_SLOT),
                photo=photo,
                idempotency_key=key,
            )
        except ServiceError:
            # never lose a report: every answer stays in its slot for the retry, and the
            # key too, so a report that did arrive is not recorded twice.
            # utter_emergency_not_recorded gives the life-safety numbers.
            return self.offer_retry(dispatcher, "utter_emergency_not_recorded", write_key=key)
        dispatcher.utter_message(
            response="utter_emergency_recorded",
            number=incident.number,
            priority=incident.priority,
            kind=labels.label("emergency_types", incident.kind),
            address=address,
        )
        if sent and (photo is None or not incident.has_photo):
            dispatcher.utter_message(response="utter_recorded_without_photo")
        collected = {
            "incident_number": incident.number,
            "emergency_type": labels.label("emergency_types", incident.kind),
            "address": address,
            "latitude": tracker.get_slot(LAT_SLOT),
            "longitude": tracker.get_slot(LON_SLOT),
            "people_in_danger": bool(tracker.get_slot(PEOPLE)),
            "description": description,
        }
        try:
            queued = await queue_for_an_operator(
                self._handoffs,
                tracker,
                EMERGENCY_REASON,
                # one operator ticket per incident, however often this is retried
                f"emergency-handoff:{incident.number}",
                collected=collected,
                people_in_danger=bool(tracker.get_slot(PEOPLE)),
                topic="report_emergency",
            )
        except ServiceError as error:
            # the incident is recorded in Civil Defense's system: its operators see it there;
            # the bot stays on so the citizen is never left talking to no one
            logger.error("incident %s recorded but not enqueued: %s", incident.number, type(error).__name__)
            dispatcher.utter_message(response="utter_emergency_operator_unreachable", number=incident.number)
            return reset(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)
        if queued.open_now:
            dispatcher.utter_message(response="utter_emergency_operator_follow_up", number=incident.number)
        else:
            dispatcher.utter_message(response="utter_emergency_operator_after_hours", number=incident.number)
        return [*reset(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT), SlotSet("handoff_requested", True), ConversationPaused()]
