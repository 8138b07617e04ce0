"""Action-server latency per flow step against the local reference backend.

    .venv/bin/python -m bench.actions_latency [--calls 300] [--markdown out.md]

Starts a fresh ``city_services`` (temporary SQLite file) and the real action
server (``rasa run actions``) on free ports, unless ``--city-services-url`` /
``--action-server-url`` point at running ones. Then, for each flow step, posts
``--calls`` webhook requests shaped as Rasa sends them (tracker + domain) and
reports p50 / p95 / max in milliseconds, and how many answers were an error
(HTTP status other than 200, or the action answering
``utter_service_unavailable``). Steps that write (booking, cancelling,
requests, incidents) really write: booking uses a fresh free slot each time,
and cancelling cancels those bookings.
"""
import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
SENDER = "5491100000042"
DNI = "34555666"
ERROR_RESPONSES = {"utter_service_unavailable", "utter_service_unavailable_ask_again"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited early; see {log}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not start in {timeout:.0f} s; see {log}")


@contextmanager
def started(command: List[str], env: Dict[str, str], health_url: str, log: Path,
            timeout: float) -> Iterator[None]:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(health_url, process, timeout, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def tracker(slots: Dict[str, Any], text: str = "", active_loop: Optional[str] = None) -> Dict[str, Any]:
    latest = {"text": text, "intent": {}, "entities": [], "metadata": {}}
    return {
        "sender_id": SENDER,
        "slots": slots,
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest, "metadata": {}}],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "rest",
    }


@dataclass
class Step:
    flow: str
    action: str
    slots: Callable[[int], Dict[str, Any]]
    warm_up: bool = True  # False for steps whose every call must use fresh data
    timings_ms: List[float] = field(default_factory=list)
    errors: int = 0
    answers: collections.Counter = field(default_factory=collections.Counter)


def free_slot_ids(city_url: str, needed: int) -> List[str]:
    """Free future slots, enough for one booking per call."""
    start = date.today() + timedelta(days=1)
    end = start + timedelta(days=20)
    ids: List[str] = []
    centres = requests.get(f"{city_url}/health-centres", params={"limit": 100}, timeout=10).json()
    for centre in centres["centres"]:
        for specialty in centre["specialties"]:
            slots = requests.get(
                f"{city_url}/health-centres/{centre['id']}/slots", timeout=10,
                params={"specialty": specialty, "from": start.isoformat(), "to": end.isoformat(),
                        "limit": 100},
            ).json()["slots"]
            ids.extend(slot["id"] for slot in slots)
            if len(ids) >= needed:
                return ids[:needed]
    raise SystemExit(f"only {len(ids)} free slots for {needed} bookings")


def build_steps(city_url: str, calls: int) -> Tuple[List[Step], List[str]]:
    slot_ids = free_slot_ids(city_url, calls)
    booked_codes: List[str] = []
    day = (date.today() + timedelta(days=1)).isoformat()
    week = (date.today() + timedelta(days=7)).isoformat()
    steps = [
        Step("infracciones", "action_look_up_infractions",
             lambda i: {"privacy_accepted": True, "infractions_subject": "AC456FG"}),
        Step("turnos", "action_offer_appointment_slots",
             lambda i: {"specialty": "pediatría", "health_centre": "H-26",
                        "health_centre_name": "Hospital Durand",
                        "appointment_date": f"{day}/{week}/morning", "dni": DNI}),
        Step("turnos", "action_book_appointment",
             lambda i: {"appointment_slot": slot_ids[i], "appointment_confirmed": True,
                        "dni": DNI, "specialty": "pediatría", "health_centre": "H-26",
                        "appointment_date": f"{day}/{week}/"},
             warm_up=False),
        Step("turnos", "action_list_appointments", lambda i: {"dni": DNI}),
        Step("turnos", "action_cancel_appointment",
             lambda i: {"appointment_code": booked_codes[i] if i < len(booked_codes) else "TUR-999999",
                        "cancel_confirmed": True, "dni": DNI},
             warm_up=False),
        Step("solicitudes", "action_create_service_request",
             lambda i: {"request_category": "bache", "request_description": "Pozo en la calle",
                        "location": "Cabildo y Juramento", "request_photo": "none"}),
        Step("solicitudes", "action_check_service_request", lambda i: {"ticket": "SOL-000001"}),
        Step("emergencias", "action_report_emergency",
             lambda i: {"emergency_type": "arbol_caido", "people_at_risk": False,
                        "location": "Conde y Juramento", "emergency_description": "Árbol caído"}),
        Step("puntos verdes", "action_find_green_points",
             lambda i: {"location": "Corrientes 300", "material": "pilas"}),
        Step("ecobici", "action_find_ecobici_stations",
             lambda i: {"location_lat": -34.5924, "location_lon": -58.3747}),
        Step("alertas", "action_weather_alerts", lambda i: {}),
    ]
    return steps, booked_codes


