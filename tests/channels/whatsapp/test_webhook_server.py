"""The webhook on a port and event loop of its own (channels/whatsapp/webhook_server.py)."""
import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, AsyncIterator, Callable, Dict, Optional, Text, Tuple

import aiohttp
import pytest

from channels.whatsapp.payloads import parse_notification
from channels.whatsapp.signature import SIGNATURE_HEADER, compute_signature
from tests.channels.whatsapp.helpers import (
    APP_SECRET,
    VERIFY_TOKEN,
    WEBHOOK,
    ChannelHarness,
    StubAgent,
    graph_call_kinds,
    graph_texts,
    load_payload,
    with_message,
)
from tests.fixtures.graph_api import FakeGraphApi


@pytest.fixture
async def served(make_harness) -> AsyncIterator[Callable[..., ChannelHarness]]:
    """A harness whose channel also serves the webhook on a port of its own."""
    started = []

    def make(**kwargs: Any) -> ChannelHarness:
        harness = make_harness(webhook_port=0, webhook_host="127.0.0.1", **kwargs)
        harness.channel._app = harness.app  # as the start listener does
        harness.channel.start_webhook_server()
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.channel.stop_webhook_server()


def url(harness: ChannelHarness, path: Text = WEBHOOK) -> Text:
    return f"http://127.0.0.1:{harness.channel.webhook_port}{path}"


async def post(harness: ChannelHarness, body: Dict[Text, Any], secret: Optional[Text] = APP_SECRET) -> Tuple[int, Text]:
    raw = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = compute_signature(secret, raw)
    async with aiohttp.ClientSession() as session:
        async with session.post(url(harness), data=raw, headers=headers) as response:
            return response.status, await response.text()


def text_from(sender: Text, wamid: Text, body: Text, timestamp: int = 1763900000) -> Dict[Text, Any]:
    payload = with_message(
        load_payload("text"), id=wamid, text={"body": body}, timestamp=str(timestamp), **{"from": sender}
    )
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    return payload


async def test_a_signed_delivery_on_the_own_port_gets_its_turn_and_answer(
    served, fake_graph_api: FakeGraphApi
) -> None:
    harness = served()
    status, _ = await post(harness, text_from("5491155550301", "wamid.WS1", "hola"))
    assert status == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["hola"]
    assert graph_texts(fake_graph_api, "5491155550301") == ["echo hola"]


async def test_unsigned_or_wrongly_signed_deliveries_are_refused_without_a_turn(served) -> None:
    harness = served()
    payload = text_from("5491155550302", "wamid.WS2", "hola")
    assert (await post(harness, payload, secret=None))[0] == 401
    assert (await post(harness, payload, secret="not-the-app-secret"))[0] == 403
    await harness.channel.drain()
    assert harness.agent.handled == []


async def test_a_body_that_is_not_a_webhook_gets_400(served) -> None:
    harness = served()
    raw = b"{not json"
    headers = {SIGNATURE_HEADER: compute_signature(APP_SECRET, raw)}
    async with aiohttp.ClientSession() as session:
        async with session.post(url(harness), data=raw, headers=headers) as response:
            assert response.status == 400


async def post_raw(harness: ChannelHarness, raw: bytes, secret: Optional[Text] = APP_SECRET) -> int:
    headers = {SIGNATURE_HEADER: compute_signature(secret, raw)} if secret else {}
    async with aiohttp.ClientSession() as session:
        async with session.post(url(harness), data=raw, headers=headers) as response:
            return response.status


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"[" * 100_000 + b"]" * 100_000, 400),
        ('{"entry": [], "x": "señal"}'.encode("latin-1"), 400),
        (b'{"entry": [{"changes": [', 400),
        (b" " * (8 * 1024 * 1024 + 1), 413),
    ],
    ids=["recursion", "latin-1", "truncated", "oversized"],
)
async def test_hostile_bodies_on_the_own_port_get_4xx(served, raw: bytes, expected: int) -> None:
    harness = served()
    assert await post_raw(harness, raw) == expected
    await harness.channel.drain()
    assert harness.agent.handled == []


async def test_a_malformed_message_on_the_own_port_is_200_and_its_sibling_runs(served) -> None:
    harness = served()
    payload = text_from("5491155550311", "wamid.WS11", "hola")
    payload["entry"][0]["changes"][0]["value"]["messages"].append({"type": "text", "text": "hi"})
    assert (await post(harness, payload))[0] == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["hola"]


async def test_the_subscription_handshake_and_health_are_served_too(served) -> None:
    harness = served()
    async with aiohttp.ClientSession() as session:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        async with session.get(url(harness), params=query) as response:
            assert (response.status, await response.text()) == (200, "1158201444")
        query["hub.verify_token"] = "wrong"
        async with session.get(url(harness), params=query) as response:
            assert response.status == 403
        async with session.get(url(harness, "/webhooks/whatsapp/")) as response:
            assert (await response.json())["status"] == "ok"


