"""Puntos Verdes: nearest three with distance, materials and hours; material filter."""
import pytest
from rasa_sdk.events import SlotSet

from actions import labels
from actions.base import FAILURES_SLOT, RETRY_SLOT
from actions.clients.geocoding import GeocodingClient
from actions.clients.green_points import GreenPointsClient
from actions.green_points import ActionFindGreenPoints, ValidateGreenPointsForm
from tests.actions.flow_support import closed_port_url, message_of, response_names, resets, user_event

RESETS = ("location", "location_lat", "location_lon", "material")
PIN = {"latitude": -34.6037, "longitude": -58.3816, "name": "Obelisco", "address": None}


@pytest.fixture
def action(city_services):
    return ActionFindGreenPoints(GreenPointsClient(city_services), GeocodingClient(city_services))


async def test_barrio_is_enough(city_services, dispatcher, tracker_factory, domain):
    validator = ValidateGreenPointsForm(GeocodingClient(city_services))
    result = await validator.validate_location("Palermo", dispatcher, tracker_factory(), domain)
    centre = GeocodingClient(city_services).barrio_centre("Palermo")
    assert result == {"location": centre.address, "location_lat": centre.lat, "location_lon": centre.lon, FAILURES_SLOT: None}


async def test_unknown_place_is_rejected(city_services, dispatcher, tracker_factory, domain):
    validator = ValidateGreenPointsForm(GeocodingClient(city_services))
    result = await validator.validate_location("Narnia", dispatcher, tracker_factory(), domain)
    assert result == {"location": None, FAILURES_SLOT: "location:1"}
    assert response_names(dispatcher) == ["utter_invalid_location"]


async def test_pin_label_falls_back_to_coordinates(city_services, dispatcher, tracker_factory, domain):
    validator = ValidateGreenPointsForm(GeocodingClient(city_services))
    tracker = tracker_factory(
        metadata={"whatsapp": {"location": {**PIN, "name": None}}},
        slots={"requested_slot": "location"},
        active_loop="green_points_form",
        events=[user_event("", "inform", {"whatsapp": {"location": PIN}})],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert SlotSet("location", "-34.60370,-58.38160") in events
    assert SlotSet("location_lat", -34.6037) in events


async def test_three_nearest_with_distance_materials_hours(action, dispatcher, tracker_factory, domain, city_services):
    slots = {"location": "Obelisco", "location_lat": PIN["latitude"], "location_lon": PIN["longitude"]}
    events = await action.run(dispatcher, tracker_factory(slots=slots), domain)
    expected = GreenPointsClient(city_services).nearest(PIN["latitude"], PIN["longitude"], limit=3)
    assert response_names(dispatcher) == ["utter_green_points_nearest"] + ["utter_green_point_item"] * len(expected)
    items = [m for m in dispatcher.messages if m["response"] == "utter_green_point_item"]
    assert [i["name"] for i in items] == [p.name for p in expected]
    assert items[0]["materials"] == labels.labels("materials", expected[0].materials)
    assert items[0]["distance"].endswith(("m", "km")) and items[0]["hours"] == expected[0].hours
    assert events == resets(*RESETS, RETRY_SLOT)


async def test_material_filter(action, dispatcher, tracker_factory, domain, city_services):
    slots = {"location": "Obelisco", "location_lat": PIN["latitude"], "location_lon": PIN["longitude"], "material": "aceite"}
    await action.run(dispatcher, tracker_factory(slots=slots), domain)
    assert response_names(dispatcher)[0] == "utter_green_points_for_material"
    assert message_of(dispatcher, "utter_green_points_for_material")["material"] == labels.label("materials", "aceite")
    expected = GreenPointsClient(city_services).nearest(PIN["latitude"], PIN["longitude"], material="aceite", limit=3)
    assert all("aceite" in p.materials for p in expected)
    assert [m["name"] for m in dispatcher.messages[1:]] == [p.name for p in expected]


async def test_address_typed_while_geocoder_was_down_is_geocoded_at_submit(action, dispatcher, tracker_factory, domain):
    await action.run(dispatcher, tracker_factory(slots={"location": "Rivadavia 5000"}), domain)
    assert response_names(dispatcher)[0] == "utter_green_points_nearest"


async def test_backend_down_offers_retry_and_keeps_the_place(dispatcher, tracker_factory, domain):
    down = closed_port_url()
    action = ActionFindGreenPoints(GreenPointsClient(down, timeout=(0.5, 1)), GeocodingClient(down, timeout=(0.5, 1)))
    events = await action.run(dispatcher, tracker_factory(slots={"location": "Palermo", "location_lat": -34.58, "location_lon": -58.42}), domain)
    assert events == [SlotSet(RETRY_SLOT, "action_find_green_points")]
    assert response_names(dispatcher) == ["utter_service_unavailable"]


async def test_geocoder_down_keeps_the_barrio_for_the_submit_to_retry(dispatcher, tracker_factory, domain):
    validator = ValidateGreenPointsForm(GeocodingClient(closed_port_url(), timeout=(0.5, 1)))
    result = await validator.validate_location("Caballito", dispatcher, tracker_factory(), domain)
    assert result == {"location": "Caballito", "location_lat": None, "location_lon": None, FAILURES_SLOT: None}
    assert response_names(dispatcher) == [], "a fault is not the citizen's mistake"
