"""Ecobici: nearest stations with bikes and docks (GBFS feeds of the reference backend)."""
from rasa_sdk.events import SlotSet

from actions.base import RETRY_SLOT
from actions.clients.ecobici import EcobiciClient
from actions.clients.geocoding import GeocodingClient
from actions.ecobici import ActionFindEcobiciStations
from tests.actions.flow_support import closed_port_url, response_names, resets


async def test_nearest_stations_with_bikes_and_docks(city_services, dispatcher, tracker_factory, domain):
    client = EcobiciClient(city_services + "/ecobici/gbfs")
    action = ActionFindEcobiciStations(client, GeocodingClient(city_services))
    events = await action.run(dispatcher, tracker_factory(slots={"location": "Palermo"}), domain)
    place = GeocodingClient(city_services).barrio_centre("Palermo")
    expected = client.nearest(place.lat, place.lon, limit=3)
    assert expected, "the reference feed has stations in Palermo"
    assert response_names(dispatcher) == ["utter_ecobici_stations_nearest"] + ["utter_ecobici_station_item"] * len(expected)
    items = dispatcher.messages[1:]
    assert [(i["name"], i["bikes"], i["docks"]) for i in items] == [(s.name, s.bikes, s.docks) for s in expected]
    assert events == resets("location", "location_lat", "location_lon", RETRY_SLOT)


async def test_feed_down_offers_retry(city_services, dispatcher, tracker_factory, domain):
    action = ActionFindEcobiciStations(EcobiciClient(closed_port_url(), timeout=(0.5, 1)), GeocodingClient(city_services))
    slots = {"location": "Palermo", "location_lat": -34.58, "location_lon": -58.42}
    events = await action.run(dispatcher, tracker_factory(slots=slots), domain)
    assert events == [SlotSet(RETRY_SLOT, "action_find_ecobici_stations")]
    assert response_names(dispatcher) == ["utter_service_unavailable"]
