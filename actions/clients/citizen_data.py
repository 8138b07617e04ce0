"""Client of the city's erasure of one citizen's records ("borrar mis datos")."""
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

import requests

from actions.clients._http import DEFAULT_TIMEOUT, HttpClient, Timeout, base_url_from_env, parsing

# The reference service's local default (city_services/config.py); deployments set the env.
LOCAL_OPERATOR_TOKEN = "dev-operator-token"


@dataclass(frozen=True)
class ErasedRecords:
    """How many records of each kind the city erased or stripped of personal data."""

    appointments: int
    service_requests: int
    incidents: int
    # answers kept for retries of writes (Idempotency-Key), deleted after a day by the purge
    idempotency_replays: int = 0

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ErasedRecords":
        return cls(
            appointments=int(data["appointments"]),
            service_requests=int(data["service_requests"]),
            incidents=int(data["incidents"]),
            idempotency_replays=int(data.get("idempotency_replays", 0)),
        )


class CitizenDataClient(HttpClient):
    """Erasure is an operator's power in the city systems: calls carry the operator token."""

    def __init__(
        self,
        base_url: str,
        operator_token: str,
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, session=session, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {operator_token}"}

    @classmethod
    def from_env(cls) -> "CitizenDataClient":
        token = os.environ.get("CITY_SERVICES_OPERATOR_TOKEN") or LOCAL_OPERATOR_TOKEN
        return cls(base_url_from_env(), token)

    def erase(self, citizen_id: str) -> ErasedRecords:
        body = self._request(
            "POST", "/citizens/erase", json={"citizen_id": citizen_id}, headers=self._headers
        )
        with parsing("citizen data erasure"):
            return ErasedRecords.from_json(body)

    def anonymise_older_than(self, days: int) -> ErasedRecords:
        body = self._request(
            "POST", "/retention/purge", json={"older_than_days": days}, headers=self._headers
        )
        with parsing("retention purge"):
            return ErasedRecords.from_json(body)
