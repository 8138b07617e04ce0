"""Client of the city's service-request system (solicitudes y reclamos)."""
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
class ServiceRequest:
    ticket: str
    category: str
    status: str
    address: Optional[str]
    created_at: datetime
    has_photo: bool

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ServiceRequest":
        return cls(
            ticket=data["ticket"],
            category=data["category"],
            status=data["status"],
            address=data.get("address"),
            created_at=parse_datetime(data["created_at"]),
            has_photo=bool(data["has_photo"]),
        )


class ServiceRequestsClient(HttpClient):
    def create(
        self,
        category: str,
        description: str,
        citizen_id: str,
        address: Optional[str] = None,
        lat: Optional[float] = None,
        lon: Optional[float] = None,
        photo: Optional[str] = None,
    ) -> ServiceRequest:
        body = self._post(
            "/service-requests",
            {
                "category": category,
                "description": description,
                "citizen_id": citizen_id,
                "address": address,
                "lat": lat,
                "lon": lon,
                "photo": photo,
            },
        )
        with parsing("service_requests"):
            return ServiceRequest.from_json(body)

    def get(self, ticket: str) -> ServiceRequest:
        with parsing("service_requests"):
            return ServiceRequest.from_json(self._get(f"/service-requests/{segment(ticket)}"))