def run(action_url: str, city_url: str, calls: int, warmup: int) -> List[Step]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    steps, booked_codes = build_steps(city_url, calls)
    session = requests.Session()
    for step in steps:
        for i in range(-warmup if step.warm_up else 0, calls):
            payload = {"next_action": step.action, "sender_id": SENDER, "version": "3.6.21",
                       "tracker": tracker(step.slots(max(i, 0))), "domain": domain}
            started_at = time.perf_counter()
            response = session.post(f"{action_url}/webhook", json=payload, timeout=30,
                                    params={"token": os.environ["ACTION_SERVER_TOKEN"]})
            elapsed = (time.perf_counter() - started_at) * 1000
            if i < 0:
                continue
            step.timings_ms.append(elapsed)
            body = response.json() if response.status_code == 200 else {}
            names = {r.get("response") for r in body.get("responses", [])}
            step.answers[next(iter(sorted(n for n in names if n)), "-")] += 1
            if response.status_code != 200 or names & ERROR_RESPONSES:
                step.errors += 1
        if step.action == "action_book_appointment":
            listed = requests.get(f"{city_url}/appointments", params={"dni": DNI}, timeout=10)
            booked_codes.extend(a["code"] for a in listed.json()["appointments"]
                                if a["status"] == "booked")
    return steps


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def table(steps: List[Step], calls: int, backend: str) -> str:
    lines = [
        f"Action-server latency per flow step ({calls} calls each, {backend}, "
        f"{date.today().isoformat()}):",
        "",
        "| flow | step (action) | p50 ms | p95 ms | max ms | errors | usual answer |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for step in steps:
        t = step.timings_ms
        lines.append(
            f"| {step.flow} | `{step.action}` | {statistics.median(t):.1f} | "
            f"{percentile(t, 0.95):.1f} | {max(t):.1f} | {step.errors} | "
            f"`{step.answers.most_common(1)[0][0]}` |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--city-services-url")
    parser.add_argument("--action-server-url")
    parser.add_argument("--label", help="how to name the backend in the table (e.g. PostgreSQL)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    python = sys.executable
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-actions-")))
        city_url = args.city_services_url
        if not city_url:
            port = free_port()
            city_url = f"http://127.0.0.1:{port}"
            stack.enter_context(started(
                [python, "-m", "city_services"],
                {"CITY_SERVICES_PORT": str(port),
                 "CITY_SERVICES_DATABASE_URL": f"sqlite:///{workdir / 'city.sqlite3'}"},
                f"{city_url}/health", workdir / "city_services.log", 90))
        action_url = args.action_server_url
        if not action_url:
            port = free_port()
            action_url = f"http://127.0.0.1:{port}"
            # the action server as deployed: behind Rasa's token (action_server/app.py)
            os.environ.setdefault("ACTION_SERVER_TOKEN", uuid.uuid4().hex)
            stack.enter_context(started(
                [python, "-m", "action_server", "--port", str(port)],
                {"CITY_SERVICES_URL": city_url}, f"{action_url}/health",
                workdir / "action_server.log", 180))
        backend = args.label or ("SQLite" if not args.city_services_url else city_url)
        steps = run(action_url, city_url, args.calls, args.warmup)
        output = table(steps, args.calls, backend)
    print(output)
    if args.markdown:
        args.markdown.write_text(output + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
