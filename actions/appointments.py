"""Health appointments (turnos) in hospitals and CESAC: book, list and cancel.

Booking: specialty → health centre (by name, by barrio, or the nearest to a WhatsApp pin)
→ day and time preference → DNI (appointment_form); then real free slots are offered and
confirmed (appointment_slot_form). A slot taken between offer and confirmation brings fresh
options, never an error.

Listing and cancelling are scoped by the chat identity (``tracker.sender_id``) that booked:
the city system answers only that citizen's appointments, whatever DNI anyone types.
"""
import asyncio
import datetime as dt
import logging
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.base import (
    LAT_SLOT,
    LOCATION_SLOT,
    LON_SLOT,
    RETRY_SLOT,
    WRITE_KEY_SLOT,
    FlowAction,
    FlowFormValidation,
    LocationValidation,
    coordinates,
    location_pin,
    rate_limited,
    reset,
)
from actions.rate_limits import LOOKUP
from actions.clients.appointments import Appointment, AppointmentsClient, HealthCentre, Slot
from actions.clients.geocoding import GeocodingClient
from actions.clients.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ServiceError,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

SPECIALTY = "specialty"
CENTRE = "health_centre"
CENTRE_NAME = "health_centre_name"
DATE = "appointment_date"
DNI = "dni"
OFFERS = "appointment_offers"
CHOSEN = "appointment_slot"
CHOSEN_LABEL = "appointment_slot_label"
CONFIRMED = "appointment_confirmed"
CODE = "appointment_code"
CANCEL_CONFIRMED = "cancel_confirmed"
BOOKING_SLOTS = (SPECIALTY, CENTRE, CENTRE_NAME, DATE, OFFERS, CHOSEN, CHOSEN_LABEL, CONFIRMED)
MAX_OFFERS = 5
PIN_PREFIX = "@"


def match_specialty(text: Text, known: List[Text]) -> Optional[Text]:
    """The backend's own spelling of the specialty the citizen wrote, if any."""
    wanted = parsing.fold(text)
    if not wanted:
        return None
    for name in known:
        if parsing.fold(name) == wanted:
            return name
    candidates = [n for n in known if wanted in parsing.fold(n) or parsing.fold(n) in wanted]
    return candidates[0] if len(candidates) == 1 else None


