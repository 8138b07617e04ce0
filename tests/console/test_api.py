"""The internal API through the real app on a free port."""
import pytest
import requests

from tests.console.conftest import API_TOKEN


def test_health_needs_no_token_and_carries_security_headers(console):
    answer = requests.get(console.url("/api/health"), timeout=5)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert answer.headers["Content-Security-Policy"] == \
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/api/handoffs", "/api/handoffs/messages"])
def test_token_missing_is_401_and_wrong_is_403(console, path):
    missing = console.api("POST", path, {}, token=None)
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    wrong = console.api("POST", path, {}, token="not-the-token")
    assert wrong.status_code == 403 and wrong.json()["error"] == "forbidden"
    assert wrong.json()["message"], "a Spanish message for people"


@pytest.mark.parametrize("body", [
    [],
    {"channel": "whatsapp", "reason": "citizen_request"},
    {"citizen_id": "x" * 161, "channel": "whatsapp", "reason": "citizen_request"},
    {"citizen_id": 5491100000001, "channel": "whatsapp", "reason": "citizen_request"},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "boredom"},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "emergency", "people_in_danger": "sí"},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback", "summary": "x" * 4097},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback", "collected": {"latitude": 100}},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback", "collected": {"phone": "1"}},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback", "history": {"at": 1}},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback",
     "history": [{"at": "2026-12-02T12:00:00Z", "direction": "citizen", "kind": "text"}] * 201},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback",
     "history": [{"at": "ayer", "direction": "citizen", "kind": "text"}]},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback",
     "history": [{"at": "2026-12-02T12:00:00Z", "direction": "operator", "kind": "text"}]},
    {"citizen_id": "1", "channel": "whatsapp", "reason": "fallback",
     "history": [{"at": "2026-12-02T12:00:00Z", "direction": "citizen", "kind": "hologram"}]},
])
def test_bad_shapes_are_400(console, body):
    answer = console.api("POST", "/api/handoffs", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request" and answer.json()["message"]


def test_not_json_is_400_and_over_one_mib_is_413(console):
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    answer = requests.post(console.url("/api/handoffs"), data=b"{nope", headers=headers, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_json"
    big = b'{"citizen_id": "1", "summary": "' + b"x" * (1024 * 1024) + b'"}'
    answer = requests.post(console.url("/api/handoffs"), data=big, headers=headers, timeout=10)
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"


def test_open_merge_and_answer_shape(console):
    history = [{"at": "2026-12-02T14:58:00Z", "direction": "citizen", "kind": "text", "text": "quiero hablar con alguien",
                "external_id": "wamid.A"},
               {"at": "2026-12-02T14:58:01Z", "direction": "bot", "kind": "text", "text": "Te paso con una persona"}]
    first = console.api("POST", "/api/handoffs", {"citizen_id": "5491100000001", "channel": "whatsapp",
                                                  "reason": "citizen_request", "topic": "infractions",
                                                  "history": history})
    assert first.status_code == 201
    assert first.json() == {"id": first.json()["id"], "status": "queued", "area": "transito",
                            "area_name": "Tránsito", "priority": 2, "open_now": True, "waiting_ahead": 0}
    other = console.handoff("5491100000002", topic="vtv")
    assert other["waiting_ahead"] == 1
    emergency = console.api("POST", "/api/handoffs", {
        "citizen_id": "5491100000001", "channel": "whatsapp", "reason": "emergency",
        "collected": {"people_in_danger": True, "emergency_type": "inundacion", "address": "Perú 160"},
        "history": history + [{"at": "2026-12-02T14:59:00Z", "direction": "citizen", "kind": "location",
                               "latitude": -34.6, "longitude": -58.37, "external_id": "wamid.B"}]})
    assert emergency.status_code == 200
    assert emergency.json()["id"] == first.json()["id"]
    assert (emergency.json()["priority"], emergency.json()["area"]) == (0, "defensa_civil")
    kinds = [m.kind for m in console.store.messages(first.json()["id"])]
    assert kinds == ["text", "text", "location"]


def test_outside_service_hours_the_bot_tells_the_citizen(console, clock):
    clock.advance(days=3)  # Saturday
    answer = console.handoff("5491100000003", topic="education")
    assert (answer["area"], answer["open_now"]) == ("educacion", False)
    assert console.store.handoff(answer["id"]).wait_notice_at == clock()


def test_citizen_messages(console):
    message = {"at": "2026-12-02T15:01:00Z", "kind": "image", "media_ref": "/tmp/x.jpg",
               "mime_type": "image/jpeg", "external_id": "wamid.P"}
    missing = console.api("POST", "/api/handoffs/messages", {"citizen_id": "nobody", "message": message})
    assert missing.status_code == 404 and missing.json()["error"] == "no_open_handoff"
    handoff = console.handoff("5491100000004", topic="service_requests")
    for already in (False, True):  # a redelivery is stored once
        answer = console.api("POST", "/api/handoffs/messages",
                             {"citizen_id": "5491100000004", "emergency": True, "message": message})
        # the first emergency message makes it an emergency handoff: the connector then knows
        # the citizen already had the life-safety numbers
        assert answer.status_code == 202
        assert answer.json() == {"handoff_id": handoff["id"], "already_emergency": already}
    stored = console.store.handoff(handoff["id"])
    assert (stored.priority, stored.reason) == (1, "emergency")
    assert len(console.store.messages(handoff["id"])) == 1
    bad = console.api("POST", "/api/handoffs/messages", {"citizen_id": "5491100000004", "message": {"kind": "text"}})
    assert bad.status_code == 400


def test_forget_erases_every_handoff_of_the_citizen(console):
    from tests.console.conftest import add_operator

    alice = add_operator(console.store, "alice", areas=["transito"])
    first = console.handoff("5491100000005", topic="infractions", history=[
        {"at": "2026-12-02T14:55:00Z", "direction": "citizen", "kind": "text", "text": "mi DNI es 12345678"}])
    console.store.take(first["id"], alice.viewer)
    console.store.end(first["id"], alice.viewer, "closed")
    second = console.handoff("5491100000005", topic="infractions")
    other = console.handoff("5491100000006", topic="infractions")
    assert console.api("POST", "/api/citizens/erase", {"citizen_id": "5491100000005"}, token=None).status_code == 401
    answer = console.api("POST", "/api/citizens/erase", {"citizen_id": "5491100000005"})
    assert answer.status_code == 200 and answer.json() == {"handoffs": 2}
    assert console.store.handoff(first["id"]) is None and console.store.handoff(second["id"]) is None
    assert console.store.messages(first["id"]) == []
    assert console.store.handoff(other["id"]) is not None
    assert console.api("POST", "/api/citizens/erase", {"citizen_id": "5491100000005"}).json() == {"handoffs": 0}
    assert console.api("POST", "/api/citizens/erase", {"citizen_id": 5}).status_code == 400


# --- found by a hostile review: inputs that must not break the queue for everyone ----------


@pytest.mark.parametrize("at", ["0005-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", -62135596800,
                                "9999-12-31T23:59:59Z"])
def test_a_message_time_far_from_now_is_stored_as_now_and_breaks_no_page(console, at):
    from tests.console.conftest import add_operator

    add_operator(console.store, "jefa", role="supervisor")
    citizen = "5491100000777"
    handoff = console.handoff(citizen)
    answer = console.api("POST", "/api/handoffs/messages",
                         {"citizen_id": citizen, "message": {"at": at, "kind": "text", "text": "hola"}})
    assert answer.status_code == 202, answer.text
    stored = console.store.messages(handoff["id"])[-1]
    assert abs((stored.at - console.store.clock()).days) <= 400
    boss = console.login("jefa")
    for path in ("/", "/fragments/queue", f"/conversations/{handoff['id']}"):
        assert boss.get(path).status_code == 200, path


def test_json_nested_beyond_recursion_is_a_400(console):
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = requests.post(console.url("/api/handoffs"), data=deep, timeout=10,
                           headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_json"


def test_a_lone_surrogate_is_a_400_not_a_database_error(console):
    raw = b'{"citizen_id": "5491100000888", "channel": "whatsapp", "reason": "citizen_request", "summary": "a\\ud800b"}'
    answer = requests.post(console.url("/api/handoffs"), data=raw, timeout=10,
                           headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
