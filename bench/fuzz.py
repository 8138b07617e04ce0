"""Hostile input against the running servers: no 5xx, and every server stays up.

    .venv/bin/python -m bench.fuzz [--cases 10000] [--model models/x.tar.gz]

Starts what `make run` starts, each in its own process: the reference city
services, the action server (`rasa run actions`), Rasa with the REST and
WhatsApp channels (the model from models/, the webhook also on its own port),
and the local fake Graph API (tests/fixtures/graph_api.py) in Meta's place.
Then hypothesis generates bodies for every port: random bytes, arbitrary JSON,
real-shaped bodies with parts replaced or deleted, truncated, nested past any
limit, in the wrong encoding, and oversized; WhatsApp deliveries go signed,
unsigned or wrongly signed. Prints the counts by HTTP status per port and exits
non-zero if any answer was a 5xx, an unsigned delivery was not refused, or a
server stopped answering. tests/bench/test_fuzz.py runs the same with a few
hundred cases.

The ports, paths and headers fuzzed live in :func:`targets` only, so that an
integrator adjusts them in one place (e.g. the action server's token).
"""
import argparse
import copy
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Text, Tuple
from urllib.parse import quote

import requests
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_SECRET = "fuzz-app-secret"
VERIFY_TOKEN = "fuzz-verify-token"
OPERATOR_TOKEN = "fuzz-operator-token"
ACTION_TOKEN = "fuzz-action-server-token"
OVERSIZED_BYTES = 9 * 1024 * 1024  # above the webhook's 8 MB limit and Meta's 3 MB deliveries
REQUEST_TIMEOUT_S = 60
SIGNATURE_HEADER = "X-Hub-Signature-256"
# the share of the cases each port gets (REST runs a whole turn per request: fewer)
SHARES = {"whatsapp-rasa": 0.2, "whatsapp-own": 0.2, "rest": 0.15, "actions": 0.2, "city-services": 0.25}


# ---- the servers ------------------------------------------------------------------------


def _free_port() -> int:
    from tests.fixtures.graph_api import _free_port as free

    return free()


