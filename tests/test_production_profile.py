"""The production profile (endpoints.prod.yml) on the real services of the machine: conversations
in PostgreSQL, per-conversation locks in Redis, every event published to RabbitMQ, each with a
password as production requires (scripts/run.sh refuses to start without them)."""
import asyncio
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import aio_pika
import psycopg2
import pytest
from rasa.core.agent import load_agent
from rasa.core.brokers.pika import RABBITMQ_EXCHANGE
from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.core.utils import AvailableEndpoints

from trainers.masking import mask_sender
from tests.fixtures.assistant import ACTION_SERVER_TOKEN
from tests.fixtures.city_services import free_port

ROOT = Path(__file__).resolve().parent.parent
EXCHANGE = RABBITMQ_EXCHANGE  # Rasa's pika broker fans events out to the queues of endpoints.prod.yml
pytestmark = pytest.mark.model


def _sql(statement: str, params: tuple = (), dbname: str = "postgres") -> list:
    """Runs one statement in autocommit mode (CREATE/DROP DATABASE refuse a transaction)."""
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@pytest.fixture(scope="module")
def redis_with_password(tmp_path_factory):
    """A private Redis that requires a password (the shared one on :6379 has none)."""
    port, password = free_port(), uuid.uuid4().hex
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password,
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password=password)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the private redis-server did not start")
            time.sleep(0.1)
    try:
        yield port, password
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def rabbitmq_user():
    """A RabbitMQ user of this module only: production never publishes as guest."""
    name, password = f"vecino_test_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    subprocess.run(["rabbitmqctl", "add_user", name, password], check=True, capture_output=True)
    try:
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", "/", name, ".*", ".*", ".*"],
                       check=True, capture_output=True)
        yield name, password
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", name], capture_output=True)


@pytest.fixture
def production_environment(monkeypatch, redis_with_password, rabbitmq_user, action_server):
    """The variables endpoints.prod.yml reads, pointing at a fresh PostgreSQL database."""
    name = f"vecino_prod_{uuid.uuid4().hex[:8]}"
    _sql(f'CREATE DATABASE "{name}"')
    redis_port, redis_password = redis_with_password
    rabbitmq_name, rabbitmq_password = rabbitmq_user
    values = {
        # every session starts with the project's action_session_start: a real action server
        "ACTION_ENDPOINT_URL": action_server, "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN,
        # PostgreSQL here trusts local connections: any password passes, but one is given as in production
        "DB_HOST": "127.0.0.1", "DB_PORT": "5432", "DB_NAME": name, "DB_USER": "postgres",
        "DB_PASSWORD": "not-checked-by-trust-auth", "DB_SSLMODE": "prefer",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port), "REDIS_PASSWORD": redis_password,
        "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": "5672",
        "RABBITMQ_USER": rabbitmq_name, "RABBITMQ_PASSWORD": rabbitmq_password,
        "EVENT_BROKER_SENDER_KEY": "test-sender-key",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    yield name
    _sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    _sql(f'DROP DATABASE IF EXISTS "{name}"')


class EventSubscriber:
    """A private queue on Rasa's fanout exchange: sees every event published from now on, without
    taking them from the durable queue that the operators' consumers read."""

    async def __aenter__(self) -> "EventSubscriber":
        self._connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")  # test reader only
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(EXCHANGE, type=aio_pika.ExchangeType.FANOUT)
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self._queue.bind(exchange, "")
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._connection.close()

    async def events_of(self, sender_id: str, until_action: str, timeout: float = 20.0) -> list:
        """This conversation's events, up to the bot action `until_action`.

        The broker publishes the sender as a pseudonym (privacy/event_broker.py)."""
        sender_id = mask_sender(sender_id, b"test-sender-key")
        loop = asyncio.get_running_loop()
        events, deadline = [], loop.time() + timeout
        while loop.time() < deadline:
            if any(e["event"] == "action" and e.get("name") == until_action for e in events):
                break
            message = await self._queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            body = json.loads(message.body)
            if body.get("sender_id") == sender_id:
                events.append(body)
        return events


