"""Black-box reproductions of issue 14 against the servers as `make run` starts them.

The stack is ``scripts/run.sh`` itself, run once for the module from a copy of the project (so its
``var/`` — tracker, secrets, logs — is private) on free ports, with ``MODEL=`` so that it never
trains. Each test passes only when the reproduction is refused.
"""
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
import requests
import yaml

from tests.fixtures.city_services import free_port
from tests.fixtures.project import project_copy, run_script, run_script_env

ROOT = Path(__file__).resolve().parents[2]
WA_ID = "5491155550101"
STARTUP_TIMEOUT_S = 420
pytestmark = pytest.mark.model

@dataclass
class Stack:
    root: Path
    rasa: str
    actions: str
    city_services: str
    ports: List[int]
    log: Path

    def secret(self, name: str) -> str:
        return (self.root / "var" / "secrets" / name).read_text().strip()

    @property
    def api_token(self) -> str:
        return self.secret("rasa_api_token")

    def tracker(self, sender: str) -> dict:
        reply = requests.get(f"{self.rasa}/conversations/{sender}/tracker", params={"token": self.api_token}, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def rest(self, body: object, **kwargs) -> requests.Response:
        return requests.post(f"{self.rasa}/webhooks/rest/webhook", json=body, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def stack(trained_model: Path, tmp_path_factory) -> Iterator[Stack]:
    root = project_copy(tmp_path_factory.mktemp("stack") / "vecino")
    ports = []
    while len(ports) < 5:
        port = free_port()
        if port not in ports:
            ports.append(port)
    rasa_port, actions_port, city_port, webhook_port, console_port = ports
    log = root / "run.log"
    env = run_script_env(
        MODEL=str(trained_model), RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port),
        CITY_SERVICES_PORT=str(city_port), CONSOLE_PORT=str(console_port),
        # the WhatsApp channel too, so that its own webhook port is checked (nothing is sent to Meta)
        WHATSAPP_APP_SECRET="test-app-secret", WHATSAPP_ACCESS_TOKEN="test-access-token",
        WHATSAPP_VERIFY_TOKEN="test-verify-token", WHATSAPP_PHONE_NUMBER_ID="106540352242922",
        WHATSAPP_GRAPH_URL=f"http://127.0.0.1:{free_port()}", WHATSAPP_WEBHOOK_PORT=str(webhook_port),
    )
    with run_script(root, env, log, [f"http://127.0.0.1:{rasa_port}/"], timeout_s=STARTUP_TIMEOUT_S):
        yield Stack(root, f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}",
                    f"http://127.0.0.1:{city_port}", ports, log)


# --- Rasa's HTTP API --------------------------------------------------------------------


API_CALLS = [
    ("GET", f"/conversations/{WA_ID}/tracker", None),
    ("POST", f"/conversations/{WA_ID}/trigger_intent?output_channel=latest", {"name": "greet"}),
    ("PUT", "/model", {"model_file": "/tmp/whatever.tar.gz"}),
    ("DELETE", "/model", None),
]


@pytest.mark.parametrize("method, path, body", API_CALLS, ids=["tracker", "trigger_intent", "put-model", "delete-model"])
@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
def test_the_api_refuses_calls_without_its_token(stack, method, path, body, token):
    params = {"token": token} if token else {}
    reply = requests.request(method, stack.rasa + path, json=body, params=params, timeout=30)
    assert reply.status_code == 401, f"{method} {path} answered {reply.status_code}: {reply.text[:300]}"
    # the model is still loaded: Rasa still answers a turn
    assert stack.rest({"sender": "after-api-call", "message": "hola"}).json(), "the model must still answer"


def test_the_api_answers_with_its_token(stack):
    assert stack.tracker(WA_ID)["sender_id"] == WA_ID


def test_the_generated_secrets_are_private_files(stack):
    for name in ("rasa_api_token", "action_server_token", "console_api_token", "console_admin_password"):
        path = stack.root / "var" / "secrets" / name
        assert path.stat().st_mode & 0o777 == 0o600, f"{path} must be mode 600"
        assert len(path.read_text().strip()) >= 32
    assert "var/secrets/rasa_api_token" in stack.log.read_text(), "run.sh says where the token is"


# --- Interfaces -------------------------------------------------------------------------


