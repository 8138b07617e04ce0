"""The nearest hospitals and CESAC (actions/appointments.py, health_centres_form): the 107
reminder first, the three nearest of the kind asked, a WhatsApp location pin for each one
on WhatsApp and text only elsewhere."""
import pytest

from actions import parsing
from actions.appointments import ActionFindHealthCentres, ValidateHealthCentresForm, location_message
from actions.base import FAILURES_SLOT, RETRY_SLOT
from actions.clients.appointments import AppointmentsClient, HealthCentre
from actions.clients.geocoding import GeocodingClient
from rasa_sdk.events import SlotSet
from tests.actions.flow_support import closed_port_url, response_names, resets, user_event

RESETS = ("location", "location_lat", "location_lon")
OBELISCO = {"location": "Obelisco", "location_lat": -34.6037, "location_lon": -58.3816}
ITEMS = {"utter_health_centre_item", "utter_health_centre_item_with_phone"}


@pytest.fixture
def action(city_services):
    return ActionFindHealthCentres(AppointmentsClient(city_services), GeocodingClient(city_services))


def asked(text, input_channel="whatsapp"):
    return [user_event(text, "appointments_nearest_health_centre", input_channel=input_channel),
            user_event("Obelisco", "inform", input_channel=input_channel)]


def items(dispatcher):
    return [m for m in dispatcher.messages if m.get("response") in ITEMS]


def pins(dispatcher):
    return [m["custom"] for m in dispatcher.messages if m.get("custom")]


@pytest.mark.parametrize("text, kind", [
    ("¿Dónde está el hospital más cercano?", "hospital"),
    ("un CESAC cerca de mi casa", "cesac"),
    ("hay alguna salita cerca?", "cesac"),
    ("la guardia mas cercana", "hospital"),
    ("un centro de salud cerca", "cesac"),
    ("hospital o cesac, lo que este mas cerca", None),
    ("donde me atiendo cerca de casa", None),
])
def test_kind_asked(text, kind):
    assert parsing.health_centre_kind(text) == kind


async def test_barrio_is_enough(city_services, dispatcher, tracker_factory, domain):
    validator = ValidateHealthCentresForm(GeocodingClient(city_services))
    result = await validator.validate_location("Flores", dispatcher, tracker_factory(), domain)
    centre = GeocodingClient(city_services).barrio_centre("Flores")
    assert result == {"location": centre.address, "location_lat": centre.lat, "location_lon": centre.lon, FAILURES_SLOT: None}


async def test_three_nearest_hospitals_with_pins_on_whatsapp(action, dispatcher, tracker_factory, domain, city_services):
    tracker = tracker_factory(slots=OBELISCO, events=asked("¿Dónde está el hospital más cercano?"))
    events = await action.run(dispatcher, tracker, domain)
    near = (OBELISCO["location_lat"], OBELISCO["location_lon"])
    expected = [c for c in AppointmentsClient(city_services).find_centres(near=near, limit=100) if c.kind == "hospital"][:3]
    names = [n for n in response_names(dispatcher) if n]
    assert names[:2] == ["utter_health_emergency_reminder", "utter_health_centres_nearest_hospital"]
    assert [m["name"] for m in items(dispatcher)] == [c.name for c in expected]
    assert pins(dispatcher) == [location_message(c) for c in expected]
    for centre, item in zip(expected, items(dispatcher)):
        assert item["response"] == ("utter_health_centre_item_with_phone" if centre.phones else "utter_health_centre_item")
        assert centre.barrio in item["place"] and item["distance"].endswith(("m", "km"))
    assert events == resets(*RESETS, RETRY_SLOT)


async def test_cesac_asked_gives_only_cesac(action, dispatcher, tracker_factory, domain, city_services):
    tracker = tracker_factory(slots=OBELISCO, events=asked("un cesac cerca de mi casa"))
    await action.run(dispatcher, tracker, domain)
    assert "utter_health_centres_nearest_cesac" in response_names(dispatcher)
    cesac = {c.name for c in AppointmentsClient(city_services).find_centres(limit=100) if c.kind == "cesac"}
    assert len(items(dispatcher)) == 3 and {m["name"] for m in items(dispatcher)} <= cesac


async def test_text_only_outside_whatsapp(action, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots=OBELISCO, events=asked("hospital cerca", input_channel="rest"))
    await action.run(dispatcher, tracker, domain)
    assert pins(dispatcher) == [] and len(items(dispatcher)) == 3


def test_location_message_is_a_cloud_api_location():
    built = location_message(HealthCentre("H-1", "Hospital X", "hospital", "Calle 123", "Flores", -34.6, -58.4))
    assert built == {"type": "location", "location": {"latitude": -34.6, "longitude": -58.4, "name": "Hospital X", "address": "Calle 123"}}
    no_address = location_message(HealthCentre("C-1", "CESAC N° 24", "cesac", "", "Villa Soldati", -34.65, -58.45))
    assert "address" not in no_address["location"]


async def test_backend_down_offers_retry_and_keeps_the_place(dispatcher, tracker_factory, domain):
    down = closed_port_url()
    action = ActionFindHealthCentres(AppointmentsClient(down, timeout=(0.5, 1)), GeocodingClient(down, timeout=(0.5, 1)))
    events = await action.run(dispatcher, tracker_factory(slots=OBELISCO, events=asked("hospital cerca")), domain)
    assert events == [SlotSet(RETRY_SLOT, "action_find_health_centres")]
    assert response_names(dispatcher) == ["utter_service_unavailable"]
