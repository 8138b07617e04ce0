"""``make purge`` (python -m privacy.purge) on both profiles: what is older than the limit goes
from the tracker store, the media folder, the delivery records and the city services; what is
newer stays."""
import os
import subprocess
import sqlite3
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import redis
import requests

from actions.clients import IncidentsClient
from channels.whatsapp.dedup import RedisProcessedMessageStore, SQLiteProcessedMessageStore, purge_redis
from privacy import purge
from privacy.tracker_store import ForgettingSQLTrackerStore
from tests.fixtures.console import CONSOLE_TOKEN
from tests.privacy.test_tracker_store import DOMAIN, _at, _save, _stored, _turn

OPERATOR_TOKEN = "test-operator-token"
DAY = 86400
REDIS_URL = "redis://127.0.0.1:6379/0"


def _record(wamid: str, sent_at: float) -> tuple:
    return wamid, {"message": {"from": "5491100000000", "id": wamid, "timestamp": str(int(sent_at)),
                               "type": "text", "text": {"body": "hola"}}}


@pytest.fixture
def whatsapp_files(tmp_path: Path, monkeypatch) -> Path:
    """A media folder and a delivery-record file with one old and one new entry each."""
    media = tmp_path / "media"
    media.mkdir()
    old, new = media / "old.jpg", media / "new.jpg"
    old.write_bytes(b"jpeg")
    new.write_bytes(b"jpeg")
    os.utime(old, (time.time() - 100 * DAY,) * 2)
    dedup = tmp_path / "processed.sqlite3"
    store = SQLiteProcessedMessageStore(str(dedup))
    store._claim([_record("wamid.OLD", time.time() - 100 * DAY), _record("wamid.NEW", time.time())])
    store._mark_done("wamid.NEW")
    with sqlite3.connect(dedup) as connection:
        connection.execute("UPDATE processed_messages SET received_at = ? WHERE wamid = 'wamid.OLD'",
                           (time.time() - 100 * DAY,))
    monkeypatch.setenv("WHATSAPP_MEDIA_DIR", str(media))
    monkeypatch.setenv("WHATSAPP_DEDUP_SQLITE_PATH", str(dedup))
    monkeypatch.delenv("WHATSAPP_DEDUP_REDIS_URL", raising=False)
    return tmp_path


@pytest.fixture
def city(start_city_services, console_service, monkeypatch) -> str:
    """The reference city services with one emergency report, and the operators' console."""
    service = start_city_services()
    monkeypatch.setenv("CITY_SERVICES_URL", service.base_url)
    monkeypatch.setenv("CITY_SERVICES_OPERATOR_TOKEN", OPERATOR_TOKEN)
    monkeypatch.setenv("CONSOLE_URL", console_service.url)
    monkeypatch.setenv("CONSOLE_API_TOKEN", CONSOLE_TOKEN)
    IncidentsClient(service.base_url).report("arbol_caido", "un árbol en mi vereda", "5491100000000", False)
    return service.base_url


async def _old_and_new_conversations(store: ForgettingSQLTrackerStore) -> None:
    await _save(store, "idle", _at(time.time() - 100 * DAY, _turn("viejo", "wamid.I")))
    await _save(store, "active", _at(time.time() - 3600, _turn("nuevo", "wamid.A")))


def _assert_whatsapp_files_purged(root: Path) -> None:
    assert sorted(os.listdir(root / "media")) == ["new.jpg"]
    with sqlite3.connect(root / "processed.sqlite3") as connection:
        assert [r[0] for r in connection.execute("SELECT wamid FROM processed_messages")] == ["wamid.NEW"]


async def test_purge_on_the_local_profile(whatsapp_files, city, tmp_path, monkeypatch, capsys):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: privacy.tracker_store.ForgettingSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {tmp_path / 'tracker.db'}\n", encoding="utf-8")
    store = ForgettingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    await _old_and_new_conversations(store)
    monkeypatch.setenv("RETENTION_DAYS", "90")

    assert purge.main(["--endpoints", str(endpoints)]) == 0

    printed = capsys.readouterr().out
    assert "older than 90 days" in printed
    assert "conversations: 1 whole conversations, 5 events deleted" in printed
    assert "photos: 1 files deleted" in printed
    assert "WhatsApp deliveries: 0 delivery records, 1 pending messages deleted" in printed
    assert "city services: 0 appointments, 0 service requests, 0 emergency reports anonymised" in printed
    assert "operators' console: 0 ended handoffs deleted" in printed
    assert _stored(store, "idle") == [] and len(_stored(store, "active")) == 5
    _assert_whatsapp_files_purged(whatsapp_files)


async def test_purge_with_days_0_anonymises_the_city_records(whatsapp_files, city, tmp_path, capsys):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: sqlite\n"
        f"  db: {tmp_path / 'tracker.db'}\n", encoding="utf-8")
    time.sleep(1.1)  # the emergency report is now older than 0 days (whole-second timestamps)
    assert purge.main(["--days", "0", "--endpoints", str(endpoints)]) == 0
    assert "0 service requests, 1 emergency reports anonymised" in capsys.readouterr().out