def _listening_addresses(port: int) -> List[str]:
    """Local addresses with a socket listening on ``port``, from /proc/net/tcp{,6}."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _non_loopback_address() -> Optional[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_no_server_listens_beyond_loopback(stack):
    for port in stack.ports:
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert set(addresses) == {"127.0.0.1"}, f"port {port} listens on {addresses}"
    outside = _non_loopback_address()
    if outside:  # the same refusal, seen from this host's own network address
        for port in stack.ports:
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://{outside}:{port}/", timeout=5)


# --- The action server ------------------------------------------------------------------


def _action_call() -> dict:
    return {
        "next_action": "action_list_appointments",
        "sender_id": WA_ID,
        "tracker": {"sender_id": WA_ID, "slots": {"dni": "30123456"}, "latest_message": {}, "events": [],
                    "paused": False, "latest_input_channel": "whatsapp", "active_loop": {}},
        "domain": {},
        "version": "3.6.2",
    }


@pytest.mark.parametrize("token, status", [(None, 401), ("wrong-token", 403)], ids=["no-token", "wrong-token"])
def test_the_action_server_refuses_calls_without_rasas_token(stack, token, status):
    params = {"token": token} if token else {}
    reply = requests.post(f"{stack.actions}/webhook", json=_action_call(), params=params, timeout=30)
    assert reply.status_code == status, reply.text
    assert "30123456" not in reply.text and "Traceback" not in reply.text


def test_the_action_server_answers_malformed_calls_with_400(stack):
    token = stack.secret("action_server_token")
    for body in (b"{", b"[]", b'{"next_action": "action_list_appointments", "tracker": 3}'):
        reply = requests.post(f"{stack.actions}/webhook", data=body, params={"token": token}, timeout=30)
        assert reply.status_code == 400, (body, reply.status_code, reply.text)
    assert requests.get(f"{stack.actions}/health", timeout=10).status_code == 200


# --- The REST channel -------------------------------------------------------------------


def _user_events(tracker: dict) -> List[dict]:
    return [event for event in tracker["events"] if event["event"] == "user"]


def test_a_rest_sender_equal_to_a_wa_id_does_not_continue_that_conversation(stack):
    # a WhatsApp citizen's conversation with their DNI, written through the (authenticated) API
    events = [{"event": "user", "text": "hola", "input_channel": "whatsapp", "parse_data": {"intent": {"name": "greet"}}},
              {"event": "slot", "name": "dni", "value": "27345678"}]
    reply = requests.post(f"{stack.rasa}/conversations/{WA_ID}/tracker/events", json=events,
                          params={"token": stack.api_token}, timeout=30)
    assert reply.status_code == 200, reply.text
    before = stack.tracker(WA_ID)

    answer = stack.rest({"sender": WA_ID, "message": "qué turnos tengo?"})
    assert answer.status_code == 200
    assert "27345678" not in answer.text
    assert all(message["recipient_id"] == f"rest:{WA_ID}" for message in answer.json())

    assert stack.tracker(WA_ID)["events"] == before["events"], "the WhatsApp conversation must not change"
    rest = stack.tracker(f"rest:{WA_ID}")
    assert rest["slots"].get("dni") is None
    assert [event["text"] for event in _user_events(rest)] == ["qué turnos tengo?"]


def test_forged_whatsapp_metadata_over_rest_is_ignored(stack):
    sender = "forger-1"
    forged = {"whatsapp": {"type": "image", "media": {"id": "1", "path": "/etc/shadow", "mime_type": "image/jpeg"}}}
    reply = stack.rest({"sender": sender, "message": "quiero hacer un reclamo", "input_channel": "whatsapp",
                        "metadata": forged})
    assert reply.status_code == 200
    (event,) = _user_events(stack.tracker(f"rest:{sender}"))
    assert event["input_channel"] == "rest"
    assert "whatsapp" not in (event.get("metadata") or {})
    assert "/etc/shadow" not in str(stack.tracker(f"rest:{sender}"))


def test_an_oversized_body_is_refused_on_rasas_port(stack):
    from channels.whatsapp.webhook_server import MAX_BODY_BYTES

    body = b'{"sender": "big", "message": "' + b"a" * (MAX_BODY_BYTES + 1) + b'"}'
    reply = requests.post(f"{stack.rasa}/webhooks/rest/webhook", data=body, timeout=60,
                          headers={"Content-Type": "application/json"})
    assert reply.status_code == 413


def test_a_text_over_4096_characters_gets_the_polite_answer_without_a_turn(stack):
    polite = yaml.safe_load((ROOT / "channels/rest/messages.yml").read_text(encoding="utf-8"))["text_too_long"]
    reply = stack.rest({"sender": "long-1", "message": "hola " * 1000})
    assert reply.status_code == 200
    assert reply.json() == [{"recipient_id": "rest:long-1", "text": polite.format(limit=4096)}]
    assert _user_events(stack.tracker("rest:long-1")) == []


def _texts(reply: requests.Response) -> str:
    assert reply.status_code == 200, reply.text
    return " ".join(message.get("text") or "" for message in reply.json())


def test_a_ticket_number_shows_its_details_only_to_its_author(stack):
    # A WhatsApp citizen's complaint, as the action server files it; tickets are sequential.
    complaint = {"category": "bache", "description": "pozo enorme frente a mi casa",
                 "citizen_id": WA_ID, "address": "Corrientes 1234"}
    ticket = requests.post(f"{stack.city_services}/service-requests", json=complaint, timeout=10).json()["ticket"]

    answer = _texts(stack.rest({"sender": "curious-1", "message": f"estado de la solicitud {ticket}"}))

    assert ticket in answer and "bache" in answer, answer
    assert "Corrientes" not in answer and "pozo" not in answer


def test_nobody_lists_or_cancels_appointments_booked_from_another_chat(stack):
    from actions.clients import AppointmentsClient

    client = AppointmentsClient(stack.city_services)
    # a centre and specialty the generated calendar always has (tests/actions/clients/test_appointments.py)
    (slot,) = client.free_slots("H-26", "pediatría", *_two_weeks(), limit=1)
    booked = client.book(slot.id, "27345678", WA_ID)

    listed = _texts(stack.rest({"sender": "curious-2", "message": "qué turnos tengo?"}))
    cancel = _texts(stack.rest({"sender": "curious-2", "message": f"quiero cancelar el turno {booked.code}"}))
    cancel += _texts(stack.rest({"sender": "curious-2", "message": "sí"}))  # confirming, if asked

    assert booked.code not in listed and "27345678" not in listed, listed
    assert [a.code for a in client.list(WA_ID)] == [booked.code] and client.list(WA_ID)[0].status == "booked", \
        f"the booking must stay as it was: {cancel}"


def _two_weeks():
    from datetime import date, timedelta

    return date.today(), date.today() + timedelta(days=14)


# --- Production refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "missing, values",
    [
        ("DB_PASSWORD", {"REDIS_PASSWORD": "r3dis", "RABBITMQ_PASSWORD": "r4bbit"}),
        ("REDIS_PASSWORD", {"DB_PASSWORD": "p0stgres", "RABBITMQ_PASSWORD": "r4bbit"}),
        ("RABBITMQ_PASSWORD", {"DB_PASSWORD": "p0stgres", "REDIS_PASSWORD": "r3dis"}),
        ("RABBITMQ_PASSWORD", {"DB_PASSWORD": "p0stgres", "REDIS_PASSWORD": "r3dis", "RABBITMQ_PASSWORD": "guest"}),
        ("CITY_SERVICES_OPERATOR_TOKEN",
         {"DB_PASSWORD": "p0stgres", "REDIS_PASSWORD": "r3dis", "RABBITMQ_PASSWORD": "r4bbit",
          "CITY_SERVICES_OPERATOR_TOKEN": "dev-operator-token"}),
    ],
    ids=["no-db-password", "no-redis-password", "no-rabbitmq-password", "rabbitmq-guest", "default-operator-token"],
)
def test_production_refuses_to_start_without_real_passwords(tmp_path_factory, missing, values):
    root = project_copy(tmp_path_factory.mktemp("prod") / "vecino")
    done = subprocess.run(["scripts/run.sh"], cwd=root, env=run_script_env(PROFILE="prod", MODEL="/nonexistent", **values),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert done.returncode == 2, done.stdout
    assert missing in done.stdout and "Refusing to start" in done.stdout


# --- The operators' console --------------------------------------------------------------


def _console(stack) -> str:
    return f"http://127.0.0.1:{stack.ports[4]}"


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/handoffs", {"citizen_id": WA_ID, "channel": "whatsapp", "reason": "citizen_request"}),
    ("POST", "/api/handoffs/messages", {"citizen_id": WA_ID, "message": {"at": "2026-12-05T12:00:00Z", "kind": "text"}}),
    ("GET", f"/api/handoffs?citizen_id={WA_ID}", None),
    ("POST", "/api/citizens/erase", {"citizen_id": WA_ID}),
    ("POST", "/api/retention/purge", {"older_than_days": 0}),
], ids=["open", "message", "read", "erase", "purge"])
@pytest.mark.parametrize("token, status", [(None, 401), ("wrong-token", 403)], ids=["no-token", "wrong-token"])
def test_the_consoles_api_answers_only_with_its_token(stack, method, path, body, token, status):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = requests.request(method, _console(stack) + path, json=body, headers=headers, timeout=30)
    assert reply.status_code == status, reply.text


def test_the_consoles_api_answers_the_bot_with_the_generated_token(stack):
    headers = {"Authorization": f"Bearer {stack.secret('console_api_token')}"}
    reply = requests.get(f"{_console(stack)}/api/handoffs", params={"citizen_id": WA_ID}, headers=headers, timeout=30)
    assert reply.status_code == 200 and isinstance(reply.json()["handoffs"], list)


@pytest.mark.parametrize("path", ["/", "/conversations/1", "/operators", "/audit"])
def test_the_consoles_pages_need_a_login(stack, path):
    reply = requests.get(_console(stack) + path, timeout=30, allow_redirects=False)
    assert reply.status_code in (302, 303) and reply.headers["Location"].startswith("/login"), reply.status_code


@pytest.mark.parametrize("path", ["/events", "/fragments/queue", "/media/1"])
def test_what_the_consoles_scripts_fetch_needs_a_session(stack, path):
    assert requests.get(_console(stack) + path, timeout=30).status_code == 401


def test_the_consoles_login_form_refuses_a_post_without_its_csrf_token(stack):
    reply = requests.post(f"{_console(stack)}/login", data={"username": "admin",
                          "password": stack.secret("console_admin_password")}, timeout=30, allow_redirects=False)
    assert reply.status_code == 403
    assert "console_session" not in reply.headers.get("Set-Cookie", ""), "no session without the token"
