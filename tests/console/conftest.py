"""Fixtures of the console's tests: a movable clock, a store on a fresh SQLite file (or
PostgreSQL), the real app served on a free port, a fake Rasa HTTP API, and logged-in
browsers (``requests.Session``)."""
import re
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import requests
from sanic import Sanic, response
from sanic.request import Request

from city_services.db import Database
from console import auth
from console.app import create_app
from console.areas import AreaBook, parse_areas
from console.assistant import Assistant
from console.config import ConsoleSettings
from console.outbound import Outbound
from console.store import Store
from tests.fixtures.city_services import _pg_admin_url, fresh_pg_database
from tests.fixtures.graph_api import _free_port, start_sanic_in_thread, stop_sanic_thread

API_TOKEN = "test-console-api-token"
PASSWORD = "contraseña-de-prueba"

AREAS = {
    "emergencias": "defensa_civil",
    "predeterminada": "atencion_general",
    "areas": {
        "defensa_civil": {"nombre": "Defensa Civil", "temas": ["weather_alert"]},
        "transito": {"nombre": "Tránsito", "temas": ["infractions", "vtv"]},
        "reclamos": {"nombre": "Reclamos", "temas": ["service_requests"]},
        # weekdays 08:00-18:00 Buenos Aires: only the tests' idea of a schedule
        "educacion": {"nombre": "Educación", "temas": ["education"],
                      "horario": [{"dias": ["lunes", "martes", "miercoles", "jueves", "viernes"],
                                   "desde": "08:00", "hasta": "18:00"}]},
        "atencion_general": {"nombre": "Atención general", "temas": []},
    },
}


class FakeClock:
    """Wednesday 2026-12-02 15:00 UTC (12:00 in Buenos Aires) until moved."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def areas() -> AreaBook:
    return parse_areas(AREAS)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    database = Database(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    store = Store(database, clock)
    store.initialise()
    yield store
    database.close()


@pytest.fixture
def pg_store(clock: FakeClock) -> Iterator[Store]:
    """A store on a fresh PostgreSQL database; fails (never skips) when PostgreSQL is down."""
    admin_url = _pg_admin_url()
    if admin_url is None:
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432: the console's store needs its run")
    with fresh_pg_database(admin_url) as url:
        database = Database(url)
        store = Store(database, clock)
        store.initialise()
        yield store
        database.close()


def add_operator(store: Store, username: str, role: str = "operator", areas=(),
                 password: str = PASSWORD) -> Any:
    return store.create_operator(username, auth.hash_password(password), role, list(areas), None)


# ------------------------------------------------------------------ fake Rasa


@dataclass
class FakeRasa:
    """Rasa's HTTP API as the console calls it: records every call, checks the token."""

    token: str = "test-rasa-token"
    calls: List[Dict[str, Any]] = field(default_factory=list)
    fail_with: Optional[int] = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def said(self) -> List[tuple]:
        return [(c["citizen"], c["body"]["name"]) for c in self.calls if c["route"] == "execute"]


