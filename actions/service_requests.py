"""Service requests (solicitudes y reclamos): file one and check its status.

Filing: category → location (address, corner or WhatsApp pin) → description → optional
photo → ticket number. A photo whose download failed leaves the request recorded, marked
without photo; a backend that is down keeps everything and offers a retry.
"""
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import labels, parsing
from actions.base import (
    LAT_SLOT,
    LOCATION_SLOT,
    LON_SLOT,
    RETRY_SLOT,
    WRITE_KEY_SLOT,
    FlowAction,
    FlowFormValidation,
    LocationValidation,
    photo_reference,
    rate_limited,
    reset,
)
from actions.rate_limits import LOOKUP
from actions.clients.errors import InvalidRequest, NotFound, ServiceError, ServiceUnavailable
from actions.clients.geocoding import GeocodingClient
from actions.clients.service_requests import ServiceRequest, ServiceRequestsClient

logger = logging.getLogger(__name__)

CATEGORY = "request_category"
DESCRIPTION = "request_description"
PHOTO = "request_photo"
TICKET = "ticket"
NO_PHOTO = "none"
PHOTO_FAILED = "failed"
FORM_SLOTS = (CATEGORY, LOCATION_SLOT, LAT_SLOT, LON_SLOT, DESCRIPTION, PHOTO)
MIN_DESCRIPTION, MAX_DESCRIPTION = 5, 1000


def match_category(text: Text) -> Optional[Text]:
    """Canonical category ("bache") from a canonical value, its label or a description."""
    folded = parsing.fold(text).replace(" ", "_")
    for category in labels.known("request_categories"):
        if folded in (category, parsing.fold(labels.label("request_categories", category)).replace(" ", "_")):
            return category
    return parsing.parse_request_category(text)


def clean_description(text: Text) -> Optional[Text]:
    cleaned = " ".join(str(text or "").split())
    if len(cleaned) < MIN_DESCRIPTION:
        return None
    return cleaned[:MAX_DESCRIPTION]


class ValidateServiceRequestForm(LocationValidation):
    accept_unlocated = True

    def __init__(self, geocoder: Optional[GeocodingClient] = None) -> None:
        super().__init__(geocoder)

    def name(self) -> Text:
        return "validate_service_request_form"

    async def validate_request_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        category = match_category(str(value or ""))
        if category is None:
            return self.reject(CATEGORY, dispatcher, tracker)
        return self.accept(CATEGORY, category)

    async def validate_request_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        description = clean_description(value)
        if description is None:
            return self.reject(DESCRIPTION, dispatcher, tracker)
        return self.accept(DESCRIPTION, description)

    async def extract_request_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        # a photo is the request's whenever it comes: asked for, or sent with the message that
        # started the request (its caption the complaint), so it is never asked for again; a
        # later one replaces only "no photo" or a failed download
        if tracker.get_slot(PHOTO) not in (None, NO_PHOTO, PHOTO_FAILED):
            return {}
        sent, reference = photo_reference(tracker)
        if not sent:
            return {}
        return {PHOTO: reference or PHOTO_FAILED}

    async def validate_request_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if value == PHOTO_FAILED:
            dispatcher.utter_message(response="utter_photo_failed")
        return self.accept(PHOTO, value if value else NO_PHOTO)


class ActionCreateServiceRequest(FlowAction):
    """Submit of service_request_form."""

    def __init__(self, client: Optional[ServiceRequestsClient] = None) -> None:
        self._client = client or ServiceRequestsClient.from_env()

    def name(self) -> Text:
        return "action_create_service_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        category = tracker.get_slot(CATEGORY)
        description = tracker.get_slot(DESCRIPTION)
        address = tracker.get_slot(LOCATION_SLOT)
        if not category or not description or not address:
            return reset(*FORM_SLOTS)
        photo_value = tracker.get_slot(PHOTO)
        photo = None if photo_value in (None, NO_PHOTO, PHOTO_FAILED) else photo_value
        key = self.write_key(tracker)
        try:
            request: ServiceRequest = await self.call(
                self._client.create,
                category,
                description,
                tracker.sender_id,
                address=address,
                lat=tracker.get_slot(LAT_SLOT),
                lon=tracker.get_slot(LON_SLOT),
                photo=photo,
                idempotency_key=key,
            )
        except ServiceError as error:
            # keep every slot and the key: the retry button sends the very same request
            # again, and the city system answers the first ticket if it was recorded
            if not isinstance(error, (ServiceUnavailable, InvalidRequest)):
                logger.error("service request not recorded: %s %s", error.status, error.code)
            return self.offer_retry(
                dispatcher, "utter_service_request_not_recorded", error=error, write_key=key
            )
        dispatcher.utter_message(
            response="utter_service_request_created",
            ticket=request.ticket,
            category=labels.label("request_categories", request.category),
            address=request.address or address,
        )
        if photo_value == PHOTO_FAILED or (photo and not request.has_photo):
            dispatcher.utter_message(response="utter_recorded_without_photo")
        return reset(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)


class ValidateServiceRequestStatusForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_service_request_status_form"

    async def validate_ticket(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        ticket = parsing.normalize_ticket(str(value or ""), "SOL")
        if ticket is None:
            return self.reject(TICKET, dispatcher, tracker)
        return self.accept(TICKET, ticket)


class ActionCheckServiceRequest(FlowAction):
    """Submit of service_request_status_form."""

    def __init__(self, client: Optional[ServiceRequestsClient] = None) -> None:
        self._client = client or ServiceRequestsClient.from_env()

    def name(self) -> Text:
        return "action_check_service_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ticket = tracker.get_slot(TICKET)
        if not ticket:
            return []
        # ticket numbers are sequential: a loop over them is what this limit stops
        if await rate_limited(dispatcher, tracker, LOOKUP):
            return reset(TICKET, RETRY_SLOT)
        try:
            # the sender decides what is shown: details to the author, the status to others
            request: ServiceRequest = await self.call(self._client.get, ticket, tracker.sender_id)
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_service_request_not_found", ticket=ticket)
            return reset(TICKET, RETRY_SLOT)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error)
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        if not request.owner:
            dispatcher.utter_message(
                response="utter_service_request_status_only",
                ticket=request.ticket,
                category=labels.label("request_categories", request.category),
                status=labels.label("request_statuses", request.status),
            )
            return reset(TICKET, RETRY_SLOT)
        dispatcher.utter_message(
            response="utter_service_request_status",
            ticket=request.ticket,
            category=labels.label("request_categories", request.category),
            status=labels.label("request_statuses", request.status),
            created_at=parsing.format_datetime(request.created_at) if request.created_at else "-",
            address=request.address or "-",
        )
        return reset(TICKET, RETRY_SLOT)
