"""Acceptance: "borrar mis datos" with the trained model, the project's guarded action server, the
reference city services, the operators' console and the forgetting tracker store (SQLite and PostgreSQL), as
endpoints.yml and endpoints.prod.yml wire them. After the citizen confirms, the tracker store
holds nothing of them, their photo, their city records and their handoffs are gone; after a "no", nothing is.
"""
import os
import uuid
from pathlib import Path
from typing import Iterator, List, Text

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from privacy.tracker_store import ForgettingSQLTrackerStore
from privacy.whatsapp_storage import WhatsAppStorage
from tests.fixtures.assistant import ACTION_SERVER_TOKEN
from tests.fixtures.console import queue_handoff
from tests.privacy.test_tracker_store import _store, store_settings  # noqa: F401 (a fixture)

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def _text_of(response: Text) -> Text:
    return DOMAIN.responses[response][0]["text"]


@pytest.fixture
def store(store_settings: dict, tmp_path: Path) -> Iterator[ForgettingSQLTrackerStore]:
    """The forgetting store on SQLite and on PostgreSQL (store_settings' parameters)."""
    storage = WhatsAppStorage(str(tmp_path / "media"), str(tmp_path / "processed.sqlite3"), None)
    store = _store(store_settings, storage)
    yield store
    store.engine.dispose()


@pytest.fixture
def agent(trained_model: Path, action_server: str, store: ForgettingSQLTrackerStore) -> Agent:
    return Agent.load(str(trained_model), action_endpoint=EndpointConfig(url=action_server, token=ACTION_SERVER_TOKEN),
                      tracker_store=store)


async def _say(agent: Agent, sender: Text, text: Text, metadata=None) -> List[Text]:
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, sender, metadata=metadata, input_channel="whatsapp"))
    return [message.get("text") for message in output.messages]


def _stored(store: ForgettingSQLTrackerStore, sender: Text) -> List[Text]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent.type_name).filter(store.SQLEvent.sender_id == sender)
        return [row for (row,) in rows]


async def test_confirmed_erasure_leaves_nothing_of_the_citizen(agent, store, console_service):
    sender = f"54911{uuid.uuid4().int % 10**8:08d}"
    storage = store.storage
    os.makedirs(storage.media_dir, exist_ok=True)
    photo = Path(storage.media_dir) / "987654321.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    queue_handoff(console_service, sender, "mi dni es 30123456")

    await _say(agent, sender, "hola")
    await _say(agent, sender, "mi dni es 30123456",
               metadata={"whatsapp": {"media": {"id": "987654321", "path": str(photo), "status": "stored"}}})
    assert "user" in _stored(store, sender)

    assert await _say(agent, sender, "che, borrame todos mis datos por favor") \
        == [_text_of("utter_confirm_delete_data")]
    answer = await _say(agent, sender, "sí")  # typed, accent and all (nlu_components/)

    assert len(answer) == 1 and answer[0].startswith("Listo, borré tus datos: 0 turno(s), 1 pedido(s)"), answer
    assert _stored(store, sender) == [], "the tracker store must hold nothing of the citizen"
    assert await store.retrieve(sender) is None
    assert not photo.exists()
    assert console_service.handoffs_of(sender) == []

    # Writing again starts from scratch, and is stored as usual.
    await _say(agent, sender, "hola")
    tracker = await store.retrieve(sender)
    assert [e.text for e in tracker.events if e.type_name == "user"] == ["hola"]


async def test_denied_erasure_keeps_everything(agent, store, console_service):
    sender = f"54911{uuid.uuid4().int % 10**8:08d}"
    queue_handoff(console_service, sender, "hola")

    assert await _say(agent, sender, "no quiero que guarden mi informacion, eliminenla") \
        == [_text_of("utter_confirm_delete_data")]
    assert await _say(agent, sender, "no") == [_text_of("utter_data_deletion_cancelled")]

    assert _stored(store, sender).count("user") == 2
    assert len(console_service.handoffs_of(sender)) == 1