async def test_statuses_received_on_the_own_port_are_counted(served) -> None:
    harness = served()
    status, _ = await post(harness, load_payload("status_delivered"))
    assert status == 200
    await asyncio.sleep(0)  # the hand-over runs on this loop
    assert harness.channel.health()[1]["statuses"] == {"delivered": 1}


async def test_a_redelivery_is_answered_once_whichever_port_it_reaches(
    served, fake_graph_api: FakeGraphApi
) -> None:
    harness = served()
    payload = text_from("5491155550303", "wamid.WS3", "hola")
    assert (await post(harness, payload))[0] == 200
    await harness.channel.drain()
    assert (await post(harness, payload))[0] == 200
    await harness.channel.drain()
    assert len(harness.agent.handled) == 1
    assert graph_texts(fake_graph_api, "5491155550303") == ["echo hola"]


async def test_one_citizens_messages_in_one_delivery_run_in_timestamp_order(served) -> None:
    harness = served()
    sender = "5491155550304"
    later = text_from(sender, "wamid.WS5", "segundo", timestamp=1763900010)
    earlier = text_from(sender, "wamid.WS4", "primero", timestamp=1763900005)
    messages = later["entry"][0]["changes"][0]["value"]["messages"]
    messages.append(earlier["entry"][0]["changes"][0]["value"]["messages"][0])
    assert (await post(harness, later))[0] == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["primero", "segundo"]


async def test_the_webhook_is_acknowledged_while_rasa_holds_its_event_loop(served, project_domain) -> None:
    """A turn that blocks Rasa's loop (as NLU and policies do) does not hold the 200 back."""
    acknowledged = threading.Event()
    statuses = []
    second = text_from("5491155550306", "wamid.WS7", "hola")

    def post_from_another_thread(port: int) -> None:
        raw = json.dumps(second).encode("utf-8")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{WEBHOOK}",
            data=raw,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: compute_signature(APP_SECRET, raw)},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            statuses.append(response.status)
        acknowledged.set()

    class BlockingAgent(StubAgent):
        blocked_until_acknowledged: Optional[bool] = None

        async def handle_message(self, message: Any) -> None:
            if message.text == "bloqueo":
                thread = threading.Thread(target=post_from_another_thread, args=(harness.channel.webhook_port,))
                thread.start()
                # blocks this event loop, as a long stretch of Rasa's NLU would
                BlockingAgent.blocked_until_acknowledged = acknowledged.wait(10)
                thread.join(10)
            await super().handle_message(message)

    harness = served(agent=BlockingAgent(project_domain))
    assert (await post(harness, text_from("5491155550305", "wamid.WS6", "bloqueo")))[0] == 200
    await harness.channel.drain()
    assert BlockingAgent.blocked_until_acknowledged is True
    assert statuses == [200]
    await harness.channel.drain()  # the second message was handed over meanwhile
    assert sorted(m.text for m in harness.agent.handled) == ["bloqueo", "hola"]


async def test_after_stopping_the_port_no_longer_accepts_deliveries(served) -> None:
    harness = served()
    port = harness.channel.webhook_port
    await harness.channel.stop_webhook_server()
    assert harness.channel.webhook_port is None
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/")