@pytest.fixture(scope="session")
def _fake_rasa_server() -> Iterator[FakeRasa]:
    fake = FakeRasa(port=_free_port())
    app = Sanic(f"fake_rasa_{uuid.uuid4().hex[:8]}", configure_logging=False)

    def record(request: Request, citizen: str, route: str) -> Optional[response.HTTPResponse]:
        if request.args.get("token") != fake.token:
            return response.json({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        fake.calls.append({"route": route, "citizen": citizen, "body": request.json,
                           "output_channel": request.args.get("output_channel")})
        if fake.fail_with:
            return response.json({"status": "failure"}, status=fake.fail_with)
        return None

    @app.post("/conversations/<citizen>/execute")
    async def execute(request: Request, citizen: str):
        return record(request, citizen, "execute") or response.json({"tracker": {}, "messages": []})

    @app.post("/conversations/<citizen>/tracker/events")
    async def events(request: Request, citizen: str):
        return record(request, citizen, "events") or response.json({"sender_id": citizen})

    loop, thread = start_sanic_in_thread(app, fake.port)
    yield fake
    stop_sanic_thread(loop, thread)


@pytest.fixture
def fake_rasa(_fake_rasa_server: FakeRasa) -> FakeRasa:
    _fake_rasa_server.calls.clear()
    _fake_rasa_server.fail_with = None
    return _fake_rasa_server


# ------------------------------------------------------------------ the console


@dataclass
class Console:
    base_url: str
    app: Sanic
    store: Store
    settings: ConsoleSettings

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api(self, method: str, path: str, body: Any = None, token: Optional[str] = API_TOKEN,
            **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.url(path), json=body, headers=headers, timeout=10, **kwargs)

    def handoff(self, citizen_id: str = "5491100000001", **body: Any) -> Dict[str, Any]:
        payload = {"citizen_id": citizen_id, "channel": "whatsapp", "reason": "citizen_request", **body}
        answer = self.api("POST", "/api/handoffs", payload)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def browser(self) -> requests.Session:
        return requests.Session()

    def login(self, username: str, password: str = PASSWORD) -> "Browser":
        browser = Browser(self, requests.Session())
        answer = browser.login(username, password)
        assert answer.status_code == 303, f"login of {username} answered {answer.status_code}"
        return browser


@dataclass
class Browser:
    console: Console
    session: requests.Session

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.console.url(path), allow_redirects=False, timeout=10, **kwargs)

    def login(self, username: str, password: str) -> requests.Response:
        form = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return self.session.post(self.console.url("/login"), allow_redirects=False, timeout=10,
                                 data={"csrf_token": token, "username": username, "password": password})

    def csrf(self) -> str:
        page = self.get("/")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def post(self, path: str, data: Optional[Dict[str, Any]] = None, csrf: bool = True,
             **kwargs: Any) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        return self.session.post(self.console.url(path), data=data, allow_redirects=False, timeout=30,
                                 **kwargs)


@pytest.fixture
def console_factory(tmp_path: Path, clock: FakeClock, areas: AreaBook, fake_rasa: FakeRasa,
                    fake_graph_api) -> Iterator[Callable[..., Console]]:
    started = []

    def start(store: Optional[Store] = None, template: Optional[str] = "vecino_respuesta_operador",
              whatsapp: bool = True, **overrides: Any) -> Console:
        settings = ConsoleSettings(
            database_url=f"sqlite:///{tmp_path / 'console.sqlite3'}", api_token=API_TOKEN,
            media_dir=tmp_path / "media", upload_dir=tmp_path / "console_media", poll_seconds=0.05,
            heartbeat_seconds=0.5, rasa_url=fake_rasa.base_url, rasa_api_token=fake_rasa.token,
            reply_template=template)
        settings = replace(settings, **overrides)
        (tmp_path / "media").mkdir(exist_ok=True)
        environ = {"WHATSAPP_PHONE_NUMBER_ID": fake_graph_api.phone_number_id,
                   "WHATSAPP_ACCESS_TOKEN": fake_graph_api.token,
                   "WHATSAPP_GRAPH_URL": fake_graph_api.base_url} if whatsapp else {}
        store = store or Store(Database(settings.database_url), clock)
        app = create_app(settings, store=store, areas=areas, clock=clock,
                         assistant=Assistant(settings.rasa_url, settings.rasa_api_token),
                         outbound=Outbound(settings.reply_template, settings.reply_template_language, environ),
                         name=f"console_{uuid.uuid4().hex[:10]}", run_timeouts=False)
        port = _free_port()
        loop, thread = start_sanic_in_thread(app, port)
        started.append((loop, thread))
        return Console(f"http://127.0.0.1:{port}", app, store, settings)

    yield start
    for loop, thread in started:
        stop_sanic_thread(loop, thread)


@pytest.fixture
def console(console_factory: Callable[..., Console]) -> Console:
    return console_factory()
