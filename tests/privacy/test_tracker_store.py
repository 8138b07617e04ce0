"""The forgetting tracker store on SQLite and PostgreSQL: Rasa's SQL store when nothing is to
be forgotten, a conversation erased (with its photos and delivery records) when the turn ran
action_delete_my_data, and the retention purge."""
import asyncio
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
import redis
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from channels.whatsapp.dedup import RedisProcessedMessageStore, SQLiteProcessedMessageStore
from privacy.tracker_store import ForgettingSQLTrackerStore
from privacy.whatsapp_storage import WhatsAppStorage
from tests.fixtures.city_services import _pg_admin_url, fresh_pg_database

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request, tmp_path: Path) -> Iterator[dict]:
    """The keyword arguments of a tracker_store section of endpoints.yml."""
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
        return
    admin_url = _pg_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with fresh_pg_database(admin_url) as url:
        user_host, name = url.split("://", 1)[1].rsplit("/", 1)
        yield {"dialect": "postgresql", "url": "127.0.0.1", "port": 5432, "db": name,
               "username": user_host.split("@")[0]}


@pytest.fixture
def storage(tmp_path: Path) -> WhatsAppStorage:
    return WhatsAppStorage(
        media_dir=str(tmp_path / "media"),
        dedup_sqlite_path=str(tmp_path / "processed.sqlite3"),
        dedup_redis_url=None,
    )


def _store(settings: dict, storage: WhatsAppStorage) -> ForgettingSQLTrackerStore:
    kwargs = {**settings}
    host = kwargs.pop("url", None)
    return ForgettingSQLTrackerStore(domain=DOMAIN, host=host, whatsapp_storage=storage, **kwargs)


def _stored(store: SQLTrackerStore, sender_id: str) -> List[str]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id)
        return [row.type_name for row in rows.order_by(store.SQLEvent.id)]


def _photo(storage: WhatsAppStorage, name: str) -> str:
    os.makedirs(storage.media_dir, exist_ok=True)
    path = os.path.join(storage.media_dir, name)
    Path(path).write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    return path


def _turn(text: str, wamid: str, photo: str = None) -> List[Event]:
    metadata = {"whatsapp": {"media": {"id": "1", "path": photo, "status": "stored"}}} if photo else {}
    return [
        UserUttered(text, {"name": "inform", "confidence": 1.0}, message_id=wamid, metadata=metadata),
        SlotSet("dni", "30123456"),
        ActionExecuted("utter_inform_idle"),
        BotUttered("Anoté el dato"),
        ActionExecuted("action_listen"),
    ]


def _confirmed_erasure(wamid: str) -> List[Event]:
    return [
        UserUttered("sí", {"name": "affirm", "confidence": 1.0}, message_id=wamid),
        ActionExecuted("action_delete_my_data"),
        BotUttered("Listo, borré tus datos"),  # Rasa logs the action's messages first
        AllSlotsReset(),
        ActionExecuted("action_listen"),
    ]


async def _save(store: TrackerStore, sender_id: str, events: List[Event]) -> DialogueStateTracker:
    tracker = await store.get_or_create_tracker(sender_id, append_action_listen=False)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return tracker


def _message_record(wamid: str, sender: str) -> tuple:
    return wamid, {"message": {"from": sender, "id": wamid, "timestamp": str(int(time.time())),
                               "type": "text", "text": {"body": "hola"}}}


async def test_without_the_marker_it_saves_like_the_sql_store(store_settings, storage):
    store = _store(store_settings, storage)
    sender = "5491100000001"
    await _save(store, sender, [ActionExecuted("action_session_start"), SessionStarted()] + _turn("hola", "wamid.A"))
    await _save(store, sender, _turn("30123456", "wamid.B"))

    assert _stored(store, sender) == ["action", "session_started"] + ["user", "slot", "action", "bot", "action"] * 2
    tracker = await store.retrieve(sender)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hola", "30123456"]


