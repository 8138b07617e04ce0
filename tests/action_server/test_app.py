"""The action server answers only to Rasa: token checks, malformed and oversized bodies."""
import json
import zlib

import pytest

from action_server.app import ActionServerSettings, MalformedActionCall, create_app, parse_action_call

TOKEN = "s3cret-action-token"


def _call(action: str = "action_list_appointments") -> dict:
    return {
        "next_action": action,
        "sender_id": "5491100000000",
        "tracker": {
            "sender_id": "5491100000000",
            "slots": {"dni": "30123456"},
            "latest_message": {"text": "mis turnos", "intent": {"name": "appointments_list"}},
            "events": [],
            "paused": False,
            "latest_input_channel": "whatsapp",
            "active_loop": {},
        },
        "domain": {},
        "version": "3.6.2",
    }


def _with_tracker(**fields) -> bytes:
    call = _call("validate_service_request_form")
    call["tracker"].update(fields)
    return json.dumps(call).encode()


# Found by bench/fuzz.py: rasa-sdk reads these without checking them (KeyError, AttributeError).
@pytest.mark.parametrize(
    "body",
    [_with_tracker(events=[{"timestamp": 1}]), _with_tracker(events=["x"]),
     _with_tracker(events=[{"event": 3}]), _with_tracker(latest_message={"intent": "greet"}),
     _with_tracker(latest_message={"entities": {}}), _with_tracker(active_loop="form"),
     _with_tracker(slots=None), _with_tracker(latest_message={"metadata": "whatsapp"}),
     json.dumps({**_call(), "version": ["3", "6"]}).encode(),
     json.dumps({**_call("validate_service_request_form"), "domain": {"slots": {"location": "text"}}}).encode(),
     json.dumps({**_call("validate_service_request_form"), "domain": {"forms": []}}).encode()],
    ids=["event-without-type", "event-not-object", "event-type-not-text", "intent-not-object",
         "entities-not-list", "active-loop-not-object", "slots-null",
         "metadata-not-object", "version-not-text", "domain-slot-not-object", "domain-forms-not-object"],
)
def test_a_tracker_rasa_would_never_send_gets_400(app, body):
    _, reply = app.test_client.post(f"/webhook?token={TOKEN}", data=body)
    assert reply.status == 400, reply.text


@pytest.fixture(scope="module")
def app():
    return create_app(ActionServerSettings(token=TOKEN, max_body_bytes=64 * 1024))


def test_health_needs_no_token(app):
    _, reply = app.test_client.get("/health")
    assert reply.status == 200


@pytest.mark.parametrize("query, status", [("", 401), ("?token=wrong", 403), ("?token=", 401)])
def test_a_call_without_rasas_token_is_refused(app, query, status):
    _, reply = app.test_client.post(f"/webhook{query}", data=json.dumps(_call()))
    assert reply.status == status, reply.text
    assert reply.json == {"error": "missing token" if status == 401 else "wrong token"}


def test_the_action_list_also_needs_the_token(app):
    _, reply = app.test_client.get("/actions")
    assert reply.status == 401
    _, reply = app.test_client.get(f"/actions?token={TOKEN}")
    assert reply.status == 200 and {"name": "action_list_appointments"} in reply.json


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'"x"', b"{}", json.dumps({"next_action": 3}).encode(),
     json.dumps({"next_action": "a", "tracker": []}).encode(),
     json.dumps({"next_action": "a", "tracker": {"sender_id": "1", "events": {}}}).encode(),
     b"[" * 50_000, "ñ".encode("latin-1")],
    ids=["not-json", "list", "string", "empty", "action-not-str", "tracker-list", "events-dict",
         "deep-nesting", "latin-1"],
)
def test_malformed_bodies_get_400_without_echo(app, body):
    _, reply = app.test_client.post(f"/webhook?token={TOKEN}", data=body)
    assert reply.status == 400, reply.text
    assert set(reply.json) == {"error"}


def test_an_oversized_body_gets_413(app):
    _, reply = app.test_client.post(f"/webhook?token={TOKEN}", data=b"{" + b" " * (65 * 1024) + b"}")
    assert reply.status == 413


def test_a_deflate_bomb_is_refused(app):
    bomb = zlib.compress(b'{"next_action": "' + b"a" * (10 * 1024 * 1024) + b'"}')
    _, reply = app.test_client.post(
        f"/webhook?token={TOKEN}", data=bomb, headers={"Content-Encoding": "deflate"}
    )
    assert reply.status == 400


def test_a_call_with_the_token_reaches_the_action(app):
    _, reply = app.test_client.post(f"/webhook?token={TOKEN}", data=json.dumps(_call("action_no_such_thing")))
    assert reply.status == 404  # rasa-sdk's answer for an unknown action: the call got through


def test_a_deflated_call_is_accepted():
    call = parse_action_call(zlib.compress(json.dumps(_call()).encode()), deflated=True, max_bytes=1 << 20)
    assert call["next_action"] == "action_list_appointments"
    with pytest.raises(MalformedActionCall):
        parse_action_call(b"not deflate", deflated=True, max_bytes=1 << 20)


def test_the_server_never_runs_without_a_token():
    with pytest.raises(ValueError):
        ActionServerSettings.from_env({})
    assert ActionServerSettings.from_env({"ACTION_SERVER_TOKEN": "x"}).interface == "127.0.0.1"


def test_a_deflated_call_reaches_the_action(app):
    body = zlib.compress(json.dumps(_call("action_no_such_thing")).encode())
    _, reply = app.test_client.post(f"/webhook?token={TOKEN}", data=body, headers={"Content-Encoding": "deflate"})
    assert reply.status == 404, reply.text  # rasa-sdk's answer for an unknown action: the call got through