async def test_purge_on_the_production_profile(whatsapp_files, city, monkeypatch, capsys):
    name = f"vecino_purge_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    environment = {
        "PROFILE": "prod", "ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook",
        "DB_HOST": "127.0.0.1", "DB_PORT": "5432", "DB_NAME": name, "DB_USER": "postgres",
        # every variable endpoints.prod.yml reads (PostgreSQL here trusts local connections, so
        # the password is not checked; the purge touches neither the lock store nor the broker)
        "DB_PASSWORD": "not-checked-by-trust-auth", "DB_SSLMODE": "prefer", "ACTION_SERVER_TOKEN": "t",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379", "REDIS_PASSWORD": "unused",
        "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": "5672", "RABBITMQ_USER": "vecino",
        "RABBITMQ_PASSWORD": "unused",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    try:
        store = ForgettingSQLTrackerStore(domain=DOMAIN, dialect="postgresql", host="127.0.0.1",
                                          port=5432, db=name, username="postgres")
        await _old_and_new_conversations(store)
        store.engine.dispose()

        assert purge.main([]) == 0

        printed = capsys.readouterr().out
        assert "conversations: 1 whole conversations, 5 events deleted (postgresql://" in printed
        assert _stored(store, "idle") == [] and len(_stored(store, "active")) == 5
        _assert_whatsapp_files_purged(whatsapp_files)
        store.engine.dispose()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


async def test_purge_of_redis_delivery_records_and_pending_messages():
    prefix = f"test:purge:{uuid.uuid4().hex[:8]}"
    store = RedisProcessedMessageStore(REDIS_URL, prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        long_ago = time.time() - 100 * DAY
        await store.claim([_record("wamid.OLD-DONE", long_ago), _record("wamid.OLD-PENDING", long_ago),
                           _record("wamid.NEW", time.time())])
        await store.mark_done("wamid.OLD-DONE")
        client.set(f"{prefix}:wamid:wamid.OLD-DONE", long_ago)
        client.set(f"{prefix}:wamid:wamid.OLD-PENDING", long_ago)

        counts = purge_redis(REDIS_URL, before=time.time() - 90 * DAY, prefix=prefix)

        assert counts == {"dedup_records": 1, "pending_messages": 1}
        assert {k.decode() for k in client.scan_iter(match=f"{prefix}:*")} == {
            f"{prefix}:wamid:wamid.NEW", f"{prefix}:pending"}
        assert [p["message"]["id"] for p in await store.pending()] == ["wamid.NEW"]
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
        await store.close()


def test_purge_before_anything_was_stored(whatsapp_files, city, tmp_path, capsys):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: privacy.tracker_store.ForgettingSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {tmp_path / 'var' / 'tracker.db'}\n", encoding="utf-8")
    assert purge.main(["--endpoints", str(endpoints)]) == 0
    assert "conversations: nothing stored yet" in capsys.readouterr().out
    assert not (tmp_path / "var").exists(), "the purge creates no database"


def test_retention_days_default_and_environment():
    assert purge.retention_days(None, {}) == 90
    assert purge.retention_days(None, {"RETENTION_DAYS": "30"}) == 30
    assert purge.retention_days(7, {"RETENTION_DAYS": "30"}) == 7
    assert purge.default_endpoints({"PROFILE": "prod"}).name == "endpoints.prod.yml"
    assert purge.default_endpoints({}).name == "endpoints.yml"


async def test_make_purge_uses_the_stores_make_run_uses(tmp_path):
    """`make purge` as a user runs it: the project's own var/ stores, the reference city services
    started for the purge and stopped after it."""
    from tests.fixtures.city_services import free_port
    from tests.fixtures.project import project_copy, run_script_env

    root = project_copy(tmp_path / "vecino")
    (root / "var").mkdir()
    store = ForgettingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(root / "var" / "tracker.db"))
    await _old_and_new_conversations(store)
    port, console_port = free_port(), free_port()
    done = subprocess.run(
        ["make", "purge", "DAYS=30"], cwd=root, text=True, timeout=240,
        env=run_script_env(CITY_SERVICES_PORT=str(port), CONSOLE_PORT=str(console_port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "older than 30 days" in done.stdout
    assert "conversations: 1 whole conversations" in done.stdout, done.stdout[-2000:]
    assert f"(http://127.0.0.1:{port})" in done.stdout
    assert f"operators' console: 0 ended handoffs deleted (http://127.0.0.1:{console_port})" in done.stdout
    assert _stored(store, "idle") == [] and _stored(store, "active") != []
    with pytest.raises(requests.ConnectionError):  # the city services it started are gone
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
    with pytest.raises(requests.ConnectionError):  # and so is the console
        requests.get(f"http://127.0.0.1:{console_port}/api/health", timeout=2)
