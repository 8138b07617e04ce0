from datetime import datetime, timezone

import pytest

from console import queue
from console.areas import load_areas, parse_areas
from console.config import ConsoleSettings
from console.queue import Viewer


@pytest.mark.parametrize("reason, in_danger, expected", [
    ("emergency", True, 0),
    ("emergency", False, 1),
    ("emergency", None, 1),
    ("citizen_request", True, 2),
    ("fallback", None, 2),
])
def test_priority_for(reason, in_danger, expected):
    assert queue.priority_for(reason, in_danger) == expected


def test_order_is_priority_then_oldest_first():
    keys = [(2, "2026-12-02T10:00:00.000000Z", 1), (1, "2026-12-02T12:00:00.000000Z", 2),
            (0, "2026-12-02T13:00:00.000000Z", 3), (1, "2026-12-02T11:00:00.000000Z", 4)]
    ordered = sorted(keys, key=lambda k: queue.order_key(*k))
    assert ordered == [keys[2], keys[3], keys[1], keys[0]]
    assert queue.waiting_ahead(keys[1], keys) == 2
    # created in the same instant: the first one in goes first
    assert queue.order_key(2, "2026-12-02T10:00:00.000000Z", 7) < queue.order_key(2, "2026-12-02T10:00:00.000000Z", 8)


def test_who_may_take_and_act():
    alice = Viewer(1, "operator", ("transito",))
    bob = Viewer(2, "operator", ("transito",))
    boss = Viewer(3, "supervisor", ())
    assert queue.may_take(alice, "transito", "queued", None) is None
    assert queue.may_take(alice, "reclamos", "queued", None) == "not_found"
    assert queue.may_take(bob, "transito", "held", 1) == "already_held"
    assert queue.may_take(alice, "transito", "closed", None) == "not_open"
    assert queue.may_act(alice, "transito", "held", 1, "reply") is None
    assert queue.may_act(bob, "transito", "held", 1, "reply") == "already_held"
    assert queue.may_act(bob, "transito", "queued", None, "close") == "not_holder"
    assert queue.may_act(boss, "reclamos", "held", 1, "close") is None
    assert queue.may_act(boss, "reclamos", "held", 1, "reply") == "already_held"


def test_shipped_areas_route_every_topic_once():
    book = load_areas(ConsoleSettings().areas_file)
    topics = [t for area in book.ordered() for t in area.topics]
    assert len(topics) == len(set(topics)), "a topic belongs to one area only"
    assert {"infractions", "linea_144", "appointments", "education", "service_requests"} <= set(topics)
    assert book.for_handoff(True, "infractions").key == book.emergency == "defensa_civil"
    assert book.for_handoff(False, "linea_144").key == "violencia_genero"
    assert book.for_handoff(False, None).key == book.default == "atencion_general"
    assert all(not area.hours for area in book.ordered()), "no invented schedules: open 24 h"


def test_service_hours_in_buenos_aires_time(areas):
    education = areas.areas["educacion"]
    # Wednesday 10:59 UTC = 07:59 in Buenos Aires: closed; 11:00 UTC = 08:00: open
    assert not education.open_at(datetime(2026, 12, 2, 10, 59, tzinfo=timezone.utc))
    assert education.open_at(datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc))
    assert not education.open_at(datetime(2026, 12, 2, 21, 0, tzinfo=timezone.utc))  # 18:00 local
    # Saturday noon: closed; an area without hours is open
    assert not education.open_at(datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc))
    assert areas.areas["transito"].open_at(datetime(2026, 12, 5, 5, 0, tzinfo=timezone.utc))


@pytest.mark.parametrize("bad", [
    {"emergencias": "nope", "predeterminada": "a", "areas": {"a": {"nombre": "A"}}},
    {"emergencias": "a", "predeterminada": "a",
     "areas": {"a": {"horario": [{"dias": ["lunes"], "desde": "18:00", "hasta": "08:00"}]}}},
    {"emergencias": "a", "predeterminada": "a", "areas": {"a": {"horario": [{"dias": ["funday"]}]}}},
])
def test_bad_area_files_are_refused(bad):
    with pytest.raises(ValueError):
        parse_areas(bad)
