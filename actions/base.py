"""Shared shape of the city-service flows: form validation with a failure budget, the
WhatsApp location pin and photo in the message metadata, and the retry offer after a fault.

Both base classes are abstract (abc.ABC with an abstract ``name``), so rasa-sdk's executor
never instantiates them.
"""
import abc
import asyncio
import hashlib
import logging
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing, rate_limits
from actions.clients.errors import Busy, InvalidRequest, NotFound, ServiceError, ServiceUnavailable
from actions.clients.geocoding import GeocodingClient, Location
from actions.session import forget_personal_data

logger = logging.getLogger(__name__)

T = TypeVar("T")

FAILURES_SLOT = "flow_failures"
RETRY_SLOT = "retry_action"
# The Idempotency-Key of a write that failed (timeout, 5xx): the retry button sends
# the same key, so a write that did reach the city system is not made twice.
WRITE_KEY_SLOT = "write_key"
MAX_FAILURES = 3
REQUESTED_SLOT = "requested_slot"

LOCATION_SLOT = "location"
LAT_SLOT = "location_lat"
LON_SLOT = "location_lon"


# --- message metadata ---------------------------------------------------------------


def whatsapp_metadata(tracker: Tracker) -> Dict[Text, Any]:
    """The WhatsApp connector's metadata of the latest message: media, location, profile name.

    Only that connector may set it; any other channel's copy is ignored, so that a forged
    ``metadata.whatsapp.media.path`` never becomes a report's photo."""
    if tracker.get_latest_input_channel() != "whatsapp":
        return {}
    metadata = tracker.latest_message.get("metadata") or {}
    whatsapp = metadata.get("whatsapp")
    return whatsapp if isinstance(whatsapp, dict) else {}


