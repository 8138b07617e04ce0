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
    # None when the asker is not the author: the system then answers the status only.
    created_at: Optional[datetime]
    has_photo: bool
    owner: bool = True

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ServiceRequest":
        owner = data.get("owner", True) is not False
        return cls(
            ticket=data["ticket"],
            category=data["category"],
            status=data["status"],
            address=data.get("address") if owner else None,
            created_at=parse_datetime(data["created_at"]) if owner else None,
            has_photo=bool(data["has_photo"]) if owner else False,
            owner=owner,
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
        idempotency_key: Optional[str] = None,
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
            idempotency_key=idempotency_key,
        )
        with parsing("service_requests"):
            return ServiceRequest.from_json(body)

    def get(self, ticket: str, citizen_id: str) -> ServiceRequest:
        """Details only when ``citizen_id`` filed it (``owner``); else the status."""
        body = self._get(f"/service-requests/{segment(ticket)}", params={"citizen_id": citizen_id})
        with parsing("service_requests"):
            return ServiceRequest.from_json(body)
