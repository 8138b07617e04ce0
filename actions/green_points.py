"""Puntos Verdes: the three nearest to a WhatsApp pin, an address or a barrio, with distance,
accepted materials and opening hours; "¿dónde llevo pilas?" filters by material."""
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
    FlowAction,
    LocationValidation,
    coordinates,
    reset,
)
from actions.clients.errors import InvalidRequest, NotFound, ServiceError
from actions.clients.geocoding import GeocodingClient
from actions.clients.green_points import GreenPoint, GreenPointsClient

logger = logging.getLogger(__name__)

MATERIAL = "material"
NEAREST = 3


class ValidateGreenPointsForm(LocationValidation):
    accept_barrio = True

    def name(self) -> Text:
        return "validate_green_points_form"


class ActionFindGreenPoints(FlowAction):
    """Submit of green_points_form."""

    def __init__(
        self,
        client: Optional[GreenPointsClient] = None,
        geocoder: Optional[GeocodingClient] = None,
    ) -> None:
        self._client = client or GreenPointsClient.from_env()
        self._geocoder = geocoder or GeocodingClient.from_env()

    def name(self) -> Text:
        return "action_find_green_points"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        material = tracker.get_slot(MATERIAL)
        try:
            point = await coordinates(tracker, self._geocoder)
            if point is None:
                return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT, MATERIAL)
            found: List[GreenPoint] = await self.call(
                self._client.nearest, point[0], point[1], material=material, limit=NEAREST
            )
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_invalid_location")
            return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT, MATERIAL, RETRY_SLOT)
        except ServiceError as error:
            return self.offer_retry(dispatcher, error=error)
        if not found:
            dispatcher.utter_message(
                response="utter_no_green_points",
                material=labels.label("materials", material) if material else "",
            )
        else:
            if material:
                dispatcher.utter_message(
                    response="utter_green_points_for_material",
                    material=labels.label("materials", material),
                )
            else:
                dispatcher.utter_message(response="utter_green_points_nearest")
            for green_point in found:
                dispatcher.utter_message(
                    response="utter_green_point_item",
                    name=green_point.name,
                    address=green_point.address,
                    barrio=green_point.barrio,
                    distance=parsing.format_distance(green_point.distance_m),
                    materials=labels.labels("materials", green_point.materials),
                    hours=green_point.hours,
                )
        return reset(LOCATION_SLOT, LAT_SLOT, LON_SLOT, MATERIAL, RETRY_SLOT)