def location_pin(tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """The location pin of the latest message, when it has usable coordinates."""
    pin = whatsapp_metadata(tracker).get("location") or {}
    try:
        lat, lon = float(pin["latitude"]), float(pin["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    return {"lat": lat, "lon": lon, "label": pin.get("address") or pin.get("name")}


def photo_reference(tracker: Tracker) -> Tuple[bool, Optional[Text]]:
    """(photo was sent, media-store reference or None when its download failed)."""
    media = whatsapp_metadata(tracker).get("media")
    if not media:
        return False, None
    if media.get("status") == "failed" or not media.get("path"):
        return True, None
    return True, media["path"]


def failures_of(tracker: Tracker, slot: Text) -> int:
    """Consecutive invalid answers already given for `slot` (stored as "slot:count")."""
    value = tracker.get_slot(FAILURES_SLOT) or ""
    name, _, count = str(value).partition(":")
    return int(count) if name == slot and count.isdigit() else 0


# --- form validation ----------------------------------------------------------------


class FlowFormValidation(FormValidationAction, abc.ABC):
    """Adds the three-strikes rule: invalid answers are explained with an example and asked
    again; the third one in a row ends the form and offers the menu or a person."""

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form>"""

    def accept(self, slot: Text, value: Any, **extra: Any) -> Dict[Text, Any]:
        return {slot: value, FAILURES_SLOT: None, **extra}

    def reject(
        self, slot: Text, dispatcher: CollectingDispatcher, tracker: Tracker, **variables: Any
    ) -> Dict[Text, Any]:
        dispatcher.utter_message(response=f"utter_invalid_{slot}", **variables)
        failures = failures_of(tracker, slot) + 1
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(response="utter_too_many_failures")
            return {slot: None, FAILURES_SLOT: None, REQUESTED_SLOT: None}
        return {slot: None, FAILURES_SLOT: f"{slot}:{failures}"}


# A typed place kept as written is stored and shown to staff: bounded like an address.
MAX_UNLOCATED_CHARS = 200


class LocationValidation(FlowFormValidation, abc.ABC):
    """A `location` slot filled by a WhatsApp pin, an address, a corner or (if allowed) a
    barrio. A geocoder that is down never loses the typed address: it is kept without
    coordinates, and the submit action geocodes again or records the address alone."""

    accept_barrio = False
    # A complaint never dead-ends on an address: when set, the second typed place that
    # cannot be located is accepted as written, without coordinates, for a person to
    # locate (the city's service request then reports `needs_location`).
    accept_unlocated = False

    def __init__(self, geocoder: Optional[GeocodingClient] = None) -> None:
        self._geocoder = geocoder or GeocodingClient.from_env()

    async def extract_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        pin = location_pin(tracker)
        if pin is None:
            return {}
        return {LOCATION_SLOT: pin["label"] or f"{pin['lat']:.5f},{pin['lon']:.5f}"}

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        pin = location_pin(tracker)
        if pin is not None:
            label = pin["label"] or f"{pin['lat']:.5f},{pin['lon']:.5f}"
            return self.accept(LOCATION_SLOT, label, **{LAT_SLOT: pin["lat"], LON_SLOT: pin["lon"]})
        text = str(value or "").strip()
        address = parsing.normalize_address(text)
        try:
            if address:
                place = await asyncio.to_thread(self._geocoder.locate, address)
            elif self.accept_barrio and text:
                place = await asyncio.to_thread(self._geocoder.barrio_centre, text)
            else:
                return self._not_located(text, dispatcher, tracker)
        except (NotFound, InvalidRequest):
            return self._not_located(text, dispatcher, tracker)
        except ServiceUnavailable:
            logger.warning("geocoder unavailable: keeping the typed place without coordinates")
            return self.accept(LOCATION_SLOT, address or text, **{LAT_SLOT: None, LON_SLOT: None})
        return self.accept(LOCATION_SLOT, place.address, **{LAT_SLOT: place.lat, LON_SLOT: place.lon})

    def _not_located(self, text: Text, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        if self.accept_unlocated and len(text) >= 4 and failures_of(tracker, LOCATION_SLOT) >= 1:
            dispatcher.utter_message(response="utter_location_accepted_as_written")
            return self.accept(LOCATION_SLOT, text[:MAX_UNLOCATED_CHARS], **{LAT_SLOT: None, LON_SLOT: None})
        return self.reject(LOCATION_SLOT, dispatcher, tracker)


# --- submit actions -----------------------------------------------------------------


class FlowAction(Action, abc.ABC):
    """A step that calls the city's systems. On ServiceUnavailable it apologises, keeps
    every slot and offers a retry button that re-runs this same action."""

    @abc.abstractmethod
    def name(self) -> Text:
        """action_<verb>_<topic>"""

    @staticmethod
    async def call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking client call off the event loop."""
        return await asyncio.to_thread(func, *args, **kwargs)

    def write_key(self, tracker: Tracker) -> Text:
        """The Idempotency-Key of this action's write: the key of a failed attempt when
        the citizen retries, else one derived from the conversation and the turn."""
        pending = tracker.get_slot(WRITE_KEY_SLOT)
        if isinstance(pending, str) and pending.startswith(f"{self.name()}:"):
            return pending
        return idempotency_key(tracker, self.name())

    def offer_retry(
        self,
        dispatcher: CollectingDispatcher,
        response: Text = "utter_service_unavailable",
        error: Optional[ServiceError] = None,
        write_key: Optional[Text] = None,
    ) -> List[EventType]:
        """Apologise and offer the retry button, keeping every slot. A 429 gets the
        "try in a few minutes" answer instead; ``write_key`` is kept for the retry."""
        if isinstance(error, Busy):
            response = "utter_service_busy"
        dispatcher.utter_message(response=response)
        events: List[EventType] = [SlotSet(RETRY_SLOT, self.name())]
        if write_key is not None:
            events.append(SlotSet(WRITE_KEY_SLOT, write_key))
        return events

    def unexpected(self, dispatcher: CollectingDispatcher, error: ServiceError) -> List[EventType]:
        """Any other answer of a city system (e.g. 405, 413): logged, and the citizen is
        told the system failed. The action server must never answer Rasa with a 500."""
        logger.error("%s: unexpected answer from a city system: %s %s",
                     self.name(), error.status, error.code)
        return self.offer_retry(dispatcher, error=error)


async def rate_limited(dispatcher: CollectingDispatcher, tracker: Tracker, kind: Text) -> bool:
    """Count one ``kind`` call (rate_limits.LOOKUP, EMERGENCY, HANDOFF) by this citizen;
    True, after telling the citizen why, when over the limit. The store is a file or Redis:
    blocking, so off the event loop."""
    try:
        limiter = rate_limits.shared()
    except ValueError as error:
        # a malformed RATE_LIMIT_* must not turn every lookup into a 500 (or silence)
        logger.error("rate limits misconfigured, not enforced: %s", error)
        return False
    decision = await asyncio.to_thread(limiter.hit, tracker.sender_id, kind)
    if decision.allowed:
        return False
    dispatcher.utter_message(response=decision.response)
    return True


def idempotency_key(tracker: Tracker, action: Text, *extra: Text) -> Text:
    """Deterministic per conversation, user turn and action (and ``extra``, e.g. the
    subject, hashed like the rest): a repeat of the same turn (Rasa retrying the action
    call) gives the same key; the next turn another one."""
    turn = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            message_id = event.get("message_id") or (event.get("parse_data") or {}).get("message_id")
            turn = f"{message_id or ''}|{event.get('timestamp') or ''}|{event.get('text') or ''}"
            break
    material = "\n".join((tracker.sender_id, turn, action, *extra))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"{action}:{digest[:40]}"


async def coordinates(
    tracker: Tracker, geocoder: GeocodingClient
) -> Optional[Tuple[float, float]]:
    """Coordinates of the validated location, geocoding again when the geocoder was down
    during validation. Raises ServiceUnavailable / NotFound from the geocoder."""
    lat, lon = tracker.get_slot(LAT_SLOT), tracker.get_slot(LON_SLOT)
    if lat is not None and lon is not None:
        return float(lat), float(lon)
    text = tracker.get_slot(LOCATION_SLOT)
    if not text:
        return None
    place: Location
    if parsing.normalize_address(text):
        place = await asyncio.to_thread(geocoder.locate, text)
    else:
        place = await asyncio.to_thread(geocoder.barrio_centre, text)
    return place.lat, place.lon


def reset(*slots: Text) -> List[EventType]:
    return [SlotSet(slot, None) for slot in slots]


class ActionRetry(Action):
    """The retry button after a fault: runs again the action that failed."""

    def name(self) -> Text:
        return "action_retry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        action = tracker.get_slot(RETRY_SLOT)
        if not action:
            dispatcher.utter_message(response="utter_nothing_to_retry")
            return []
        if (tracker.latest_message.get("intent") or {}).get("name") == "deny":
            # the citizen gave up the failed step: its flow is over, and so is what it
            # asked (DNI, plate, address) and the failed write's key
            dispatcher.utter_message(response="utter_retry_dropped")
            slots = tracker.current_slot_values()
            return [
                SlotSet(RETRY_SLOT, None),
                *([SlotSet(WRITE_KEY_SLOT, None)] if slots.get(WRITE_KEY_SLOT) else []),
                *forget_personal_data(slots),
            ]
        return [SlotSet(RETRY_SLOT, None), FollowupAction(action)]
