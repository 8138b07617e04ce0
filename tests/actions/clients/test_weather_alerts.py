from datetime import datetime, timedelta, timezone

import pytest

from actions.clients.weather_alerts import WeatherAlert, WeatherAlertsClient


@pytest.fixture
def client(base_url):
    return WeatherAlertsClient(base_url)


def test_published_alert_is_active_until_expired(client, operator):
    ends = (datetime.now(timezone.utc) + timedelta(hours=6)).isoformat()
    published = operator("POST", "/weather-alerts", {
        "level": "naranja", "title": "Tormentas fuertes", "description": "Lluvias intensas",
        "area": "Ciudad de Buenos Aires", "ends_at": ends})
    active = {alert.id: alert for alert in client.active()}
    assert published["id"] in active
    alert = active[published["id"]]
    assert isinstance(alert, WeatherAlert)
    assert (alert.level, alert.title, alert.area) == ("naranja", "Tormentas fuertes",
                                                      "Ciudad de Buenos Aires")
    assert alert.ends_at is not None and alert.ends_at > alert.starts_at
    operator("POST", f"/weather-alerts/{published['id']}/expire")
    assert published["id"] not in {a.id for a in client.active()}
