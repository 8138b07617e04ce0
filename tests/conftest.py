"""Fixtures shared by the whole suite (see CONVENTIONS.md, "Shared fixtures")."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Text

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parent.parent
# endpoints.yml reads ${ACTION_SERVER_TOKEN} and Rasa raises when it is unset (scripts/run.sh
# exports the real one); tests that load the committed endpoints get a development value.
os.environ.setdefault("ACTION_SERVER_TOKEN", "test-action-server-token")

pytest_plugins = [
    "tests.fixtures.city_services",
    "tests.fixtures.graph_api",
    "tests.fixtures.console",
    "tests.fixtures.assistant",
]


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> Dict[Text, Any]:
    """domain.yml as the action server receives it, with the frequent-question answers merged in."""
    loaded = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    responses = dict(loaded.get("responses") or {})
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    loaded["responses"] = responses
    return loaded


@pytest.fixture(autouse=True)
def rate_limiter(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own empty per-citizen rate-limit counters (a private SQLite
    file), so the suite's many lookups from one sender id never meet the limits, and no
    test writes the developer's var/rate_limits.sqlite3."""
    from actions import rate_limits

    store = rate_limits.SqliteStore(tmp_path_factory.mktemp("rate_limits") / "rate.sqlite3")
    limiter = rate_limits.RateLimiter(store)
    monkeypatch.setattr(rate_limits, "_shared", limiter)
    return limiter


@pytest.fixture
def tracker_factory() -> Callable[..., Tracker]:
    """Builds a fresh rasa-sdk Tracker as the action server would receive it."""

    def make(
        text: Text = "",
        intent: Optional[Text] = None,
        entities: Optional[List[Dict[Text, Any]]] = None,
        slots: Optional[Dict[Text, Any]] = None,
        metadata: Optional[Dict[Text, Any]] = None,
        active_loop: Optional[Text] = None,
        events: Optional[List[Dict[Text, Any]]] = None,
        sender_id: Text = "5491100000000",
        parse_data: Optional[Dict[Text, Any]] = None,
        input_channel: Text = "whatsapp",
        paused: bool = False,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "entities": entities or [],
            "metadata": metadata or {},
            **(parse_data or {}),
        }
        # Rasa stamps every user event with a time and a message id (the turn that
        # idempotency keys of writes derive from): so do these.
        user_event = {
            "event": "user", "text": text, "parse_data": latest, "metadata": metadata or {},
            "input_channel": input_channel, "timestamp": time.time(), "message_id": uuid.uuid4().hex,
        }
        return Tracker.from_dict(
            {
                "sender_id": sender_id,
                "slots": dict(slots or {}),
                "latest_message": latest,
                "events": list(events if events is not None else [user_event]),
                "paused": paused,
                "followup_action": None,
                "active_loop": {"name": active_loop} if active_loop else {},
                "latest_action_name": "action_listen",
                "latest_input_channel": input_channel,
            }
        )

    return make


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The project's trained model: VECINO_MODEL when the test command already trained it,
    otherwise the model of the current inputs, trained only if missing (trainers/model.py)."""
    given = os.environ.get("VECINO_MODEL")
    if given and Path(given).is_file():
        return Path(given)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "trainers.model"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
    )
    model = ROOT / done.stdout.strip().splitlines()[-1]
    assert model.is_file(), f"no model at {model} (ran {time.time() - started:.0f} s)"
    return model
