"""Starting the console: settings, refusals, the first supervisor and the admin command."""
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from console import admin
from console.app import ConfigurationError, create_app
from console.config import REPO_ROOT, ConsoleSettings
from tests.fixtures.graph_api import _free_port


def test_settings_from_env(tmp_path):
    settings = ConsoleSettings.from_env({
        "CONSOLE_PORT": "6000", "CONSOLE_DATABASE_URL": "postgresql://u@h/db", "CONSOLE_API_TOKEN": "t",
        "CONSOLE_SESSION_IDLE_MINUTES": "5", "CONSOLE_COOKIE_SECURE": "true", "HANDOFF_WAIT_MINUTES": "3",
        "CONSOLE_CHECK_SECONDS": "2", "RASA_URL": "http://rasa:5005/", "WHATSAPP_MEDIA_DIR": "/srv/media",
        "CONSOLE_REPLY_TEMPLATE": "respuesta"})
    assert (settings.port, settings.database_url, settings.session_idle_minutes) == (6000, "postgresql://u@h/db", 5)
    assert settings.cookie_secure and settings.handoff_wait_minutes == 3 and settings.check_seconds == 2
    assert settings.rasa_url == "http://rasa:5005" and settings.media_dir == Path("/srv/media")
    assert (settings.reply_template, settings.reply_template_language) == ("respuesta", "es_AR")
    defaults = ConsoleSettings.from_env({})
    assert defaults.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'console.sqlite3'}"
    assert defaults.media_dir == REPO_ROOT / "var" / "media" and defaults.api_token is None


def test_production_profile_needs_postgresql_and_secure_cookies():
    from console.config import production_problem

    assert production_problem({}) is None
    assert "CONSOLE_DATABASE_URL" in production_problem({"PROFILE": "prod"})
    assert "CONSOLE_COOKIE_SECURE" in production_problem({"PROFILE": "prod",
                                                          "CONSOLE_DATABASE_URL": "postgresql://u@h/console"})
    assert production_problem({"PROFILE": "prod", "CONSOLE_DATABASE_URL": "postgresql://u@h/console",
                               "CONSOLE_COOKIE_SECURE": "true"}) is None


def test_no_api_token_no_app(tmp_path):
    with pytest.raises(ConfigurationError):
        create_app(ConsoleSettings(database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}"))


def test_first_supervisor(store):
    with pytest.raises(ValueError):
        admin.ensure_admin(store, None)
    assert admin.ensure_admin(store, "una clave larga")
    assert not admin.ensure_admin(store, "otra")
    operator, _ = store.credentials("admin")
    assert operator.role == "supervisor"


def test_add_operator_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    monkeypatch.setenv("CONSOLE_DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("una clave larga\n"))
    assert admin.main(["add-operator", "--username", "ana", "--role", "operator",
                       "--areas", "transito,reclamos"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("una clave larga\n"))
    assert admin.main(["add-operator", "--username", "ana2", "--areas", "luna"]) == 2
    from city_services.db import Database
    from console.store import Store

    store = Store(Database(url))
    operator, _ = store.credentials("ana")
    assert operator.areas == ("transito", "reclamos") and store.credentials("ana2") is None


def test_python_m_console_refuses_then_serves(tmp_path):
    env = {**os.environ, "CONSOLE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}"}
    env.pop("PROFILE", None)
    env.pop("CONSOLE_API_TOKEN", None)
    env.pop("CONSOLE_ADMIN_PASSWORD", None)
    refused = subprocess.run([sys.executable, "-m", "console"], cwd=REPO_ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode != 0 and "CONSOLE_API_TOKEN" in refused.stderr
    env["CONSOLE_API_TOKEN"] = "t"
    refused = subprocess.run([sys.executable, "-m", "console"], cwd=REPO_ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode != 0 and "CONSOLE_ADMIN_PASSWORD" in refused.stderr
    env["CONSOLE_ADMIN_PASSWORD"] = "una clave larga"
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "console", "--port", str(port), "--interface", "127.0.0.1"],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answer = None
    try:
        for _ in range(600):  # importing Rasa takes a while on a loaded machine
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer.json() == {"status": "ok"}, "the console did not start"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_purge_forgets_ended_handoffs_and_their_uploads(tmp_path, monkeypatch, capsys):
    from datetime import datetime, timedelta, timezone

    from city_services.db import Database
    from console.models import HandoffRequest
    from console.store import Store
    from tests.console.conftest import add_operator

    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    moment = [datetime.now(timezone.utc) - timedelta(days=100)]
    store = Store(Database(url), lambda: moment[0])
    store.initialise()
    alice = add_operator(store, "alice", areas=["transito"])
    upload = tmp_path / "console_media" / "reply.png"
    upload.parent.mkdir()
    upload.write_bytes(b"\x89PNG\r\n\x1a\n")
    old = store.open_handoff(HandoffRequest("old", "whatsapp", "fallback"), "transito", 2, True)[0]
    store.take(old.id, alice.viewer)
    store.record_reply(old.id, alice.viewer, "image", None, str(upload), "image/png", "wamid.1", "")
    store.end(old.id, alice.viewer, "closed")
    moment[0] = datetime.now(timezone.utc)
    still_open = store.open_handoff(HandoffRequest("new", "whatsapp", "fallback"), "transito", 2, True)[0]
    monkeypatch.setenv("CONSOLE_DATABASE_URL", url)
    monkeypatch.setattr(admin.ConsoleSettings, "from_env", classmethod(
        lambda cls: ConsoleSettings(database_url=url, upload_dir=tmp_path / "console_media")))
    assert admin.main(["purge", "--days", "90"]) == 0
    assert "purged 1 handoff(s)" in capsys.readouterr().out
    assert store.handoff(old.id) is None and store.messages(old.id) == []
    assert store.handoff(still_open.id) is not None
    assert not upload.exists()
    assert [r["action"] for r in store.latest_audit()][0] == "purge"
