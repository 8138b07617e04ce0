"""The operators' pages through the real app: login, sessions, CSRF, roles, areas, actions."""
import re

import pytest
import requests

from tests.console.conftest import PASSWORD, Browser, add_operator


@pytest.fixture
def team(console):
    store = console.store
    return {
        "alice": add_operator(store, "alice", areas=["transito"]),
        "bob": add_operator(store, "bob", areas=["transito"]),
        "carla": add_operator(store, "carla", areas=["reclamos"]),
        "boss": add_operator(store, "boss", role="supervisor"),
    }


def audit_actions(console):
    return [row["action"] for row in reversed(console.store.latest_audit())]


def test_pages_need_a_session(console):
    answer = requests.get(console.url("/"), allow_redirects=False, timeout=5)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert requests.get(console.url("/fragments/queue"), timeout=5).status_code == 401
    login = requests.get(console.url("/login"), timeout=5)
    assert login.status_code == 200 and '<html lang="es">' in login.text
    assert 'for="username"' in login.text and 'for="password"' in login.text and "<main" in login.text
    assert "<script>" not in login.text, "no inline scripts (CSP)"
    assert login.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_login_cookie_and_logout(console, team):
    browser = Browser(console, requests.Session())
    answer = browser.login("alice", PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie
    token = browser.session.cookies["console_session"]
    stored = console.store.database.transaction
    with stored() as cur:
        assert cur.execute("SELECT COUNT(*) FROM sessions WHERE token_hash = ?", (token,)).scalar() == 0
    assert browser.get("/").status_code == 200
    again = browser.session.post(console.url("/login"), allow_redirects=False, timeout=10, data={
        "csrf_token": browser.session.cookies["console_login_csrf"], "username": "alice", "password": PASSWORD})
    assert again.status_code == 303, "logging in again (a login form left open in another tab)"
    with stored() as cur:
        assert cur.execute("SELECT COUNT(*) FROM sessions").scalar() == 1, "replaces the old session"
    assert browser.post("/logout").status_code == 303
    assert browser.get("/").status_code == 303
    assert audit_actions(console)[-3:] == ["login", "login", "logout"]


def test_secure_cookies_when_configured(console_factory):
    console = console_factory(cookie_secure=True)
    answer = requests.get(console.url("/login"), timeout=5)
    assert "console_login_csrf=" in answer.headers["set-cookie"] and "Secure" in answer.headers["set-cookie"]


def test_lockout_after_five_failures(console, team, clock):
    browser = Browser(console, requests.Session())
    for _ in range(4):
        assert browser.login("alice", "wrong password").status_code == 401
    locked = browser.login("alice", "wrong password")
    assert locked.status_code == 429 and "15 minutos" in locked.text
    assert browser.login("alice", PASSWORD).status_code == 429, "even the right password waits"
    clock.advance(minutes=15, seconds=1)
    assert browser.login("alice", PASSWORD).status_code == 303
    assert "login_locked" in audit_actions(console)


def test_login_without_its_csrf_cookie_is_refused(console, team):
    answer = requests.post(console.url("/login"), data={"username": "alice", "password": PASSWORD,
                                                        "csrf_token": "forged"}, timeout=5)
    assert answer.status_code == 403 and "formulario" in answer.text


def test_session_idle_expiry(console, team, clock):
    browser = console.login("alice")
    clock.advance(minutes=29)
    assert browser.get("/").status_code == 200, "activity keeps the session alive"
    clock.advance(minutes=29)
    assert browser.get("/").status_code == 200
    clock.advance(minutes=30)
    assert browser.get("/").status_code == 303
    assert "session_expired" in audit_actions(console)


def test_session_absolute_expiry(console, team, clock):
    browser = console.login("alice")
    for _ in range(25):
        clock.advance(minutes=29)
        browser.get("/")
    assert browser.get("/").status_code == 303, "12 hours at most, however active"


def test_every_post_needs_the_csrf_token(console, team):
    handoff = console.handoff(topic="infractions")
    browser = console.login("alice")
    refused = browser.post(f"/conversations/{handoff['id']}/take", csrf=False)
    assert refused.status_code == 403 and "formulario" in refused.text
    forged = browser.post(f"/conversations/{handoff['id']}/take", {"csrf_token": "x"}, csrf=False)
    assert forged.status_code == 403
    assert console.store.handoff(handoff["id"]).status == "queued"
    logged_out = console.browser().post(console.url(f"/conversations/{handoff['id']}/take"), timeout=5)
    assert logged_out.status_code == 403 and "Ingresá de nuevo" in logged_out.text
    by_header = browser.session.post(console.url(f"/conversations/{handoff['id']}/take"),
                                     headers={"X-CSRF-Token": browser.csrf()}, allow_redirects=False)
    assert by_header.status_code == 303


def test_queue_shows_own_areas_in_order(console, team, clock):
    console.handoff("5491100000010", topic="infractions")
    clock.advance(minutes=3)
    console.handoff("5491100000011", topic="vtv", reason="emergency")  # to Defensa Civil
    clock.advance(minutes=1)
    console.handoff("5491100000012", topic="vtv")
    console.handoff("5491100000013", topic="service_requests")
    page = console.login("alice").get("/")
    citizens = re.findall(r'data-citizen="(\d+)"', page.text)
    assert citizens == ["5491100000010", "5491100000012"], "only transito, oldest first"
    assert 'data-area="transito" data-waiting="2"' in page.text
    assert "4 min" in page.text, "the oldest wait is shown"
    boss = console.login("boss").get("/fragments/queue")
    assert re.findall(r'data-citizen="(\d+)"', boss.text) == [
        "5491100000011", "5491100000010", "5491100000012", "5491100000013"]
    assert "Emergencia" in boss.text


def test_people_in_danger_badge(console, team):
    handoff = console.handoff("5491100000020", reason="emergency", people_in_danger=True)
    boss = console.login("boss")
    page = boss.get("/")
    assert 'data-priority="0"' in page.text and "Personas en peligro" in page.text
    conversation = boss.get(f"/conversations/{handoff['id']}").text
    assert '<dd data-field="people_in_danger">Sí</dd>' in conversation


def test_one_holder_and_area_permissions(console, team, fake_rasa):
    handoff = console.handoff(topic="infractions")
    path = f"/conversations/{handoff['id']}"
    alice, bob, carla, boss = (console.login(n) for n in ("alice", "bob", "carla", "boss"))
    assert carla.get(path).status_code == 404, "outside her areas it does not exist"
    assert carla.post(f"{path}/take").status_code == 404
    assert alice.post(f"{path}/take").status_code == 303
    second = bob.post(f"{path}/take")
    assert second.status_code == 409 and "Otra persona ya tomó esta conversación" in second.text
    assert bob.post(f"{path}/close").status_code == 409
    assert bob.post(f"{path}/reply", {"text": "hola"}).status_code == 409
    page = alice.get(path)
    assert 'data-holder="alice"' in page.text and 'id="reply-form"' in page.text
    assert 'id="reply-form"' not in bob.get(path).text
    # a supervisor may hand back a conversation someone else holds
    assert boss.post(f"{path}/return").status_code == 303
    assert console.store.handoff(handoff["id"]).status == "returned"
    assert fake_rasa.calls == [
        {"route": "events", "citizen": "5491100000001", "body": {"event": "resume"}, "output_channel": None},
        {"route": "execute", "citizen": "5491100000001", "body": {"name": "utter_handoff_returned"},
         "output_channel": "latest"},
    ]
    assert audit_actions(console)[-2:] == ["take", "hand_back"]


def test_transfer_and_close(console, team, fake_rasa):
    handoff = console.handoff(topic="infractions")
    path = f"/conversations/{handoff['id']}"
    alice, carla = console.login("alice"), console.login("carla")
    alice.post(f"{path}/take")
    assert alice.post(f"{path}/transfer", {"area": "nowhere"}).status_code == 400
    assert alice.post(f"{path}/transfer", {"area": "reclamos"}).status_code == 303
    assert alice.get(path).status_code == 404
    assert carla.post(f"{path}/take").status_code == 303
    assert carla.post(f"{path}/close").status_code == 303
    assert fake_rasa.said() == [("5491100000001", "utter_handoff_closed")]
    history = carla.get(path)
    assert history.status_code == 200 and "Transferida a Reclamos" in history.text
    assert audit_actions(console)[-4:] == ["take", "transfer", "take", "close"]


def test_rasa_down_is_told_to_the_operator(console, team, fake_rasa):
    handoff = console.handoff(topic="infractions")
    alice = console.login("alice")
    alice.post(f"/conversations/{handoff['id']}/take")
    fake_rasa.fail_with = 500
    answer = alice.post(f"/conversations/{handoff['id']}/close")
    assert answer.status_code == 502 and "no pudimos avisarle al asistente" in answer.text and "sigue abierta" in answer.text
    assert "assistant_failed" in audit_actions(console)
    # still hers and open: the bot is still paused, so the citizen must not be left with nobody
    assert console.store.handoff(handoff["id"]).status == "held"
    fake_rasa.fail_with = None
    assert alice.post(f"/conversations/{handoff['id']}/close").status_code == 303, "closing again works"
    assert console.store.handoff(handoff["id"]).status == "closed"


def test_history_renders_every_kind(console, team):
    history = [
        {"at": "2026-12-02T14:00:00Z", "direction": "citizen", "kind": "text", "text": "<b>hola</b>"},
        {"at": "2026-12-02T14:00:01Z", "direction": "bot", "kind": "text", "text": "¿Qué pasó?"},
        {"at": "2026-12-02T14:00:02Z", "direction": "citizen", "kind": "image", "media_ref": "a.jpg"},
        {"at": "2026-12-02T14:00:03Z", "direction": "citizen", "kind": "location", "latitude": -34.6,
         "longitude": -58.38},
        {"at": "2026-12-02T14:00:04Z", "direction": "citizen", "kind": "audio", "media_ref": "a.ogg"},
        {"at": "2026-12-02T14:00:05Z", "direction": "citizen", "kind": "document", "media_ref": "a.pdf"},
        {"at": "2026-12-02T14:00:06Z", "direction": "citizen", "kind": "video", "text": "mirá"},
    ]
    handoff = console.handoff(reason="emergency", history=history, collected={
        "incident_number": "DC-2026-000123", "emergency_type": "arbol_caido", "address": "Perú 160",
        "people_in_danger": False, "description": "Un árbol sobre un auto"})
    page = console.login("boss").get(f"/conversations/{handoff['id']}").text
    ids = [m.id for m in console.store.messages(handoff["id"])]
    assert "&lt;b&gt;hola&lt;/b&gt;" in page, "escaped"
    assert f'<img src="/media/{ids[2]}"' in page
    assert "https://www.openstreetmap.org/?mlat=-34.6&amp;mlon=-58.38#map=17/-34.6/-58.38" in page
    assert f'<audio controls preload="none" src="/media/{ids[4]}"' in page
    assert f'href="/media/{ids[5]}" download' in page
    for value in ("DC-2026-000123", "arbol_caido", "Perú 160", "Un árbol sobre un auto"):
        assert value in page
    assert page.index("¿Qué pasó?") < page.index(f"/media/{ids[2]}"), "in order"
    assert "Video (no se puede mostrar acá)" in page and "mirá" in page


def test_only_supervisors_manage_operators(console, team):
    alice, boss = console.login("alice"), console.login("boss")
    assert alice.get("/operators").status_code == 403
    assert alice.get("/audit").status_code == 403
    assert alice.post("/operators", {"username": "eve", "password": "x" * 12, "role": "supervisor"}).status_code == 403
    assert console.store.credentials("eve") is None
    assert boss.post("/operators", {"username": "eve", "password": "short", "role": "operator"}).status_code == 400
    created = boss.post("/operators", {"username": "eve", "password": "una clave larga", "role": "operator",
                                       "areas": ["transito", "reclamos", "nowhere"]})
    assert created.status_code == 303
    eve = console.store.credentials("eve")[0]
    assert eve.areas == ("transito", "reclamos")
    assert boss.post("/operators", {"username": "eve", "password": "una clave larga",
                                    "role": "operator"}).status_code == 409
    eve_browser = console.login("eve", "una clave larga")
    assert boss.post(f"/operators/{eve.id}/password", {"password": "otra clave larga"}).status_code == 303
    assert eve_browser.get("/").status_code == 303, "a reset ends the sessions"
    eve_browser = console.login("eve", "otra clave larga")
    assert boss.post(f"/operators/{eve.id}/deactivate").status_code == 303
    assert eve_browser.get("/").status_code == 303
    assert Browser(console, requests.Session()).login("eve", "otra clave larga").status_code == 401
    boss_id = console.store.credentials("boss")[0].id
    assert boss.post(f"/operators/{boss_id}/deactivate").status_code == 400, "not oneself"
    listing = boss.get("/operators").text
    assert 'data-operator="eve"' in listing and "Dado de baja" in listing
    audit = boss.get("/audit")
    assert audit.status_code == 200
    for action in ("operator_created", "password_reset", "operator_deactivated"):
        assert f'data-action="{action}"' in audit.text
