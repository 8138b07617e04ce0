"""Client of the weather alerts published by the City's operators."""
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from actions.clients._http import HttpClient, parse_datetime, parsing


@dataclass(frozen=True)
class WeatherAlert:
    id: str
    level: str  # "amarilla" | "naranja" | "roja"
    title: str
    description: str
    area: str
    starts_at: datetime
    ends_at: Optional[datetime]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "WeatherAlert":
        ends_at = data.get("ends_at")
        return cls(
            id=str(data["id"]),
            level=data["level"],
            title=data["title"],
            description=data["description"],
            area=data["area"],
            starts_at=parse_datetime(data["starts_at"]),
            ends_at=parse_datetime(ends_at) if ends_at else None,
        )


class WeatherAlertsClient(HttpClient):
    def active(self) -> List[WeatherAlert]:
        body = self._get("/weather-alerts")
        with parsing("weather_alerts"):
            return [WeatherAlert.from_json(item) for item in body["alerts"]]
