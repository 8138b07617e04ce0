"""Current weather alerts published by the City's operators (Defensa Civil)."""
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.base import RETRY_SLOT, FlowAction
from actions.clients.errors import ServiceError
from actions.clients.weather_alerts import WeatherAlert, WeatherAlertsClient

logger = logging.getLogger(__name__)


class ActionWeatherAlerts(FlowAction):
    def __init__(self, client: Optional[WeatherAlertsClient] = None) -> None:
        self._client = client or WeatherAlertsClient.from_env()

    def name(self) -> Text:
        return "action_weather_alerts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        try:
            alerts: List[WeatherAlert] = await self.call(self._client.active)
        except ServiceError as error:
            return self.offer_retry(dispatcher, error=error)
        if not alerts:
            dispatcher.utter_message(response="utter_no_weather_alerts")
            return [SlotSet(RETRY_SLOT, None)]
        for alert in alerts:
            dispatcher.utter_message(
                response="utter_weather_alert_item",
                level=alert.level,
                title=alert.title,
                description=alert.description,
                area=alert.area,
                starts_at=parsing.format_datetime(alert.starts_at),
                ends_at=parsing.format_datetime(alert.ends_at) if alert.ends_at else "-",
            )
        dispatcher.utter_message(response="utter_weather_alerts_advice")
        return [SlotSet(RETRY_SLOT, None)]
