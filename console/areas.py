"""The service areas of areas.yml: which area a handoff goes to, and when each one attends."""
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from console.clock import BUENOS_AIRES

DAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
_DAY_ALIASES = {"miércoles": "miercoles", "sábado": "sabado"}


@dataclass(frozen=True)
class Window:
    """Some weekdays (0 = Monday), from ``start`` to ``end`` (minutes after midnight, local)."""

    days: Tuple[int, ...]
    start: int
    end: int

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start <= minute < self.end


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    topics: Tuple[str, ...]
    # empty: open 24 hours, every day
    hours: Tuple[Window, ...] = ()

    def open_at(self, moment: datetime) -> bool:
        if not self.hours:
            return True
        local = moment.astimezone(BUENOS_AIRES)
        return any(window.contains(local) for window in self.hours)


@dataclass(frozen=True)
class AreaBook:
    areas: Dict[str, Area]
    emergency: str
    default: str

    def for_handoff(self, emergency: bool, topic: Optional[str]) -> Area:
        if emergency:
            return self.areas[self.emergency]
        # the bot sends the intent it last understood: a topic, or "<topic>_…" (contract)
        for area in self.areas.values():
            if topic and any(topic == t or topic.startswith(t + "_") for t in area.topics):
                return area
        return self.areas[self.default]

    def name(self, key: str) -> str:
        area = self.areas.get(key)
        return area.name if area else key

    def ordered(self) -> List[Area]:
        return list(self.areas.values())


def _minutes(value: Any, where: str) -> int:
    try:
        hours, minutes = str(value).split(":")
        total = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ValueError(f"{where}: '{value}' is not HH:MM") from None
    if not 0 <= total <= 24 * 60 or int(minutes) >= 60:
        raise ValueError(f"{where}: '{value}' is not a time of day")
    return total


def _window(raw: Mapping[str, Any], where: str) -> Window:
    days = []
    for day in raw.get("dias") or DAYS:
        day = _DAY_ALIASES.get(str(day).lower(), str(day).lower())
        if day not in DAYS:
            raise ValueError(f"{where}: unknown day '{day}'")
        days.append(DAYS.index(day))
    start, end = _minutes(raw.get("desde", "00:00"), where), _minutes(raw.get("hasta", "24:00"), where)
    if end <= start:
        raise ValueError(f"{where}: 'hasta' must be after 'desde'")
    return Window(tuple(sorted(set(days))), start, end)


def parse_areas(data: Mapping[str, Any]) -> AreaBook:
    areas: Dict[str, Area] = {}
    for key, raw in (data.get("areas") or {}).items():
        raw = raw or {}
        hours = tuple(_window(w, f"areas.{key}.horario") for w in raw.get("horario") or ())
        areas[str(key)] = Area(str(key), str(raw.get("nombre") or key),
                               tuple(str(t) for t in raw.get("temas") or ()), hours)
    book = AreaBook(areas, str(data.get("emergencias")), str(data.get("predeterminada")))
    for role in ("emergencias", "predeterminada"):
        if str(data.get(role)) not in areas:
            raise ValueError(f"areas.yml: '{role}' must name one of the areas")
    return book


def load_areas(path: Path) -> AreaBook:
    return parse_areas(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