async def test_a_taken_port_stops_the_start_with_a_clear_error(make_harness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        harness = make_harness(webhook_port=taken.getsockname()[1], webhook_host="127.0.0.1")
        with pytest.raises(RuntimeError, match="WHATSAPP_WEBHOOK_PORT"):
            harness.channel.start_webhook_server()
        assert harness.channel.webhook_port is None


async def test_without_a_port_no_server_is_started(harness) -> None:
    harness.channel.start_webhook_server()
    assert harness.channel.webhook_port is None


async def test_a_store_failure_on_the_own_port_asks_meta_to_retry_and_holds_nothing_back(
    served, fake_graph_api: FakeGraphApi
) -> None:
    harness = served()
    working_store = harness.channel.store

    class BrokenStore:
        async def claim(self, records: Any) -> Any:
            raise OSError("disk full")

    harness.channel.store = BrokenStore()
    sender = "5491155550307"
    assert (await post(harness, text_from(sender, "wamid.WS8", "hola")))[0] == 503
    await asyncio.sleep(0)  # the claim's release is handed to this loop
    assert harness.channel._claiming.get(sender) is None

    harness.channel.store = working_store
    assert (await post(harness, text_from(sender, "wamid.WS9", "de nuevo", timestamp=1763900020)))[0] == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["de nuevo"]
    assert graph_texts(fake_graph_api, sender) == ["echo de nuevo"]


class _ReceiptWatchingAgent(StubAgent):
    """Holds the event loop inside the turn until the fake Graph API has its read receipt."""

    fake: Optional[FakeGraphApi] = None
    hold_s = 5.0
    receipt_seen_during_turn: Optional[bool] = None

    async def handle_message(self, message: Any) -> None:
        assert self.fake is not None
        # blocks this loop, as Rasa's NLU and policies do for tens of milliseconds
        type(self).receipt_seen_during_turn = self.fake.wait_for(
            lambda fake: any(r["message_id"] == message.message_id for r in fake.read_receipts()),
            timeout=self.hold_s,
        )
        await super().handle_message(message)


async def test_on_the_own_port_the_read_receipt_goes_out_while_rasa_holds_its_loop(
    served, project_domain, fake_graph_api: FakeGraphApi
) -> None:
    class Agent(_ReceiptWatchingAgent):
        fake = fake_graph_api

    harness = served(agent=Agent(project_domain))
    sender = "5491155550308"
    assert (await post(harness, text_from(sender, "wamid.WS10", "hola")))[0] == 200
    await harness.channel.drain()
    assert Agent.receipt_seen_during_turn is True
    assert graph_call_kinds(fake_graph_api) == ["read", "reply"], "the blue ticks still come before the answer"
    assert graph_texts(fake_graph_api, sender) == ["echo hola"]


async def test_on_rasas_port_the_read_receipt_waits_for_the_turn_to_yield(
    make_harness, project_domain, fake_graph_api: FakeGraphApi
) -> None:
    """The control: without the own port the receipt is a task on Rasa's busy loop."""

    class Agent(_ReceiptWatchingAgent):
        fake = fake_graph_api
        hold_s = 0.5  # the answer: it never comes while the loop is held

    harness = make_harness(agent=Agent(project_domain))
    await harness.deliver(text_from("5491155550309", "wamid.WS11", "hola"))
    await harness.channel.drain()
    assert Agent.receipt_seen_during_turn is False
    assert [r["message_id"] for r in fake_graph_api.read_receipts()] == ["wamid.WS11"]


async def test_a_failing_read_receipt_on_the_own_port_holds_no_answer_back(
    served, fake_graph_api: FakeGraphApi
) -> None:
    harness = served()
    fake_graph_api.fail_next(400, 100, details="receipt refused")  # not retried
    sender = "5491155550310"
    assert (await post(harness, text_from(sender, "wamid.WS12", "hola")))[0] == 200
    await harness.channel.drain()
    assert graph_texts(fake_graph_api, sender) == ["echo hola"]


async def test_stopping_the_server_closes_the_graph_session_of_its_loop(served) -> None:
    harness = served()
    assert (await post(harness, text_from("5491155550311", "wamid.WS13", "hola")))[0] == 200
    await harness.channel.drain()
    server_loops = [loop for loop in harness.channel.client._sessions if loop is not asyncio.get_running_loop()]
    assert server_loops, "the receipt went out from the server's own session"
    await harness.channel.stop_webhook_server()
    assert not any(loop in harness.channel.client._sessions for loop in server_loops)


async def test_a_receipt_whose_waiter_gave_up_resolves_quietly(served, caplog) -> None:
    """Cancelling the turn's wait for a receipt must not break the server's loop."""
    harness = served()
    server_loop = harness.channel._webhook_server._loop

    async def start_receipt() -> Any:
        (parsed,) = parse_notification(load_payload("text")).messages
        receipts = harness.channel._send_receipts([parsed], {parsed.id})
        receipts[parsed.id].cancel()  # as wrap_future does when its waiter is cancelled
        await asyncio.wait(set(harness.channel._receipts_in_flight), timeout=5)
        return receipts[parsed.id]

    with caplog.at_level("ERROR"):
        receipt = asyncio.run_coroutine_threadsafe(start_receipt(), server_loop).result(10)
        await harness.channel.stop_webhook_server()  # the server's loop still stops cleanly
    assert receipt.cancelled()
    assert not [r for r in caplog.records if "Exception in callback" in r.getMessage()]


async def test_a_delivery_received_while_rasa_stops_gets_503_and_is_replayed_at_the_next_start(
    served, make_harness
) -> None:
    harness = served()
    # Rasa's loop closes first when the process stops; the own port may still be answering
    stopped = asyncio.new_event_loop()
    stopped.close()
    harness.channel._webhook_server._rasa_loop = stopped
    sender = "5491155550311"
    status, body = await post(harness, text_from(sender, "wamid.STOP1", "llegó al apagar"))
    assert (status, body) == (503, "retry later")  # Meta retries; not aiohttp's 500 and traceback
    await harness.channel.stop_webhook_server()
    await harness.channel.store.close()

    restarted = make_harness()  # same processed-message store
    restarted.channel._app = restarted.app
    await restarted.channel._replay_pending()
    await restarted.channel.drain()
    assert [m.text for m in restarted.agent.handled] == ["llegó al apagar"]
    assert (await restarted.deliver(text_from(sender, "wamid.STOP1", "llegó al apagar"))).status_code == 200
    assert len(restarted.agent.handled) == 1  # Meta's retry finds it recorded: one answer
