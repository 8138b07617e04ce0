"""Client of the operators' queue (derivación a una persona)."""
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Optional

from actions.clients._http import HttpClient, parse_datetime, parsing


@dataclass(frozen=True)
class Handoff:
    id: str
    status: str  # "open" | "taken" | "closed"
    created_at: datetime

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Handoff":
        return cls(
            id=str(data["id"]),
            status=data["status"],
            created_at=parse_datetime(data["created_at"]),
        )


class HandoffsClient(HttpClient):
    def request(
        self,
        citizen_id: str,
        reason: str,
        channel: str,
        summary: str,
        idempotency_key: Optional[str] = None,
    ) -> Handoff:
        body = self._post(
            "/handoffs",
            {"citizen_id": citizen_id, "reason": reason, "channel": channel, "summary": summary},
            idempotency_key=idempotency_key,
        )
        with parsing("handoffs"):
            return Handoff.from_json(body)
