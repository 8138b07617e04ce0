"""Client of Civil Defense's incident system (Defensa Civil)."""
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Optional

from actions.clients._http import (
    HttpClient,
    parse_datetime,
    segment,
    parsing,
)


@dataclass(frozen=True)
class Incident:
    number: str
    kind: str
    priority: str  # "alta" | "media" | "baja"
    status: str
    created_at: datetime
    has_photo: bool

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Incident":
        return cls(
            number=data["number"],
            kind=data["kind"],
            priority=data["priority"],
            status=data["status"],
            created_at=parse_datetime(data["created_at"]),
            has_photo=bool(data["has_photo"]),
        )


class IncidentsClient(HttpClient):
    def report(
        self,
        kind: str,
        description: str,
        citizen_id: str,
        people_at_risk: bool,
        address: Optional[str] = None,
        lat: Optional[float] = None,
        lon: Optional[float] = None,
        photo: Optional[str] = None,
    ) -> Incident:
        body = self._post(
            "/incidents",
            {
                "kind": kind,
                "description": description,
                "citizen_id": citizen_id,
                "people_at_risk": bool(people_at_risk),
                "address": address,
                "lat": lat,
                "lon": lon,
                "photo": photo,
            },
        )
        with parsing("incidents"):
            return Incident.from_json(body)

    def get(self, number: str) -> Incident:
        with parsing("incidents"):
            return Incident.from_json(self._get(f"/incidents/{segment(number)}"))
