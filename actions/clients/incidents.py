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
    priority: Optional[str]  # "alta" | "media" | "baja"; None when not the reporter
    status: str
    created_at: Optional[datetime]
    has_photo: bool
    owner: bool = True

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Incident":
        owner = data.get("owner", True) is not False
        return cls(
            number=data["number"],
            kind=data["kind"],
            priority=data["priority"] if owner else None,
            status=data["status"],
            created_at=parse_datetime(data["created_at"]) if owner else None,
            has_photo=bool(data["has_photo"]) if owner else False,
            owner=owner,
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
        idempotency_key: Optional[str] = None,
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
            idempotency_key=idempotency_key,
        )
        with parsing("incidents"):
            return Incident.from_json(body)

    def get(self, number: str, citizen_id: str) -> Incident:
        """Details only when ``citizen_id`` reported it (``owner``); else the status."""
        body = self._get(f"/incidents/{segment(number)}", params={"citizen_id": citizen_id})
        with parsing("incidents"):
            return Incident.from_json(body)
