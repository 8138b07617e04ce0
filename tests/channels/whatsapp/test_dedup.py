"""Processed-message stores: SQLite (default) and Redis (WHATSAPP_DEDUP_REDIS_URL)."""
import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest

from channels.whatsapp.dedup import (
    ProcessedMessageStore,
    RedisProcessedMessageStore,
    SQLiteProcessedMessageStore,
)

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request, tmp_path: Path) -> AsyncIterator:
    prefix = f"test:{uuid.uuid4().hex}"
    stores = []

    def make() -> ProcessedMessageStore:
        if request.param == "sqlite":
            store = SQLiteProcessedMessageStore(str(tmp_path / "var" / "processed.sqlite3"))
        else:
            store = RedisProcessedMessageStore(REDIS_URL, prefix=prefix)
        stores.append(store)
        return store

    yield make
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    for store in stores:
        await store.close()


async def test_only_the_first_claim_wins(make_store) -> None:
    store = make_store()
    first = await store.claim([("wamid.A", {"n": 1}), ("wamid.B", {"n": 2}), ("wamid.A", {"n": 3})])
    assert first == {"wamid.A", "wamid.B"}
    assert await store.claim([("wamid.A", {}), ("wamid.C", {"n": 4})]) == {"wamid.C"}
    assert await store.claim([]) == set()


async def test_claims_survive_a_new_store_instance(make_store) -> None:
    await make_store().claim([("wamid.A", {"n": 1})])
    assert await make_store().claim([("wamid.A", {"n": 1})]) == set()


async def test_pending_until_done(make_store) -> None:
    store = make_store()
    await store.claim([("wamid.A", {"n": 1}), ("wamid.B", {"n": 2})])
    await store.mark_done("wamid.A")
    assert await make_store().pending() == [{"n": 2}]
    await store.mark_done("wamid.B")
    assert await store.pending() == []
    assert await store.claim([("wamid.B", {})]) == set(), "done ids stay claimed"