async def test_a_conversation_is_stored_locked_and_published(trained_model, production_environment):
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.prod.yml"))
    agent = await load_agent(model_path=str(trained_model), endpoints=endpoints)
    # Rasa wraps the configured store in a FailSafeTrackerStore that falls back to memory on errors.
    assert isinstance(getattr(agent.tracker_store, "_tracker_store", agent.tracker_store), SQLTrackerStore)
    assert isinstance(agent.lock_store, RedisLockStore)
    # the secrets and TLS options of the environment reach the stores
    assert agent.tracker_store._tracker_store.engine.url.query.get("sslmode") == "prefer"
    connection = agent.lock_store.red.connection_pool.connection_kwargs
    assert connection["password"] == os.environ["REDIS_PASSWORD"]
    assert "ssl" not in connection or not connection["ssl"]

    sender = f"prod-test-{uuid.uuid4().hex[:8]}"
    async with EventSubscriber() as subscriber:
        # Two messages of one citizen at once: the Redis lock serialises them in arrival order.
        replies = await asyncio.gather(
            agent.handle_text("menu", sender_id=sender), agent.handle_text("gracias", sender_id=sender)
        )
        published = await subscriber.events_of(sender, until_action="utter_thank")
    assert replies[0] and replies[1], "both messages must be answered"

    stored = "SELECT {} FROM events WHERE sender_id = %s AND type_name = %s ORDER BY id"
    intents = _sql(stored.format("intent_name"), (sender, "user"), dbname=production_environment)
    assert [row[0] for row in intents] == ["help", "thank"]
    actions = [row[0] for row in _sql(stored.format("action_name"), (sender, "action"), dbname=production_environment)]
    assert actions[actions.index("action_show_menu"):] == ["action_show_menu", "action_listen", "utter_thank", "action_listen"]

    assert [e["event"] for e in published].count("user") == 2
    assert sender not in json.dumps(published), "the sender id is published as a pseudonym only"
    assert {e.get("name") for e in published if e["event"] == "action"} >= {"action_show_menu", "utter_thank"}
    if agent.tracker_store.event_broker:
        await agent.tracker_store.event_broker.close()


async def test_a_whatsapp_turn_is_stored_and_published(trained_model, production_environment, fake_graph_api, tmp_path):
    """A citizen's WhatsApp message is stored in PostgreSQL and its events published to RabbitMQ."""
    from channels.whatsapp import WhatsAppConfig, WhatsAppInput
    from tests.channels.whatsapp.helpers import ChannelHarness, channel_credentials, load_payload, with_message

    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.prod.yml"))
    agent = await load_agent(model_path=str(trained_model), endpoints=endpoints)
    config = WhatsAppConfig.from_credentials(channel_credentials(fake_graph_api.base_url, tmp_path), environ={})
    harness = ChannelHarness(WhatsAppInput(config), agent)
    sender = f"54911{uuid.uuid4().int % 10**8:08d}"
    payload = with_message(load_payload("text"), id=f"wamid.PROD{uuid.uuid4().hex}", text={"body": "gracias"})
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = sender
    try:
        async with EventSubscriber() as subscriber:
            assert (await harness.deliver(payload)).status_code == 200
            published = await subscriber.events_of(sender, until_action="utter_thank")
        stored = _sql(
            "SELECT intent_name FROM events WHERE sender_id = %s AND type_name = 'user'",
            (sender,),
            dbname=production_environment,
        )
        assert [row[0] for row in stored] == ["thank"]
        assert [e["event"] for e in published].count("user") == 1
        assert "utter_thank" in {e.get("name") for e in published if e["event"] == "action"}
        assert fake_graph_api.sent_messages(sender), "the answer went out through the Graph API"
    finally:
        await harness.channel.client.close()
        await harness.channel.store.close()
        if agent.tracker_store.event_broker:
            await agent.tracker_store.event_broker.close()