@dataclass
class Servers:
    """The stack of `make run`, started on free ports (all stopped by :meth:`stop`)."""

    model: Path
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vecino-fuzz-")))
    processes: Dict[Text, subprocess.Popen] = field(default_factory=dict)
    ports: Dict[Text, int] = field(default_factory=dict)

    def url(self, name: Text) -> Text:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, timeout_s: float = 300) -> None:
        from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID, FAKE_TOKEN

        for name in ("graph", "city-services", "actions", "rasa", "whatsapp-own"):
            self.ports[name] = _free_port()
        base = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._spawn("graph", [sys.executable, "-m", "tests.fixtures.graph_api", "--port", str(self.ports["graph"])], base)
        self._spawn("city-services", [sys.executable, "-m", "city_services"], {
            **base,
            "CITY_SERVICES_HOST": "127.0.0.1",
            "CITY_SERVICES_PORT": str(self.ports["city-services"]),
            "CITY_SERVICES_DATABASE_URL": f"sqlite:///{self.directory / 'city_services.sqlite3'}",
            "CITY_SERVICES_OPERATOR_TOKEN": OPERATOR_TOKEN,
        })
        rasa = str(Path(sys.executable).parent / "rasa")
        # As scripts/run.sh starts them: the action server behind Rasa's token, the project's
        # REST channel in place of Rasa's.
        self._spawn("actions", [sys.executable, "-m", "action_server", "--port", str(self.ports["actions"])], {
            **base, "CITY_SERVICES_URL": self.url("city-services"), "ACTION_SERVER_TOKEN": ACTION_TOKEN,
            "CITY_SERVICES_OPERATOR_TOKEN": OPERATOR_TOKEN,
        })
        credentials = self.directory / "credentials.yml"
        credentials.write_text("channels.rest.RestInput:\nchannels.whatsapp.WhatsAppInput:\n", encoding="utf-8")
        endpoints = self.directory / "endpoints.yml"
        endpoints.write_text(yaml.safe_dump({"action_endpoint": {
            "url": f"{self.url('actions')}/webhook", "token": ACTION_TOKEN}}))
        self._spawn("rasa", [
            rasa, "run", "--model", str(self.model), "--port", str(self.ports["rasa"]),
            "--interface", "127.0.0.1", "--credentials", str(credentials), "--endpoints", str(endpoints),
        ], {
            **base,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_ACCESS_TOKEN": FAKE_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": FAKE_PHONE_NUMBER_ID,
            "WHATSAPP_GRAPH_URL": self.url("graph"),
            "WHATSAPP_WEBHOOK_PORT": str(self.ports["whatsapp-own"]),
            "WHATSAPP_WEBHOOK_HOST": "127.0.0.1",
            "WHATSAPP_DEDUP_SQLITE_PATH": str(self.directory / "processed.sqlite3"),
            "WHATSAPP_MEDIA_DIR": str(self.directory / "media"),
        })
        deadline = time.monotonic() + timeout_s
        for name, path in HEALTH.items():
            self._wait(name, path, deadline)

    def _spawn(self, name: Text, command: List[Text], env: Dict[Text, Text]) -> None:
        with open(self.directory / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _wait(self, name: Text, path: Text, deadline: float) -> None:
        process = self.processes["rasa" if name == "whatsapp-own" else name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            if self.is_up(name):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name} did not come up:\n{self.log(name)}")

    def is_up(self, name: Text) -> bool:
        try:
            return requests.get(self.url(name) + HEALTH[name], timeout=10).status_code == 200
        except requests.RequestException:
            return False

    def log(self, name: Text, tail: int = 3000) -> Text:
        name = "rasa" if name.startswith("whatsapp") or name == "rest" else name
        path = self.directory / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-tail:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


# how to tell that each server is up (and still up after the fuzzing)
HEALTH = {
    "graph": "/_fake/sent",
    "city-services": "/health",
    "actions": "/health",
    "rasa": "/",
    "whatsapp-own": "/webhooks/whatsapp/",
}


# ---- what is fuzzed, in one place ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One port's fuzzed routes: (method, path) pairs; ``{}`` in a path takes generated text."""

    port: Text  # the name counts are reported under
    server: Text  # key of Servers.ports
    routes: Tuple[Tuple[Text, Text], ...]
    base_bodies: Tuple[Any, ...]
    signed: bool = False  # WhatsApp: bodies go signed, unsigned or wrongly signed
    headers: Dict[Text, Text] = field(default_factory=dict)
    params: Dict[Text, Text] = field(default_factory=dict)


def targets() -> List[Target]:
    """Every port and route that takes input from outside (the integrator's one place)."""
    from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID

    deliveries = tuple(_whatsapp_payloads())
    webhook = (
        ("POST", "/webhooks/whatsapp/webhook"),
        ("POST", "/webhooks/whatsapp/webhook"),
        ("POST", "/webhooks/whatsapp/webhook"),  # deliveries: three cases in four
        ("GET", "/webhooks/whatsapp/webhook?hub.mode={}&hub.verify_token={}&hub.challenge={}"),
    )
    city_body = {
        "dni": "30123456", "plate": "AB123CD", "slot_id": 1, "citizen_id": "whatsapp:5491155550101",
        "category": "bache", "description": "hay un pozo enorme", "address": "Corrientes 1234",
        "lat": -34.6037, "lon": -58.3816, "kind": "fire", "status": "in_progress", "photo": None,
    }
    return [
        Target("whatsapp-rasa", "rasa", webhook, deliveries, signed=True),
        Target("whatsapp-own", "whatsapp-own", webhook, deliveries, signed=True),
        Target("rest", "rasa", (("POST", "/webhooks/rest/webhook"),), (
            {"sender": "fuzz-rest", "message": "hola"},
            {"sender": "fuzz-rest", "message": "quiero sacar un turno", "metadata": {"whatsapp": {"media": {"path": "/etc/passwd"}}}},
        )),
        Target("actions", "actions", (("POST", "/webhook"),), tuple(_action_calls()),
               params={"token": ACTION_TOKEN}),  # as Rasa's action_endpoint sends it
        Target("city-services", "city-services", (
            ("GET", "/infractions?plate={}&dni={}"),
            ("POST", "/certificates"),
            ("GET", "/certificates/{}"),
            ("GET", "/health-centres?barrio={}&lat={}&lon={}&limit={}"),
            ("GET", "/health-centres/{}/slots?specialty={}&from={}&to={}&part_of_day={}"),
            ("POST", "/appointments"),
            ("GET", "/appointments?dni={}"),
            ("POST", "/appointments/{}/cancel"),
            ("POST", "/service-requests"),
            ("GET", "/service-requests/{}"),
            ("POST", "/service-requests/{}/status"),
            ("POST", "/incidents"),
            ("GET", "/incidents/{}"),
            ("GET", "/green-points?lat={}&lon={}&material={}"),
            ("GET", "/geocode?address={}"),
            ("GET", "/barrios/{}"),
            ("GET", "/ecobici/stations/{}/status"),
        ), (city_body,), headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}),
    ]


