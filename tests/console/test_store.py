"""The store on SQLite and, once, on the local PostgreSQL (which must be up)."""
from datetime import datetime, timedelta, timezone

import pytest

from city_services.db import UniqueViolation
from console.clock import to_text
from console.models import HandoffRequest, IncomingMessage
from console.store import Refused
from tests.console.conftest import add_operator

T0 = datetime(2026, 12, 2, 14, 50, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


def say(text, minutes=0, direction="citizen", external_id=None, kind="text"):
    return IncomingMessage(at=T0 + timedelta(minutes=minutes), direction=direction, kind=kind,
                           text=text, external_id=external_id)


def request_for(citizen="5491100000001", reason="citizen_request", history=(), **kwargs):
    return HandoffRequest(citizen_id=citizen, channel="whatsapp", reason=reason, history=tuple(history),
                          **kwargs)


def audit_actions(store):
    return [row["action"] for row in reversed(store.latest_audit())]


def test_one_open_handoff_per_citizen_and_merge(any_store):
    first, created, ahead = any_store.open_handoff(
        request_for(history=[say("hola", 0, external_id="wamid.1"), say("¿en qué te ayudo?", 1, "bot")],
                    collected={"address": "Av. de Mayo 525"}), "transito", 2, True)
    assert created and first.status == "queued" and ahead == 0
    again, created, _ = any_store.open_handoff(
        request_for(reason="emergency", history=[say("hola", 0, external_id="wamid.1"),
                                                 say("¿en qué te ayudo?", 1, "bot"),
                                                 say("se inunda la casa", 2, external_id="wamid.2")],
                    collected={"people_in_danger": True}), "defensa_civil", 0, True)
    assert not created and again.id == first.id
    assert (again.priority, again.reason, again.area) == (0, "emergency", "defensa_civil")
    assert again.collected == {"address": "Av. de Mayo 525", "people_in_danger": True}
    texts = [m.text for m in any_store.messages(first.id)]
    assert texts == ["hola", "¿en qué te ayudo?", "se inunda la casa"], "no duplicates, in order"
    assert again.last_citizen_at == T0 + timedelta(minutes=2)
    # a merge never lowers the priority
    lower, _, _ = any_store.open_handoff(request_for(), "transito", 2, True)
    assert lower.priority == 0 and lower.area == "defensa_civil"
    assert audit_actions(any_store) == ["handoff_created", "handoff_merged", "handoff_merged"]


def test_the_database_refuses_a_second_open_handoff(any_store):
    handoff, _, _ = any_store.open_handoff(request_for(), "transito", 2, True)
    with pytest.raises(UniqueViolation):
        with any_store.database.transaction(write=True) as cur:
            cur.execute("INSERT INTO handoffs (citizen_id, channel, reason, area, priority, status, created_at) "
                        "VALUES (?, 'whatsapp', 'fallback', 'transito', 2, 'queued', ?)",
                        (handoff.citizen_id, to_text(T0)))


def test_queue_order_and_waiting_ahead(any_store, clock):
    ids = {}
    for citizen, priority in (("a", 2), ("b", 1), ("c", 2), ("d", 0)):
        handoff, _, ahead = any_store.open_handoff(request_for(citizen), "transito", priority, True)
        ids[citizen] = handoff.id
        clock.advance(minutes=1)
    assert [h.citizen_id for h in any_store.open_handoffs()] == ["d", "b", "a", "c"]
    _, _, ahead = any_store.open_handoff(request_for("e"), "transito", 2, True)
    assert ahead == 4
    _, _, ahead = any_store.open_handoff(request_for("f"), "reclamos", 2, True)
    assert ahead == 0, "other areas' queues do not count"
    assert [h.citizen_id for h in any_store.open_handoffs(["reclamos"])] == ["f"]
    alice = add_operator(any_store, "alice", areas=["transito"])
    any_store.take(ids["c"], alice.viewer)
    again, created, ahead = any_store.open_handoff(request_for("c"), "transito", 2, True)
    assert (again.status, created, ahead) == ("held", False, 0), "someone is already on it"


def test_one_holder_at_a_time_and_actions_are_audited(any_store):
    alice = add_operator(any_store, "alice", areas=["transito"])
    bob = add_operator(any_store, "bob", areas=["transito"])
    boss = add_operator(any_store, "boss", role="supervisor")
    handoff, _, _ = any_store.open_handoff(request_for(), "transito", 2, True)
    held = any_store.take(handoff.id, alice.viewer)
    assert (held.status, held.operator_username) == ("held", "alice")
    with pytest.raises(Refused) as refused:
        any_store.take(handoff.id, bob.viewer)
    assert refused.value.code == "already_held"
    with pytest.raises(Refused):
        any_store.record_reply(handoff.id, bob.viewer, "text", "hola", None, None, None, "")
    any_store.record_reply(handoff.id, alice.viewer, "text", "Hola, soy Alicia", None, None, "wamid.X", "")
    moved = any_store.transfer(handoff.id, alice.viewer, "reclamos")
    assert (moved.status, moved.area, moved.operator_id) == ("queued", "reclamos", None)
    with pytest.raises(Refused) as refused:
        any_store.take(handoff.id, alice.viewer)
    assert refused.value.code == "not_found", "outside alice's areas now"
    closed = any_store.end(handoff.id, boss.viewer, "closed")
    assert closed.status == "closed" and closed.ended_at is not None
    with pytest.raises(Refused):
        any_store.end(handoff.id, boss.viewer, "returned")
    assert audit_actions(any_store)[-5:] == ["handoff_created", "take", "reply", "transfer", "close"]
    kinds = [m.text for m in any_store.messages(handoff.id) if m.direction == "system"]
    assert kinds == ["taken", "transferred:reclamos", "closed"]
    changes = any_store.changes_after(0)
    assert [c["kind"] for c in changes] == ["created", "taken", "message", "transferred", "transferred",
                                            "closed"]
    assert {c["area"] for c in changes if c["kind"] == "transferred"} == {"transito", "reclamos"}


def test_citizen_messages_and_emergency_raise(any_store):
    assert any_store.append_citizen_message("nobody", say("hola"), False, "defensa_civil") is None
    handoff, _, _ = any_store.open_handoff(request_for(), "transito", 2, True)
    item = say("hay un incendio", 15, external_id="wamid.9")
    assert any_store.append_citizen_message(handoff.citizen_id, item, True, "defensa_civil") == handoff.id
    assert any_store.append_citizen_message(handoff.citizen_id, item, True, "defensa_civil") == handoff.id
    raised = any_store.handoff(handoff.id)
    assert (raised.priority, raised.reason, raised.area) == (1, "emergency", "defensa_civil")
    assert raised.last_citizen_at == T0 + timedelta(minutes=15)
    assert [m.text for m in any_store.messages(handoff.id)] == ["hay un incendio"], "stored once"


def test_wait_notices_once(any_store, clock):
    early, _, _ = any_store.open_handoff(request_for("a"), "transito", 2, True)
    clock.advance(minutes=5)
    any_store.open_handoff(request_for("b"), "transito", 2, True)
    closed_area, _, _ = any_store.open_handoff(request_for("c"), "educacion", 2, False)
    assert closed_area.wait_notice_at is not None, "told at once outside service hours"
    due = any_store.due_wait_notices(to_text(clock() - timedelta(minutes=5)))
    assert [h.citizen_id for h in due] == ["a"]
    assert any_store.claim_wait_notice(early.id)
    assert not any_store.claim_wait_notice(early.id), "one console process only"
    any_store.release_wait_notice(early.id)
    assert any_store.claim_wait_notice(early.id)
    any_store.record_wait_notice(early.id, "utter_handoff_wait_timeout")
    assert any_store.handoff(early.id).status == "queued"
    assert audit_actions(any_store)[-1] == "wait_notice"


def test_housekeeping_prunes_old_changes_and_dead_sessions(any_store, clock):
    operator = add_operator(any_store, "alice")
    any_store.open_handoff(request_for(), "transito", 2, True)
    any_store.create_session(operator.id, "old", "csrf")
    clock.advance(hours=2)
    any_store.create_session(operator.id, "fresh", "csrf")
    any_store.prune(to_text(clock()), to_text(clock() - timedelta(minutes=30)),
                    to_text(clock() - timedelta(hours=12)))
    assert any_store.changes_after(0) == []
    assert any_store.session("old") is None and any_store.session("fresh") is not None


def test_parallel_guesses_cannot_slip_past_the_lock_out(any_store):
    """Found by a hostile review: 40 guesses at once got 32 password checks; now at most 5."""
    from concurrent.futures import ThreadPoolExecutor

    add_operator(any_store, "bruno")
    with ThreadPoolExecutor(max_workers=8) as pool:
        booked = list(pool.map(lambda _: any_store.book_login_attempt("bruno", 5, timedelta(minutes=15)), range(40)))
    assert booked.count(True) == 5
    assert any_store.locked_until("bruno") is not None


def test_operators_logins_and_sessions(any_store, clock):
    add_operator(any_store, "alice", areas=["transito", "reclamos"])
    with pytest.raises(Refused) as refused:
        add_operator(any_store, "alice")
    assert refused.value.code == "username_taken"
    operator, stored = any_store.credentials("alice")
    assert operator.areas == ("transito", "reclamos") and stored.startswith("scrypt$")
    lock = timedelta(minutes=15)
    for _ in range(4):
        assert any_store.book_login_attempt("alice", 5, lock)
        assert not any_store.record_login_failure("alice", 5, lock)
    assert any_store.book_login_attempt("alice", 5, lock)
    assert any_store.record_login_failure("alice", 5, lock)
    assert any_store.locked_until("alice") == to_text(clock() + lock)
    assert not any_store.book_login_attempt("alice", 5, lock), "locked"
    clock.advance(minutes=16)
    assert any_store.book_login_attempt("alice", 5, lock), "the lock ran out"
    any_store.clear_login_failures("alice")
    any_store.create_session(operator.id, "hash", "csrf")
    assert any_store.session("hash")["operator"].username == "alice"
    any_store.deactivate(operator.id, operator.id)
    assert any_store.session("hash") is None, "deactivation ends the sessions"


def test_races_leave_one_handoff_and_one_holder(any_store):
    from concurrent.futures import ThreadPoolExecutor

    operators = [add_operator(any_store, f"op{i}", areas=["transito"]) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        opened = list(pool.map(lambda i: any_store.open_handoff(
            request_for(history=[say(f"mensaje {i}", i, external_id=f"wamid.{i}")]), "transito", 2, True),
            range(6)))
    assert len({handoff.id for handoff, _, _ in opened}) == 1
    assert sum(created for _, created, _ in opened) == 1
    handoff_id = opened[0][0].id
    assert len(any_store.messages(handoff_id)) == 6

    def take(operator):
        try:
            any_store.take(handoff_id, operator.viewer)
            return operator.id
        except Refused as refused:
            assert refused.code == "already_held"
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        winners = [w for w in pool.map(take, operators) if w is not None]
    assert len(winners) == 1 and any_store.handoff(handoff_id).operator_id == winners[0]
