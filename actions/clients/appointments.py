"""Client of the public health appointments system (turnos en hospitales y CESAC)."""
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Tuple

from actions.clients._http import (
    HttpClient,
    parse_datetime,
    segment,
    parsing,
)


@dataclass(frozen=True)
class HealthCentre:
    id: str
    name: str
    kind: str  # "hospital" | "cesac"
    address: str
    barrio: str
    lat: float
    lon: float
    distance_m: Optional[float] = None
    phones: Tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "HealthCentre":
        distance = data.get("distance_m")
        return cls(
            id=str(data["id"]),
            name=data["name"],
            kind=data["kind"],
            address=data["address"],
            barrio=data["barrio"],
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            distance_m=None if distance is None else float(distance),
            phones=tuple(str(phone) for phone in data.get("phones") or ()),
        )


@dataclass(frozen=True)
class Slot:
    id: str
    centre_id: str
    centre_name: str
    specialty: str
    starts_at: datetime

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Slot":
        return cls(
            id=str(data["id"]),
            centre_id=str(data["centre_id"]),
            centre_name=data["centre_name"],
            specialty=data["specialty"],
            starts_at=parse_datetime(data["starts_at"]),
        )


@dataclass(frozen=True)
class Appointment:
    code: str
    centre_name: str
    specialty: str
    starts_at: datetime
    status: str  # "booked" | "cancelled"

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Appointment":
        return cls(
            code=data["code"],
            centre_name=data["centre_name"],
            specialty=data["specialty"],
            starts_at=parse_datetime(data["starts_at"]),
            status=data["status"],
        )


class AppointmentsClient(HttpClient):
    def find_centres(
        self,
        name: Optional[str] = None,
        barrio: Optional[str] = None,
        near: Optional[Tuple[float, float]] = None,
        specialty: Optional[str] = None,
        limit: int = 3,
    ) -> List[HealthCentre]:
        params: Dict[str, Any] = {
            "name": name,
            "barrio": barrio,
            "specialty": specialty,
            "limit": limit,
        }
        if near is not None:
            params["lat"], params["lon"] = near
        body = self._get("/health-centres", params=params)
        with parsing("appointments"):
            return [HealthCentre.from_json(item) for item in body["centres"]]

    def specialties(self) -> List[str]:
        with parsing("appointments"):
            return [str(item) for item in self._get("/specialties")["specialties"]]

    def free_slots(
        self,
        centre_id: str,
        specialty: str,
        date_from: date,
        date_to: date,
        part_of_day: Optional[str] = None,
        limit: int = 5,
    ) -> List[Slot]:
        params = {
            "specialty": specialty,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "part_of_day": part_of_day,
            "limit": limit,
        }
        body = self._get(f"/health-centres/{segment(centre_id)}/slots", params=params)
        with parsing("appointments"):
            return [Slot.from_json(item) for item in body["slots"]]

    def book(
        self, slot_id: str, dni: str, citizen_id: str, idempotency_key: Optional[str] = None
    ) -> Appointment:
        """Conflict when the slot was taken meanwhile."""
        body = self._post(
            "/appointments",
            {"slot_id": str(slot_id), "dni": dni, "citizen_id": citizen_id},
            idempotency_key=idempotency_key,
        )
        with parsing("appointments"):
            return Appointment.from_json(body)

    def list(self, citizen_id: str) -> List[Appointment]:
        """The appointments this citizen (chat identity) booked."""
        body = self._get("/appointments", params={"citizen_id": citizen_id})
        with parsing("appointments"):
            return [Appointment.from_json(item) for item in body["appointments"]]

    def cancel(self, code: str, citizen_id: str) -> Appointment:
        """NotFound when the code is unknown or was booked by someone else;
        Conflict when it is already cancelled."""
        body = self._post(f"/appointments/{segment(code)}/cancel", {"citizen_id": citizen_id})
        with parsing("appointments"):
            return Appointment.from_json(body)
