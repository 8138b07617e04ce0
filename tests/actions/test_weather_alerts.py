"""Weather alerts: none → say so (and remind 103); published ones are listed."""
import datetime as dt

import requests
from rasa_sdk.events import FollowupAction, SlotSet

from actions.base import RETRY_SLOT, ActionRetry
from actions.clients.weather_alerts import WeatherAlertsClient
from actions.weather_alerts import ActionWeatherAlerts
from tests.actions.flow_support import closed_port_url, message_of, response_names


async def test_no_alerts_reminds_103(start_city_services, dispatcher, tracker_factory, domain):
    backend = start_city_services()
    events = await ActionWeatherAlerts(WeatherAlertsClient(backend.base_url)).run(dispatcher, tracker_factory(), domain)
    assert response_names(dispatcher) == ["utter_no_weather_alerts"]
    assert "103" in domain["responses"]["utter_no_weather_alerts"][0]["text"]
    assert events == [SlotSet(RETRY_SLOT, None)]


async def test_published_alert_is_listed(start_city_services, operator_token, dispatcher, tracker_factory, domain):
    backend = start_city_services()
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=-3)))
    published = requests.post(
        f"{backend.base_url}/weather-alerts",
        json={
            "level": "amarilla",
            "title": "Tormentas fuertes",
            "description": "Lluvias intensas y ráfagas.",
            "area": "Ciudad de Buenos Aires",
            "starts_at": now.isoformat(),
            "ends_at": (now + dt.timedelta(hours=6)).isoformat(),
        },
        headers={"Authorization": f"Bearer {operator_token}"},
        timeout=5,
    )
    assert published.status_code in (200, 201), published.text
    await ActionWeatherAlerts(WeatherAlertsClient(backend.base_url)).run(dispatcher, tracker_factory(), domain)
    assert response_names(dispatcher) == ["utter_weather_alert_item", "utter_weather_alerts_advice"]
    assert message_of(dispatcher, "utter_weather_alert_item")["title"] == "Tormentas fuertes"


async def test_backend_down_offers_retry_and_retry_reruns_it(dispatcher, tracker_factory, domain):
    events = await ActionWeatherAlerts(WeatherAlertsClient(closed_port_url(), timeout=(0.5, 1))).run(
        dispatcher, tracker_factory(), domain
    )
    assert events == [SlotSet(RETRY_SLOT, "action_weather_alerts")]
    assert response_names(dispatcher) == ["utter_service_unavailable"]

    retry = await ActionRetry().run(dispatcher, tracker_factory(intent="affirm", slots={RETRY_SLOT: "action_weather_alerts"}), domain)
    assert retry == [SlotSet(RETRY_SLOT, None), FollowupAction("action_weather_alerts")]
    dropped = await ActionRetry().run(dispatcher, tracker_factory(intent="deny", slots={RETRY_SLOT: "action_weather_alerts"}), domain)
    assert dropped == [SlotSet(RETRY_SLOT, None)]
    assert response_names(dispatcher)[-1] == "utter_retry_dropped"


async def test_retry_with_nothing_pending(dispatcher, tracker_factory, domain):
    assert await ActionRetry().run(dispatcher, tracker_factory(intent="affirm"), domain) == []
    assert response_names(dispatcher) == ["utter_nothing_to_retry"]
