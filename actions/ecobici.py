"""Ecobici: the nearest stations to a WhatsApp pin, an address or a barrio, with the bikes
and docks available right now (GBFS station_information + station_status)."""
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.base import (
    LAT_SLOT,
    LOCATION_SLOT,
    LON_SLOT,
    RETRY_SLOT,
    FlowAction,
    LocationValidation,
    coordinates,
    reset,
)
from actions.clients.ecobici import EcobiciClient, StationAvailability
from actions.clients.errors import InvalidRequest, NotFound, ServiceError
from actions.clients.geocoding import GeocodingClient

logger = logging.getLogger(__name__)

NEAREST = 3


class ValidateEcobiciForm(LocationValidation):
    accept_barrio = True

    def name(self) -> Text:
        return "validate_ecobici_form"


class ActionFindEcobiciStations(FlowAction):
    """Submit of ecobici_form."""

    def __init__(
        self,
        client: Optional[EcobiciClient] = None,
        geocoder: Optional[GeocodingClient] = None,
    ) -> None:
        self._client = client or EcobiciClient.from_env()
        self._geocoder = geocoder or GeocodingClient.from_env()

    def name(self) -> Text:
        return "action_find_ecobici_stations"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        try:
            point = await coordinates(tracker, self._geocoder)
            if point is None:
                return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT)
            stations: List[StationAvailability] = await self.call(
                self._client.nearest, point[0], point[1], limit=NEAREST
            )
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_invalid_location")
            return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT, RETRY_SLOT)
        except ServiceError as error:
            return self.offer_retry(dispatcher, error=error)
        if not stations:
            dispatcher.utter_message(response="utter_no_ecobici_stations")
        else:
            dispatcher.utter_message(response="utter_ecobici_stations_nearest")
            for station in stations:
                dispatcher.utter_message(
                    response="utter_ecobici_station_item",
                    name=station.name,
                    address=station.address or "-",
                    distance=parsing.format_distance(station.distance_m),
                    bikes=station.bikes,
                    docks=station.docks,
                )
        return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT, RETRY_SLOT)
