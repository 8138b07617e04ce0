"""Client of the operators' queue, kept by the operators' console (``console/``).

Its internal API takes the bot's handoffs behind a bearer token
(``CONSOLE_API_TOKEN``): the queue holds citizens' phone numbers, messages and photos.
"""
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import requests

from actions.clients._http import DEFAULT_TIMEOUT, HttpClient, Timeout, parsing

DEFAULT_CONSOLE_URL = "http://127.0.0.1:5060"

CITIZEN_REQUEST, EMERGENCY, FALLBACK = "citizen_request", "emergency", "fallback"

# the console's limits (console/validation.py): a citizen's long message or a long typed address
# is cut here, so that an emergency is never refused for its length
MAX_TEXT = 4096
COLLECTED_LIMITS = {"incident_number": 64, "emergency_type": 64, "address": 300, "description": MAX_TEXT}
ITEM_LIMITS = {"text": MAX_TEXT, "media_ref": 1024, "mime_type": 100, "external_id": 200}


def _cut(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value


@dataclass(frozen=True)
class HistoryItem:
    """One message of the conversation so far, as the operator will read it."""

    at: str
    direction: str  # "citizen" | "bot"
    kind: str  # "text" | "image" | "location" | ...
    text: Optional[str] = None
    media_ref: Optional[str] = None
    mime_type: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    external_id: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        return {k: _cut(v, ITEM_LIMITS.get(k, MAX_TEXT)) for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class HandoffRequest:
    citizen_id: str
    channel: str
    reason: str
    topic: Optional[str] = None
    people_in_danger: Optional[bool] = None
    summary: Optional[str] = None
    collected: Dict[str, Any] = field(default_factory=dict)
    history: Tuple[HistoryItem, ...] = ()

    def as_json(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {
            "citizen_id": self.citizen_id,
            "channel": self.channel,
            "reason": self.reason,
            "history": [item.as_json() for item in self.history],
        }
        for name in ("topic", "people_in_danger", "summary"):
            if getattr(self, name) is not None:
                body[name] = _cut(getattr(self, name), 64 if name == "topic" else MAX_TEXT)
        collected = {k: _cut(v, COLLECTED_LIMITS.get(k, MAX_TEXT)) for k, v in self.collected.items() if v is not None}
        if collected:
            body["collected"] = collected
        return body


@dataclass(frozen=True)
class QueuedHandoff:
    id: str
    status: str
    area: str
    area_name: str
    priority: int
    # inside the area's service hours: someone is expected to answer soon
    open_now: bool
    waiting_ahead: int

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "QueuedHandoff":
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            area=str(data["area"]),
            area_name=str(data.get("area_name") or data["area"]),
            priority=int(data["priority"]),
            open_now=bool(data.get("open_now", True)),
            waiting_ahead=int(data.get("waiting_ahead") or 0),
        )


class HandoffsClient(HttpClient):
    def __init__(
        self,
        base_url: str,
        token: str = "",
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, session=session, timeout=timeout)
        self._token = token

    @classmethod
    def from_env(cls) -> "HandoffsClient":
        url = os.environ.get("CONSOLE_URL") or DEFAULT_CONSOLE_URL
        return cls(url.rstrip("/"), os.environ.get("CONSOLE_API_TOKEN", ""))

    def _headers(self, idempotency_key: Optional[str] = None) -> Dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def request(self, handoff: HandoffRequest, idempotency_key: Optional[str] = None) -> QueuedHandoff:
        """Queues the conversation (or joins the citizen's open one: the console keeps one)."""
        body = self._request(
            "POST", "/api/handoffs", json=handoff.as_json(), headers=self._headers(idempotency_key)
        )
        with parsing("handoffs"):
            return QueuedHandoff.from_json(body)

    def erase(self, citizen_id: str) -> int:
        """Deletes the citizen's handoffs, messages and photos; how many handoffs there were."""
        body = self._request(
            "POST", "/api/citizens/erase", json={"citizen_id": citizen_id}, headers=self._headers()
        )
        with parsing("handoffs erasure"):
            return int(body["handoffs"])

    def purge_older_than(self, days: int) -> int:
        """Deletes the handoffs that ended more than ``days`` ago; how many (``make purge``)."""
        body = self._request(
            "POST", "/api/retention/purge", json={"older_than_days": days}, headers=self._headers()
        )
        with parsing("handoffs purge"):
            return int(body["handoffs"])
