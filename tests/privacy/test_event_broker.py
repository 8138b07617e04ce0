"""The masking event broker against the local RabbitMQ: events published through it arrive in
a queue of their own with DNI, plates, phone numbers and the sender masked."""
import asyncio
import json
import uuid
from typing import List

import aio_pika
import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

from privacy.event_broker import MaskingPikaEventBroker
from privacy.event_masking import mask_event
from trainers.masking import mask_sender

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SENDER = "5491123456789"
SENDER_KEY = "test-sender-key"
PERSONAL = ("30123456", "30.123.456", "AB123CD", "ABC123", "abc 123", "5491123456789",
            "1123456789", "4123-4567", "Caro")


def _events() -> List[dict]:
    user = UserUttered(
        "mi dni es 30.123.456, la patente AB123CD y la vieja abc 123; mi cel 11 2345 6789",
        {"name": "inform", "confidence": 0.93},
        [{"entity": "dni", "value": "30123456", "start": 10, "end": 20},
         {"entity": "plate", "value": "AB123CD", "start": 33, "end": 40}],
        message_id="wamid.HBgNNTQ5MTEyMzQ1Njc4ORUCABIYFDNBMEQ=",
        metadata={"whatsapp": {"profile_name": "Caro", "phone_number_id": "123456789012345",
                               "from": SENDER}},
    )
    return [
        {"sender_id": SENDER, **user.as_dict()},
        {"sender_id": SENDER, **SlotSet("dni", "30123456").as_dict()},
        {"sender_id": SENDER, **SlotSet("infractions_subject", "ABC123").as_dict()},
        {"sender_id": SENDER, **SlotSet("dni", 30123456).as_dict()},
        {"sender_id": SENDER, **BotUttered("Te llamamos al 011 4123-4567 por el DNI 30123456",
                                           metadata={"to": SENDER}).as_dict()},
    ]


def _assert_masked(event: dict) -> None:
    body = json.dumps(event, ensure_ascii=False)
    leaked = [value for value in PERSONAL if value in body]
    assert not leaked, f"{leaked} published in {body}"


def test_every_kind_is_masked_and_names_are_kept():
    masked = [mask_event(event, lambda s: mask_sender(s, b"k")) for event in _events()]
    for event in masked:
        _assert_masked(event)
    user = masked[0]
    assert user["text"] == "mi dni es <DNI>, la patente <PATENTE> y la vieja <PATENTE>; mi cel <TELEFONO>"
    assert user["parse_data"]["intent"] == {"name": "inform", "confidence": 0.93}
    assert [e["value"] for e in user["parse_data"]["entities"]] == ["<DNI>", "<PATENTE>"]
    assert [(e["name"], e["value"]) for e in masked[1:4]] == [
        ("dni", "<DNI>"), ("infractions_subject", "<PATENTE>"), ("dni", "<DNI>")]
    assert user["sender_id"] == mask_sender(SENDER, b"k")


async def test_published_events_arrive_masked_in_rabbitmq():
    queue_name = f"vecino_test_masked_{uuid.uuid4().hex[:10]}"
    config = EndpointConfig(
        url="127.0.0.1", type="privacy.event_broker.MaskingPikaEventBroker",
        username="guest", password="guest", queues=[queue_name], sender_key=SENDER_KEY,
    )
    broker = await EventBroker.create(config)
    assert isinstance(broker, MaskingPikaEventBroker)
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        for event in _events():
            broker.publish(event)
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        pseudonym = mask_sender(SENDER, SENDER_KEY.encode())
        received = []
        for _ in range(100):  # the fanout exchange also brings other tests' events: keep ours
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                if len(received) == len(_events()):
                    break
                await asyncio.sleep(0.1)
                continue
            body = json.loads(message.body)
            if body.get("sender_id") == pseudonym:
                received.append(body)
        assert [e["event"] for e in received] == ["user", "slot", "slot", "slot", "bot"]
        for event in received:
            _assert_masked(event)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
        await broker.close()