def choose_offer(text: Text, offers: List[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
    """"2" → the second offer; "10:30" or "el de las 10:30" → the offer starting then."""
    folded = parsing.fold(text)
    if folded.strip(" .)").isdigit():
        index = int(folded.strip(" .)"))
        return offers[index - 1] if 1 <= index <= len(offers) else None
    for offer in offers:
        starts = dt.datetime.fromisoformat(offer["starts_at"])
        if starts.strftime("%H:%M") in folded or offer["label"] in text:
            return offer
    return None


def offers_from(slots: List[Slot]) -> List[Dict[Text, Any]]:
    return [
        {"id": s.id, "starts_at": s.starts_at.isoformat(), "label": parsing.format_datetime(s.starts_at)}
        for s in slots
    ]


class ValidateAppointmentForm(FlowFormValidation):
    def __init__(
        self,
        client: Optional[AppointmentsClient] = None,
        today: Optional[Callable[[], dt.date]] = None,
    ) -> None:
        self._client = client or AppointmentsClient.from_env()
        self._today = today or dt.date.today

    def name(self) -> Text:
        return "validate_appointment_form"

    async def validate_specialty(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        try:
            known = await asyncio.to_thread(self._client.specialties)
        except ServiceError:
            dispatcher.utter_message(response="utter_service_unavailable_ask_again")
            return {SPECIALTY: None}
        found = match_specialty(str(value or ""), known)
        if found is None:
            return self.reject(SPECIALTY, dispatcher, tracker, specialties=", ".join(known))
        return self.accept(SPECIALTY, found)

    async def extract_health_centre(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        pin = location_pin(tracker)
        if pin is None or tracker.get_slot("requested_slot") != CENTRE:
            return {}
        return {CENTRE: f"{PIN_PREFIX}{pin['lat']},{pin['lon']}"}

    async def validate_health_centre(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        text = str(value or "").strip()
        specialty = tracker.get_slot(SPECIALTY)
        centres: List[HealthCentre] = []
        try:
            if text.startswith(PIN_PREFIX):
                lat, lon = (float(part) for part in text[1:].split(","))
                centres = await asyncio.to_thread(
                    self._client.find_centres, near=(lat, lon), specialty=specialty, limit=1
                )
            elif text:
                centres = await asyncio.to_thread(
                    self._client.find_centres, name=text, specialty=specialty, limit=1
                )
                if not centres:
                    centres = await asyncio.to_thread(
                        self._client.find_centres, barrio=text, specialty=specialty, limit=1
                    )
        except (NotFound, InvalidRequest, ValueError):
            centres = []
        except ServiceError:
            dispatcher.utter_message(response="utter_service_unavailable_ask_again")
            return {CENTRE: None}
        if not centres:
            return self.reject(CENTRE, dispatcher, tracker)
        centre = centres[0]
        dispatcher.utter_message(
            response="utter_health_centre_chosen",
            centre=centre.name,
            address=centre.address,
            barrio=centre.barrio,
        )
        return self.accept(CENTRE, centre.id, **{CENTRE_NAME: centre.name})

    async def validate_appointment_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        preference = parsing.parse_date_preference(str(value or ""), today=self._today())
        if preference is None:
            return self.reject(DATE, dispatcher, tracker)
        return self.accept(DATE, preference.to_slot())

    async def validate_dni(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        dni = parsing.normalize_dni(str(value or ""))
        if dni is None:
            return self.reject(DNI, dispatcher, tracker)
        return self.accept(DNI, dni)


class _AppointmentsAction(FlowAction):
    def __init__(self, client: Optional[AppointmentsClient] = None) -> None:
        self._client = client or AppointmentsClient.from_env()

    async def fresh_offers(self, tracker: Tracker) -> List[Dict[Text, Any]]:
        preference = parsing.DatePreference.from_slot(tracker.get_slot(DATE))
        slots = await self.call(
            self._client.free_slots,
            tracker.get_slot(CENTRE),
            tracker.get_slot(SPECIALTY),
            preference.date_from,
            preference.date_to,
            part_of_day=preference.part_of_day,
            limit=MAX_OFFERS,
        )
        return offers_from(slots)

    @staticmethod
    def no_offers(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """Nothing free: ask for another day, keeping specialty, centre and DNI."""
        dispatcher.utter_message(
            response="utter_no_free_slots", centre=tracker.get_slot(CENTRE_NAME) or ""
        )
        return [*reset(DATE, OFFERS, CHOSEN, CHOSEN_LABEL, CONFIRMED), FollowupAction("appointment_form")]


class ActionOfferAppointmentSlots(_AppointmentsAction):
    """Submit of appointment_form: loads real free slots for appointment_slot_form."""

    def name(self) -> Text:
        return "action_offer_appointment_slots"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if any(tracker.get_slot(s) is None for s in (SPECIALTY, CENTRE, DATE, DNI)):
            # the form ended without its data (too many invalid answers): the flow is over
            return [*reset(*BOOKING_SLOTS, DNI), FollowupAction("action_listen")]
        try:
            offers = await self.fresh_offers(tracker)
        except ServiceUnavailable as error:
            return [*self.offer_retry(dispatcher, error=error), FollowupAction("action_listen")]
        except (NotFound, InvalidRequest):
            offers = []
        except ServiceError as error:
            return [*self.unexpected(dispatcher, error), FollowupAction("action_listen")]
        if not offers:
            return self.no_offers(dispatcher, tracker)
        # explicit, so that a retry after a fault (action_retry) also reaches the choice
        return [SlotSet(OFFERS, offers), SlotSet(RETRY_SLOT, None), FollowupAction("appointment_slot_form")]


class ActionAskAppointmentSlot(Action):
    """Asks for appointment_slot: the offered slots as buttons "1".."n"."""

    def name(self) -> Text:
        return "action_ask_appointment_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        offers = tracker.get_slot(OFFERS) or []
        buttons = [
            {"title": f"{i}) {offer['label']}", "payload": str(i)}
            for i, offer in enumerate(offers, start=1)
        ]
        dispatcher.utter_message(
            response="utter_ask_appointment_slot",
            buttons=buttons,
            centre=tracker.get_slot(CENTRE_NAME) or "",
            specialty=tracker.get_slot(SPECIALTY) or "",
        )
        return []


class ValidateAppointmentSlotForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_appointment_slot_form"

    async def validate_appointment_slot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        offers = tracker.get_slot(OFFERS) or []
        offer = choose_offer(str(value or ""), offers)
        if offer is None:
            return self.reject(CHOSEN, dispatcher, tracker)
        return self.accept(CHOSEN, offer["id"], **{CHOSEN_LABEL: offer["label"]})

    async def validate_appointment_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if value is True:
            return self.accept(CONFIRMED, True)
        # "no": choose another of the offered slots
        return {CONFIRMED: None, CHOSEN: None, CHOSEN_LABEL: None}


class ActionBookAppointment(_AppointmentsAction):
    """Submit of appointment_slot_form: books and returns the booking code."""

    def name(self) -> Text:
        return "action_book_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        slot_id, dni = tracker.get_slot(CHOSEN), tracker.get_slot(DNI)
        if tracker.get_slot(CONFIRMED) is not True or not slot_id or not dni:
            return reset(*BOOKING_SLOTS, DNI)
        key = self.write_key(tracker)
        try:
            booking: Appointment = await self.call(
                self._client.book, slot_id, dni, tracker.sender_id, idempotency_key=key
            )
        except (Conflict, NotFound, InvalidRequest):
            return await self._taken_meanwhile(dispatcher, tracker)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error, write_key=key)
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        dispatcher.utter_message(
            response="utter_appointment_booked",
            code=booking.code,
            centre=booking.centre_name,
            specialty=booking.specialty,
            when=parsing.format_datetime(booking.starts_at),
        )
        # the DNI was asked for this booking only: it does not outlive the flow
        return reset(*BOOKING_SLOTS, DNI, RETRY_SLOT, WRITE_KEY_SLOT)

    async def _taken_meanwhile(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_appointment_slot_taken")
        try:
            offers = await self.fresh_offers(tracker)
        except ServiceUnavailable as error:
            return [*reset(CHOSEN, CHOSEN_LABEL, CONFIRMED), *self.offer_retry(dispatcher, error=error)]
        except ServiceError as error:
            return [*reset(CHOSEN, CHOSEN_LABEL, CONFIRMED), *self.unexpected(dispatcher, error)]
        if not offers:
            return self.no_offers(dispatcher, tracker)
        return [
            SlotSet(OFFERS, offers),
            *reset(CHOSEN, CHOSEN_LABEL, CONFIRMED, RETRY_SLOT),
            FollowupAction("appointment_slot_form"),
        ]


class ActionListAppointments(_AppointmentsAction):
    """"mis turnos": the appointments booked from this chat (the sender id), with no DNI
    asked: a DNI is easy to learn, and a specialty is health data."""

    def name(self) -> Text:
        return "action_list_appointments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if await rate_limited(dispatcher, tracker, LOOKUP):
            return [SlotSet(RETRY_SLOT, None)]
        try:
            appointments = await self.call(self._client.list, tracker.sender_id)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error)
        except (NotFound, InvalidRequest):
            appointments = []
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        booked = sorted((a for a in appointments if a.status == "booked"), key=lambda a: a.starts_at)
        if not booked:
            dispatcher.utter_message(response="utter_no_appointments")
            return [SlotSet(RETRY_SLOT, None)]
        for appointment in booked:
            dispatcher.utter_message(
                response="utter_appointment_item",
                code=appointment.code,
                centre=appointment.centre_name,
                specialty=appointment.specialty,
                when=parsing.format_datetime(appointment.starts_at),
            )
        dispatcher.utter_message(response="utter_appointments_how_to_cancel")
        return [SlotSet(RETRY_SLOT, None)]


class ValidateAppointmentCancelForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_appointment_cancel_form"

    async def validate_appointment_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        code = parsing.normalize_ticket(str(value or ""), "TUR")
        if code is None:
            return self.reject(CODE, dispatcher, tracker)
        return self.accept(CODE, code)

    async def validate_cancel_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self.accept(CANCEL_CONFIRMED, bool(value))


class ActionCancelAppointment(_AppointmentsAction):
    def name(self) -> Text:
        return "action_cancel_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        code = tracker.get_slot(CODE)
        confirmed = tracker.get_slot(CANCEL_CONFIRMED)
        if not code or confirmed is None:
            return reset(CODE, CANCEL_CONFIRMED)
        if confirmed is False:
            dispatcher.utter_message(response="utter_appointment_kept", code=code)
            return reset(CODE, CANCEL_CONFIRMED, RETRY_SLOT)
        # codes can be guessed: a loop of cancellations is limited like any lookup
        if await rate_limited(dispatcher, tracker, LOOKUP):
            return reset(CODE, CANCEL_CONFIRMED, RETRY_SLOT)
        try:
            # the backend checks ownership: someone else's code answers "not found"
            appointment = await self.call(self._client.cancel, code, tracker.sender_id)
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_appointment_not_found", code=code)
            return reset(CODE, CANCEL_CONFIRMED, RETRY_SLOT)
        except Conflict:
            dispatcher.utter_message(response="utter_appointment_already_cancelled", code=code)
            return reset(CODE, CANCEL_CONFIRMED, RETRY_SLOT)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error)
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        dispatcher.utter_message(
            response="utter_appointment_cancelled",
            code=appointment.code,
            centre=appointment.centre_name,
            when=parsing.format_datetime(appointment.starts_at),
        )
        return reset(CODE, CANCEL_CONFIRMED, RETRY_SLOT)


# --- the nearest hospitals and CESAC -------------------------------------------------

NEAREST_INTENT = "appointments_nearest_health_centre"
NEAREST_CENTRES = 3
# Every centre of the reference data (79): the kind filter is applied here, after the
# distance order, because /health-centres has no kind parameter.
ALL_CENTRES = 100


def asked_kind(tracker: Tracker) -> Optional[Text]:
    """"hospital", "cesac" or None: what the message that started the search named."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == NEAREST_INTENT:
            return parsing.health_centre_kind(event.get("text") or "")
    return None


def location_message(centre: HealthCentre) -> Dict[Text, Any]:
    """A WhatsApp Cloud API location message (sent as a custom payload by the connector)."""
    location: Dict[Text, Any] = {"latitude": centre.lat, "longitude": centre.lon, "name": centre.name}
    if centre.address:
        location["address"] = centre.address
    return {"type": "location", "location": location}


class ValidateHealthCentresForm(LocationValidation):
    accept_barrio = True

    def name(self) -> Text:
        return "validate_health_centres_form"


class ActionFindHealthCentres(FlowAction):
    """Submit of health_centres_form: the three nearest hospitals or CESAC (open data of the
    City), after the 107 reminder. On WhatsApp each one also comes as a location pin; the
    pin is a custom payload built here because its coordinates are numbers, which a
    templated response cannot carry."""

    def __init__(
        self,
        client: Optional[AppointmentsClient] = None,
        geocoder: Optional[GeocodingClient] = None,
    ) -> None:
        self._client = client or AppointmentsClient.from_env()
        self._geocoder = geocoder or GeocodingClient.from_env()

    def name(self) -> Text:
        return "action_find_health_centres"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        kind = asked_kind(tracker)
        slots = (LOCATION_SLOT, LAT_SLOT, LON_SLOT)
        try:
            point = await coordinates(tracker, self._geocoder)
            if point is None:
                return reset(*slots)
            centres: List[HealthCentre] = await self.call(
                self._client.find_centres, near=point, limit=ALL_CENTRES
            )
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_invalid_location")
            return reset(*slots, RETRY_SLOT)
        except ServiceError as error:
            return self.offer_retry(dispatcher, error=error)
        dispatcher.utter_message(response="utter_health_emergency_reminder")
        nearest = [c for c in centres if kind is None or c.kind == kind][:NEAREST_CENTRES]
        if not nearest:
            dispatcher.utter_message(response="utter_no_health_centres")
            return reset(*slots, RETRY_SLOT)
        dispatcher.utter_message(response=f"utter_health_centres_nearest_{kind or 'any'}")
        on_whatsapp = tracker.get_latest_input_channel() == "whatsapp"
        for centre in nearest:
            if on_whatsapp:
                dispatcher.utter_message(json_message=location_message(centre))
            place = f"{centre.address} ({centre.barrio})" if centre.address else centre.barrio
            variables = {
                "name": centre.name,
                "place": place,
                "distance": parsing.format_distance(centre.distance_m),
            }
            if centre.phones:
                dispatcher.utter_message(
                    response="utter_health_centre_item_with_phone",
                    phone=" / ".join(centre.phones[:2]),
                    **variables,
                )
            else:
                dispatcher.utter_message(response="utter_health_centre_item", **variables)
        return reset(*slots, RETRY_SLOT)
