"""Client of the city's traffic-fines system (infracciones, libre deuda)."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, List, Optional

from actions.clients._http import (
    HttpClient,
    parse_date,
    parse_datetime,
    segment,
    parsing,
)


@dataclass(frozen=True)
class Infraction:
    id: str
    plate: str
    date: datetime
    place: str
    reason: str
    amount: Decimal
    status: str  # "pending" | "paid" | "disputed"
    due_date: date

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Infraction":
        return cls(
            id=str(data["id"]),
            plate=data["plate"],
            date=parse_datetime(data["date"]),
            place=data["place"],
            reason=data["reason"],
            amount=Decimal(str(data["amount"])),
            status=data["status"],
            due_date=parse_date(data["due_date"]),
        )


@dataclass(frozen=True)
class Certificate:
    code: str
    issued_at: datetime
    pdf_url: str

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Certificate":
        return cls(
            code=data["code"],
            issued_at=parse_datetime(data["issued_at"]),
            pdf_url=data["pdf_url"],
        )


def _subject(plate: Optional[str], dni: Optional[str]) -> Dict[str, Optional[str]]:
    if not plate and not dni:
        raise ValueError("plate or dni is required")
    return {"plate": plate or None, "dni": dni or None}


class InfractionsClient(HttpClient):
    def find(self, plate: Optional[str] = None, dni: Optional[str] = None) -> List[Infraction]:
        body = self._get("/infractions", params=_subject(plate, dni))
        with parsing("infractions"):
            return [Infraction.from_json(item) for item in body["infractions"]]

    def issue_certificate(
        self,
        plate: Optional[str] = None,
        dni: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Certificate:
        """Conflict when there is pending debt."""
        body = self._post("/certificates", _subject(plate, dni), idempotency_key=idempotency_key)
        with parsing("infractions"):
            return Certificate.from_json(body)

    def verify_certificate(self, code: str) -> Certificate:
        with parsing("infractions"):
            return Certificate.from_json(self._get(f"/certificates/{segment(code)}"))
