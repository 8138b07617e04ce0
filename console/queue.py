"""Queue rules, pure logic: priorities, order, who may see and act on a handoff.

Priority 0 is an emergency with people in danger, 1 any other emergency, 2 the rest;
within a priority the one waiting longest goes first.
"""
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

PEOPLE_IN_DANGER, EMERGENCY, ROUTINE = 0, 1, 2
REASONS = ("citizen_request", "emergency", "fallback")
OPEN_STATUSES = ("queued", "held")
OPERATOR, SUPERVISOR = "operator", "supervisor"


def priority_for(reason: str, people_in_danger: Optional[bool]) -> int:
    if reason != "emergency":
        return ROUTINE
    return PEOPLE_IN_DANGER if people_in_danger else EMERGENCY


def order_key(priority: int, created_at: str, handoff_id: int = 0) -> Tuple[int, str, int]:
    """Sort key: priority ascending, then oldest first (created_at is fixed-width UTC text);
    the id breaks ties of handoffs created in the same microsecond."""
    return (priority, created_at, handoff_id)


@dataclass(frozen=True)
class Viewer:
    """An operator as the rules see them."""

    id: int
    role: str
    areas: Tuple[str, ...]

    @property
    def is_supervisor(self) -> bool:
        return self.role == SUPERVISOR

    def sees_area(self, area: str) -> bool:
        return self.is_supervisor or area in self.areas

    def visible_areas(self, all_areas: Iterable[str]) -> List[str]:
        return [a for a in all_areas if self.sees_area(a)]


def may_take(viewer: Viewer, area: str, status: str, holder: Optional[int]) -> Optional[str]:
    """None when ``viewer`` may take the handoff, else the refusal's message code."""
    if not viewer.sees_area(area):
        return "not_found"
    if status not in OPEN_STATUSES:
        return "not_open"
    if status == "held" and holder != viewer.id:
        return "already_held"
    return None


def may_act(viewer: Viewer, area: str, status: str, holder: Optional[int], action: str) -> Optional[str]:
    """None when ``viewer`` may reply / hand back / transfer / close, else the refusal's code.

    Only the holder may reply; supervisors may also hand back, transfer and close
    conversations they do not hold (e.g. one left held by someone who went home)."""
    if not viewer.sees_area(area):
        return "not_found"
    if status not in OPEN_STATUSES:
        return "not_open"
    if holder == viewer.id and status == "held":
        return None
    if viewer.is_supervisor and action != "reply":
        return None
    return "not_holder" if status == "queued" else "already_held"


def waiting_ahead(own: Tuple[int, str, int], queued: Sequence[Tuple[int, str, int]]) -> int:
    """How many queued handoffs of the same area go before one with sort key ``own``."""
    return sum(1 for key in queued if key < own)