def _whatsapp_payloads() -> Iterator[Dict[Text, Any]]:
    folder = ROOT / "tests" / "channels" / "whatsapp" / "payloads"
    for path in sorted(folder.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        payload.pop("_source", None)
        yield payload


def _action_calls() -> Iterator[Dict[Text, Any]]:
    """Rasa's action-server calls, one per custom action of the domain."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    slots = {name: None for name in domain.get("slots") or {}}
    for action in domain.get("actions") or []:
        yield {
            "next_action": action,
            "sender_id": "fuzz-actions",
            "version": "3.6.21",
            "domain": {"slots": {}, "responses": {}, "forms": {}},
            "tracker": {
                "sender_id": "fuzz-actions",
                "slots": dict(slots, dni="30123456", privacy_accepted=True),
                "latest_message": {"text": "hola", "intent": {"name": "greet", "confidence": 1.0}, "entities": []},
                "events": [{"event": "user", "text": "hola", "parse_data": {}, "metadata": {}}],
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
        }


# ---- the bodies --------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _slots(document: Any) -> List[Tuple[Any, Any]]:
    """Every (container, key) of a JSON document, for mutations."""
    found, stack = [], [document]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for key in keys:
            found.append((node, key))
            stack.append(node[key])
    return found


@st.composite
def mutated(draw: Callable, bases: Sequence[Any]) -> Any:
    """A real-shaped body with one to three parts replaced by other JSON or deleted."""
    document = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    return document


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def bodies(target: Target) -> st.SearchStrategy:
    """(kind, bytes) for one target: every family of hostile body."""
    shaped = mutated(target.base_bodies)
    nested = st.tuples(st.sampled_from(["[", '{"a":']), st.sampled_from([33, 200, 2000, 100_000])).map(
        lambda spec: (spec[0] * spec[1]).encode() + (b"]" if spec[0] == "[" else b"}") * spec[1]
    )
    return st.one_of(
        st.tuples(st.just("valid-shape"), st.sampled_from(target.base_bodies).map(_dumps)),
        st.tuples(st.just("mutated"), shaped.map(_dumps)),
        st.tuples(st.just("json"), json_values.map(_dumps)),
        st.tuples(st.just("bytes"), st.binary(max_size=512)),
        st.tuples(st.just("truncated"), st.tuples(shaped.map(_dumps), st.floats(0, 1)).map(
            lambda pair: pair[0][: int(len(pair[0]) * pair[1])])),
        st.tuples(st.just("nested"), nested),
        st.tuples(st.just("encoding"), st.tuples(shaped, st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"])).map(
            lambda pair: json.dumps(pair[0], ensure_ascii=False).encode(pair[1], errors="replace"))),
        st.tuples(st.just("invalid-utf8"), st.tuples(shaped.map(_dumps), st.binary(min_size=1, max_size=4).map(
            lambda b: b"\xff" + b)).map(lambda pair: pair[0][:-1] + pair[1] + pair[0][-1:])),
    )


# ---- sending and counting ----------------------------------------------------------------


@dataclass
class Results:
    counts: Dict[Text, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # each distinct problem (status, route, kind of body, its first bytes) -> how often
    problems: Counter = field(default_factory=Counter)

    def record(self, port: Text, status: int, problem: Optional[Text]) -> None:
        self.counts[port][status] += 1
        if problem:
            self.problems[f"{port}: {problem}"] += 1

    @property
    def failures(self) -> List[Text]:
        """Distinct problems, the most frequent first, each with its count."""
        return [f"{n} x {problem}" for problem, n in self.problems.most_common()]

    @property
    def server_errors(self) -> int:
        return sum(n for counter in self.counts.values() for status, n in counter.items() if status >= 500 or status == 0)

    def table(self) -> Text:
        lines = [f"{'port':<15} {'cases':>6}  status codes"]
        for port, counter in self.counts.items():
            codes = "  ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(counter.items()))
            lines.append(f"{port:<15} {sum(counter.values()):>6}  {codes}")
        return "\n".join(lines)


def _signature(raw: bytes, secret: Text) -> Text:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def send(servers: Servers, target: Target, case: Dict[Text, Any], session: requests.Session) -> Tuple[int, Optional[Text]]:
    """Sends one case; returns (status, problem or None). Status 0: no answer at all."""
    method, path = case["route"]
    for part in case["parts"]:
        path = path.replace("{}", quote(part, safe=""), 1)
    raw: bytes = case["body"]
    headers = {"Content-Type": "application/json", **target.headers}
    mode = case.get("signature")
    if mode == "signed":
        headers[SIGNATURE_HEADER] = _signature(raw, APP_SECRET)
    elif mode == "wrong":
        headers[SIGNATURE_HEADER] = _signature(raw, "not-the-app-secret")
    try:
        response = session.request(
            method, servers.url(target.server) + path, data=raw if method != "GET" else None,
            headers=headers, params=target.params, timeout=REQUEST_TIMEOUT_S,
        )
    except requests.RequestException as error:
        return 0, f"{method} {path} {case['kind']} ({len(raw)} bytes): no answer ({type(error).__name__})"
    status = response.status_code
    described = f"{method} {path} {case['kind']} signature={mode} ({len(raw)} bytes) {raw[:120]!r}"
    if status >= 500:
        return status, f"{status} for {described}: {response.text[:160]!r}"
    allowed = {"unsigned": {401, 413}, "wrong": {403, 413}}.get(mode or "") if method == "POST" else None
    if allowed and status not in allowed:
        return status, f"{status} (expected {sorted(allowed)}) for {described}"
    return status, None


def cases(target: Target) -> st.SearchStrategy:
    path_text = st.text(max_size=30) | st.sampled_from(["", "..", "../../etc/passwd", "TUR-000001", "SOL-000001", "%00"])
    signature = st.sampled_from(["signed", "signed", "unsigned", "wrong"]) if target.signed else st.none()
    return st.fixed_dictionaries({
        "route": st.sampled_from(target.routes),
        "parts": st.lists(path_text, min_size=6, max_size=6),
        "signature": signature,
        "kind_body": bodies(target),
    }).map(lambda c: {**c, "kind": c["kind_body"][0], "body": c["kind_body"][1]})


def oversized_cases(target: Target) -> List[Dict[Text, Any]]:
    """Bodies above every limit, sent once each (too big to generate by the hundred)."""
    body = b'{"entry": [' + b" " * OVERSIZED_BYTES + b"]}"
    modes = ["signed", "unsigned"] if target.signed else [None]
    return [
        {"route": target.routes[0], "parts": [""] * 6, "signature": mode, "kind": "oversized", "body": body}
        for mode in modes
    ]


def fuzz(servers: Servers, target: Target, examples: int, results: Results) -> None:
    """``examples`` generated cases, then the oversized ones, then checks the server is up."""
    with requests.Session() as session:

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.generate],  # every case is counted; none is shrunk or replayed
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(target))
        def one(case: Dict[Text, Any]) -> None:
            results.record(target.port, *send(servers, target, case, session))

        one()
        for case in oversized_cases(target):
            results.record(target.port, *send(servers, target, case, session))
    if not servers.is_up(target.server):
        results.record(target.port, 0, f"{target.server} stopped answering its health check")


def run(servers: Servers, total: int, only: Optional[Sequence[Text]] = None) -> Results:
    results = Results()
    for target in targets():
        if only and target.port not in only:
            continue
        fuzz(servers, target, max(1, round(total * SHARES[target.port])), results)
    for name in HEALTH:
        if not servers.is_up(name):
            results.record(name, 0, f"{name} is down after the fuzzing")
    return results


def newest_model() -> Optional[Path]:
    given_model = os.environ.get("VECINO_MODEL")
    if given_model and Path(given_model).is_file():
        return Path(given_model)
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="generated cases across all ports")
    parser.add_argument("--model", type=Path, default=None, help="trained model (default: newest in models/)")
    parser.add_argument("--port", action="append", choices=sorted(SHARES), help="fuzz only these ports")
    args = parser.parse_args()
    model = args.model or newest_model()
    if model is None:
        sys.exit("No trained model: run `make train` first (or pass --model).")
    servers = Servers(model)
    started = time.monotonic()
    try:
        servers.start()
        print(f"Servers up in {time.monotonic() - started:.0f} s; fuzzing with about {args.cases} cases...", flush=True)
        fuzzing = time.monotonic()
        results = run(servers, args.cases, args.port)
        elapsed = time.monotonic() - fuzzing
    finally:
        servers.stop()
    total = sum(sum(c.values()) for c in results.counts.values())
    print(f"\n{total} cases in {elapsed:.0f} s ({time.strftime('%Y-%m-%d')})\n")
    print(results.table())
    print(f"\n5xx or no answer: {results.server_errors} (target: 0)")
    for failure in results.failures[:40]:
        print("  " + failure)
    if len(results.failures) > 40:
        print(f"  ... and {len(results.failures) - 40} more distinct problems")
    sys.exit(1 if results.failures else 0)


if __name__ == "__main__":
    main()