async def test_the_confirmed_turn_erases_the_conversation_photos_and_deliveries(store_settings, storage, tmp_path):
    store = _store(store_settings, storage)
    sender, neighbour = "5491100000002", "5491100000003"
    photo, their_photo = _photo(storage, "111.jpg"), _photo(storage, "222.jpg")
    outside = tmp_path / "not-media.txt"
    outside.write_text("a file a forged reference could name")
    dedup = SQLiteProcessedMessageStore(storage.dedup_sqlite_path)
    await dedup.claim([_message_record("wamid.MINE1", sender), _message_record("wamid.MINE2", sender),
                       _message_record("wamid.THEIRS", neighbour), _message_record("wamid.MINE-PENDING", sender)])
    await dedup.mark_done("wamid.MINE1")
    await dedup.close()

    await _save(store, sender, [SessionStarted()] + _turn("foto", "wamid.MINE1", photo))
    await _save(store, sender, _turn("otra", "wamid.OLD", str(outside)))
    await _save(store, neighbour, [SessionStarted()] + _turn("foto", "wamid.THEIRS", their_photo))
    await _save(store, sender, _confirmed_erasure("wamid.MINE2"))

    assert _stored(store, sender) == []
    assert await store.retrieve(sender) is None
    assert not os.path.exists(photo)
    assert outside.exists(), "a path outside the media folder is never deleted"
    assert _stored(store, neighbour) == ["session_started", "user", "slot", "action", "bot", "action"]
    assert os.path.exists(their_photo)
    with sqlite3.connect(storage.dedup_sqlite_path) as connection:
        left = {row[0] for row in connection.execute("SELECT wamid FROM processed_messages")}
    assert left == {"wamid.THEIRS"}

    # The citizen writes again: a new conversation, saved as usual and nothing of the old one.
    await _save(store, sender, [SessionStarted()] + _turn("hola de nuevo", "wamid.NEW"))
    tracker = await store.retrieve(sender)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hola de nuevo"]
    assert _stored(store, sender) == ["session_started", "user", "slot", "action", "bot", "action"]


async def test_an_erasure_that_never_ran_keeps_the_conversation(store_settings, storage):
    """Rasa logs the action even when the action server failed; then the action returned nothing."""
    store = _store(store_settings, storage)
    sender = "5491100000008"
    await _save(store, sender, [SessionStarted()] + _turn("hola", "wamid.K1"))
    failed = [e for e in _confirmed_erasure("wamid.K2") if not isinstance(e, AllSlotsReset)]
    await _save(store, sender, failed)
    assert _stored(store, sender) == ["session_started"] + ["user", "slot", "action", "bot", "action"] \
        + ["user", "action", "bot", "action"]
    # nor does a reset returned by another action later in the turn count
    other = _confirmed_erasure("wamid.K3")
    other.insert(2, ActionExecuted("action_stop"))
    await _save(store, sender, other)
    assert "session_started" in _stored(store, sender)


async def test_the_erasure_reaches_redis_deliveries(store_settings, tmp_path):
    prefix = f"test:forget:{uuid.uuid4().hex[:8]}"
    storage = WhatsAppStorage(str(tmp_path / "media"), str(tmp_path / "p.sqlite3"), REDIS_URL, prefix)
    store = _store(store_settings, storage)
    sender, neighbour = "5491100000004", "5491100000005"
    dedup = RedisProcessedMessageStore(REDIS_URL, prefix=prefix)
    try:
        await dedup.claim([_message_record("wamid.R1", sender), _message_record("wamid.R-PENDING", sender),
                           _message_record("wamid.R-THEIRS", neighbour)])
        await dedup.mark_done("wamid.R1")
        await _save(store, sender, [SessionStarted()] + _turn("hola", "wamid.R1"))
        await _save(store, sender, _confirmed_erasure("wamid.R2"))

        client = redis.Redis.from_url(REDIS_URL)
        keys = {k.decode() for k in client.scan_iter(match=f"{prefix}:*")}
        assert keys == {f"{prefix}:wamid:wamid.R-THEIRS", f"{prefix}:pending"}
        assert [p["message"]["id"] for p in await dedup.pending()] == ["wamid.R-THEIRS"]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
        await dedup.close()


async def test_rasa_builds_it_from_the_endpoint_type(store_settings, storage):
    kwargs = {**store_settings}
    url = kwargs.pop("url", None)
    config = EndpointConfig(url=url, type="privacy.tracker_store.ForgettingSQLTrackerStore", **kwargs)
    store = TrackerStore.create(config, domain=DOMAIN)
    assert isinstance(store, ForgettingSQLTrackerStore)
    assert store.domain.slots == DOMAIN.slots


def _at(timestamp: float, events: List[Event]) -> List[Event]:
    for event in events:
        event.timestamp = timestamp
    return events


async def test_purge_deletes_idle_conversations_and_past_sessions_only(store_settings, storage):
    store = _store(store_settings, storage)
    now = time.time()
    long_ago, recently = now - 100 * 86400, now - 3600
    idle, active = "5491100000006", "5491100000007"
    await _save(store, idle, _at(long_ago, [SessionStarted()] + _turn("viejo", "wamid.I")))
    await _save(store, active, _at(long_ago, [SessionStarted()] + _turn("viejo", "wamid.A1")))
    await _save(store, active, _at(recently, [SessionStarted()] + _turn("nuevo", "wamid.A2")))

    counts = store.purge_older_than(now - 90 * 86400)

    assert counts == {"conversations": 1, "events": 12}
    assert _stored(store, idle) == []
    assert _stored(store, active) == ["session_started", "user", "slot", "action", "bot", "action"]
    # The latest session is untouched, so the next save adds only the new turn.
    await _save(store, active, _turn("otra", "wamid.A3"))
    assert _stored(store, active) == ["session_started"] + ["user", "slot", "action", "bot", "action"] * 2
