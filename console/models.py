"""Typed records of the console: what the store returns and what the API parses into."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

from console.queue import Viewer

KINDS = ("text", "image", "location", "audio", "document", "video", "sticker", "other")
COLLECTED_FIELDS = ("incident_number", "emergency_type", "address", "latitude", "longitude",
                    "people_in_danger", "description")


@dataclass(frozen=True)
class Operator:
    id: int
    username: str
    role: str
    areas: Tuple[str, ...]
    active: bool

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.id, self.role, self.areas)


@dataclass(frozen=True)
class Handoff:
    id: int
    citizen_id: str
    channel: str
    reason: str
    topic: Optional[str]
    area: str
    priority: int
    status: str
    operator_id: Optional[int]
    operator_username: Optional[str]
    summary: Optional[str]
    collected: Dict[str, Any]
    created_at: datetime
    taken_at: Optional[datetime]
    ended_at: Optional[datetime]
    last_citizen_at: Optional[datetime]
    wait_notice_at: Optional[datetime]


@dataclass(frozen=True)
class Message:
    id: int
    handoff_id: int
    at: datetime
    direction: str
    kind: str
    text: Optional[str]
    media_ref: Optional[str]
    mime_type: Optional[str]
    latitude: Optional[float]
    longitude: Optional[float]
    operator_id: Optional[int]
    external_id: Optional[str]


@dataclass(frozen=True)
class IncomingMessage:
    """One history item or new message, as the bot sends it (validated)."""

    at: datetime
    direction: str
    kind: str
    text: Optional[str] = None
    media_ref: Optional[str] = None
    mime_type: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    external_id: Optional[str] = None


@dataclass(frozen=True)
class HandoffRequest:
    citizen_id: str
    channel: str
    reason: str
    topic: Optional[str] = None
    people_in_danger: Optional[bool] = None
    summary: Optional[str] = None
    collected: Dict[str, Any] = field(default_factory=dict)
    history: Tuple[IncomingMessage, ...] = ()
