"""Webhook routes through rasa.core.run.configure_app, with a stub agent and the fake Graph API."""
import asyncio
import contextvars
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, Text, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from channels.whatsapp import WhatsAppConfig, WhatsAppInput, WhatsAppOutput
from tests.channels.whatsapp.helpers import (
    VERIFY_TOKEN,
    WEBHOOK,
    ChannelHarness,
    StubAgent,
    first_message,
    graph_call_kinds,
    graph_texts,
    load_payload,
    with_message,
)
from tests.fixtures.graph_api import FakeGraphApi

SENDER = "5491155550101"


# ---- verification handshake -------------------------------------------------------


def test_verify_handshake_answers_the_challenge(harness: ChannelHarness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    _, response = harness.app.test_client.get(WEBHOOK, params=params)
    assert response.status == 200 and response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_verify_handshake_rejects_anything_else(harness: ChannelHarness, params) -> None:
    _, response = harness.app.test_client.get(WEBHOOK, params=params)
    assert response.status == 403


def test_health_route(harness: ChannelHarness) -> None:
    _, response = harness.app.test_client.get("/webhooks/whatsapp/")
    assert response.status == 200 and response.json["status"] == "ok"


# ---- signature and body checks ----------------------------------------------------


async def test_missing_signature_is_401_and_no_turn(harness: ChannelHarness) -> None:
    response = await harness.deliver(load_payload("text"), secret=None)
    assert response.status_code == 401
    assert harness.agent.handled == []


async def test_wrong_signature_is_403_and_no_turn(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    response = await harness.deliver(load_payload("text"), secret="not-the-app-secret")
    assert response.status_code == 403
    assert harness.agent.handled == [] and fake_graph_api.requests == []


async def test_body_changed_after_signing_is_403(harness: ChannelHarness) -> None:
    raw = json.dumps(load_payload("text")).encode()
    from channels.whatsapp.signature import SIGNATURE_HEADER, compute_signature

    headers = {SIGNATURE_HEADER: compute_signature("test-app-secret-7f3e9a", raw), "Content-Type": "application/json"}
    _, response = await harness.app.asgi_client.post(WEBHOOK, content=raw + b" ", headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("body", [b"not json", b"{\"object\": \"whatsapp_business_account\"}", b"[]"])
async def test_signed_but_invalid_body_is_400(harness: ChannelHarness, body: bytes) -> None:
    response = await harness.deliver(body)
    assert response.status_code == 400 and harness.agent.handled == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [',  # truncated
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser recurses
        b'{"entry": ' + b"[" * 40 + b"]" * 40 + b"}",  # deeper than any delivery
        '{"object": "whatsapp_business_account", "entry": []}'.encode("utf-16"),
        '{"object": "whatsapp_business_account", "entry": [], "x": "señal"}'.encode("latin-1"),
        b'{"entry": [], "n": ' + b"9" * 5000 + b"}",  # an integer Python refuses to convert
        b"\x00\x01\x02",
    ],
    ids=["truncated", "recursion", "too-deep", "utf-16", "latin-1", "huge-int", "binary"],
)
async def test_signed_hostile_bodies_get_400_never_500(harness: ChannelHarness, body: bytes) -> None:
    response = await harness.deliver(body)
    assert response.status_code == 400, response.text
    assert harness.agent.handled == []


async def test_an_oversized_body_gets_413_before_its_signature_is_computed(harness: ChannelHarness) -> None:
    from channels.whatsapp.webhook_server import MAX_BODY_BYTES

    response = await harness.deliver(b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413 and harness.agent.handled == []


@pytest.mark.parametrize(
    "bad_message",
    ["x", {"from": "5491155550999", "id": "wamid.HOSTILE1", "type": "text", "text": "hi"}],
    ids=["a-string", "text-not-an-object"],
)
async def test_a_signed_delivery_with_a_malformed_message_is_200_and_its_siblings_get_their_turns(
    harness: ChannelHarness, bad_message
) -> None:
    # issue 14: this raised AttributeError -> 500, and Meta redelivered the whole delivery for days
    payload = load_payload("multi_entry")
    payload["entry"][0]["changes"][0]["value"]["messages"].insert(1, bad_message)
    response = await harness.deliver(payload)
    assert response.status_code == 200, response.text
    assert len(harness.agent.handled) == 3, "the valid messages of the delivery each get a turn"


async def test_a_signed_delivery_of_only_malformed_items_is_200_without_turns(harness: ChannelHarness) -> None:
    payload = load_payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"] = ["x", 1, None]
    response = await harness.deliver(payload)
    assert response.status_code == 200 and harness.agent.handled == []
    assert harness.channel.health()[1]["malformed_items"] == 3


async def test_unsigned_webhooks_only_with_the_development_flag(make_harness) -> None:
    harness = make_harness(app_secret=None, allow_unsigned_webhooks=True)
    response = await harness.deliver(load_payload("text"), secret=None)
    assert response.status_code == 200 and len(harness.agent.handled) == 1


# ---- message mapping --------------------------------------------------------------


async def test_text_message_becomes_one_user_message(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("text")
    response = await harness.deliver(payload)
    assert response.status_code == 200
    (message,) = harness.agent.handled
    raw = first_message(payload)
    assert isinstance(message, UserMessage)
    assert (message.text, message.sender_id, message.message_id, message.input_channel) == (
        raw["text"]["body"],
        raw["from"],
        raw["id"],
        "whatsapp",
    )
    whatsapp = message.metadata["whatsapp"]
    assert whatsapp["profile_name"] == "Lucía Fernández"
    assert whatsapp["type"] == "text" and whatsapp["wamid"] == raw["id"]
    assert graph_texts(fake_graph_api, SENDER) == [f"echo {raw['text']['body']}"]
    kinds = graph_call_kinds(fake_graph_api)
    assert kinds == ["read", "reply"], "blue ticks and typing indicator come before the answer"
    (receipt,) = fake_graph_api.read_receipts()
    assert receipt == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": raw["id"],
        "typing_indicator": {"type": "text"},
    }
    assert fake_graph_api.violations == []


@pytest.mark.parametrize(
    "name, expected",
    [
        ("interactive_button_reply", "/green_points"),
        ("interactive_list_reply", '/inform{"barrio": "Palermo"}'),
        ("button", "/appointments_list"),
    ],
)
async def test_button_and_list_taps_send_their_payload(harness: ChannelHarness, name: str, expected: str) -> None:
    await harness.deliver(load_payload(name))
    (message,) = harness.agent.handled
    assert message.text == expected
    assert message.metadata["whatsapp"]["context_id"] == first_message(load_payload(name))["context"]["id"]


async def test_location_reaches_rasa_as_inform_with_the_pin_in_metadata(harness: ChannelHarness) -> None:
    payload = load_payload("location")
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    raw = first_message(payload)["location"]
    assert message.text.startswith("/inform")
    assert message.metadata["whatsapp"]["location"] == {
        "latitude": raw["latitude"],
        "longitude": raw["longitude"],
        "name": raw["name"],
        "address": raw["address"],
    }
    entities = json.loads(message.text[len("/inform"):] or "{}")
    declared = set(harness.agent.domain.entities)
    assert set(entities) <= declared, "only entities the domain declares are sent"


async def test_image_is_downloaded_and_referenced(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("image")
    raw = first_message(payload)["image"]
    photo = b"\xff\xd8\xff\xe0 a jpeg of a pothole"
    fake_graph_api.add_media(raw["id"], photo, "image/jpeg")
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    media = message.metadata["whatsapp"]["media"]
    assert message.text == raw["caption"]
    assert media["id"] == raw["id"] and media["mime_type"] == "image/jpeg" and media["status"] == "stored"
    assert Path(media["path"]).read_bytes() == photo
    downloads = [r for r in fake_graph_api.requests if r.path.startswith("/media/download/")]
    assert downloads and downloads[0].headers["authorization"].startswith("Bearer ")


async def test_image_without_caption_is_an_inform(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("image_no_caption")
    fake_graph_api.add_media(first_message(payload)["image"]["id"], b"\xff\xd8\xff\xe0 jpeg", "image/jpeg")
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    assert message.text == "/inform" and message.metadata["whatsapp"]["media"]["status"] == "stored"


async def test_failed_media_download_still_processes_the_message(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("image")  # the fake knows no such media: Graph answers 400
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    media = message.metadata["whatsapp"]["media"]
    assert media["status"] == "failed" and media["path"] is None
    assert graph_texts(fake_graph_api), "the citizen still gets an answer"


async def test_a_photo_that_is_no_image_is_not_stored_and_asked_for_again(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, project_domain, tmp_path
) -> None:
    payload = load_payload("image_no_caption")
    fake_graph_api.add_media(first_message(payload)["image"]["id"], b"MZ\x90\x00 an executable", "image/jpeg")
    await harness.deliver(payload)
    assert harness.agent.handled == [], "no turn: the form still waits for the photo"
    expected = [r["text"] for r in project_domain.responses["utter_photo_not_received"]]
    assert graph_texts(fake_graph_api) and graph_texts(fake_graph_api)[0] in expected
    assert not (tmp_path / "media").exists() or list((tmp_path / "media").iterdir()) == []


async def test_a_captioned_photo_with_a_wrong_checksum_still_brings_its_caption_without_the_photo(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, project_domain
) -> None:
    payload = load_payload("image")
    raw = first_message(payload)["image"]
    fake_graph_api.add_media(raw["id"], b"\xff\xd8\xff\xe0 jpeg", "image/jpeg", sha256="0" * 64)
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    assert message.text == raw["caption"] and "media" not in message.metadata["whatsapp"]
    expected = [r["text"] for r in project_domain.responses["utter_photo_not_received"]]
    assert graph_texts(fake_graph_api)[0] in expected, "the citizen is asked for the photo first"


@pytest.mark.parametrize("name", ["contacts", "unsupported"])
async def test_unsupported_types_get_the_domain_answer(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, project_domain, name: str
) -> None:
    response = await harness.deliver(load_payload(name))
    assert response.status_code == 200
    assert harness.agent.handled == [], "no bot turn for a type Rasa cannot read"
    expected = [v["text"] for v in project_domain.responses["utter_unsupported_message"]]
    (sent,) = graph_texts(fake_graph_api, SENDER)
    assert sent in expected
    assert fake_graph_api.read_receipts(), "the message is still marked as read"


@pytest.mark.parametrize(
    "name, response",
    [
        ("audio", "utter_audio_not_supported"),
        ("video", "utter_video_not_supported"),
        ("document", "utter_document_not_supported"),
    ],
)
async def test_files_outside_a_form_get_what_to_do_instead(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, project_domain, name: str, response: str
) -> None:
    await harness.deliver(load_payload(name))
    assert harness.agent.handled == [], "no turn: nothing waits for a file"
    expected = [v["text"] for v in project_domain.responses[response]]
    assert graph_texts(fake_graph_api, SENDER) in ([text] for text in expected)
    assert all("147" in text for text in expected), "each says where to call instead"


@pytest.mark.parametrize("emoji", ["👍", "👍🏻", "👍🏿", "❤️", "❤", "🙏", "👌"])
async def test_an_assent_reaction_is_a_thank_you(harness: ChannelHarness, fake_graph_api: FakeGraphApi, emoji: str) -> None:
    payload = load_payload("reaction")
    first_message(payload)["reaction"]["emoji"] = emoji
    await harness.deliver(payload)
    (message,) = harness.agent.handled
    assert message.text == "/thank" and message.metadata["whatsapp"]["reaction"] == {"emoji": emoji}
    assert graph_texts(fake_graph_api, SENDER) == ["echo /thank"]


@pytest.mark.parametrize("emoji", ["😮", "😂", "👎", ""])
async def test_other_reactions_and_removed_ones_are_ignored(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, emoji: str
) -> None:
    payload = load_payload("reaction")
    first_message(payload)["reaction"]["emoji"] = emoji
    wamid = first_message(payload)["id"]
    await harness.deliver(payload)
    assert harness.agent.handled == [] and fake_graph_api.sent_messages() == []
    assert await harness.channel.store.pending() == [], "marked done: never replayed"
    assert wamid not in harness.channel._accepted


async def test_only_the_first_sticker_of_a_conversation_gets_an_answer(
    harness: ChannelHarness, fake_graph_api: FakeGraphApi, project_domain
) -> None:
    payload = load_payload("sticker")
    await harness.deliver(payload)
    later = with_message(payload, id=first_message(payload)["id"] + "2")
    await harness.deliver(later)
    assert harness.agent.handled == []
    expected = [v["text"] for v in project_domain.responses["utter_sticker_received"]]
    (sent,) = graph_texts(fake_graph_api, SENDER)
    assert sent in expected, "one answer for two stickers"


async def test_the_sticker_answer_is_remembered_across_restarts(
    make_harness, fake_graph_api: FakeGraphApi
) -> None:
    payload = load_payload("sticker")
    await make_harness().deliver(payload)
    restarted = make_harness()  # same dedup store file: the same conversation
    await restarted.deliver(with_message(payload, id=first_message(payload)["id"] + "2"))
    assert len(graph_texts(fake_graph_api, SENDER)) == 1


@pytest.mark.parametrize("name", ["status_sent", "status_delivered", "status_read", "status_failed"])
async def test_statuses_are_recorded_without_a_turn(harness: ChannelHarness, fake_graph_api: FakeGraphApi, caplog, name: str) -> None:
    with caplog.at_level(logging.INFO, logger="channels.whatsapp"):
        response = await harness.deliver(load_payload(name))
    assert response.status_code == 200
    assert harness.agent.handled == [] and fake_graph_api.requests == []
    kind = name.split("_", 1)[1]
    assert harness.channel.status_counts[kind] == 1
    if kind == "failed":
        warning = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warning and "131047" in warning[0].getMessage()


async def test_multi_entry_delivery_runs_every_message(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("multi_entry")
    await harness.deliver(payload)
    handled = sorted((m.sender_id, m.message_id) for m in harness.agent.handled)
    assert handled == sorted(
        (m["from"], m["id"])
        for entry in payload["entry"]
        for change in entry["changes"]
        for m in change["value"].get("messages", [])
    )
    assert dict(harness.channel.status_counts) == {"read": 1, "delivered": 1}
    lucia = [m for m in harness.agent.handled if m.sender_id == SENDER]
    assert [m.metadata["whatsapp"]["type"] for m in lucia] == ["text", "location"], "in timestamp order"


# ---- de-duplication, ordering, acknowledgement ------------------------------------


async def test_redelivered_wamid_is_answered_once(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    payload = load_payload("text")
    first = await harness.deliver(payload)
    second = await harness.deliver(payload)
    assert first.status_code == second.status_code == 200
    assert len(harness.agent.handled) == 1
    assert len(graph_texts(fake_graph_api)) == 1


async def test_dedup_survives_a_restart(make_harness, make_config) -> None:
    payload = load_payload("text")
    before = make_harness()
    await before.deliver(payload)
    after = make_harness(channel=WhatsAppInput(make_config()))  # same SQLite file
    await after.deliver(payload)
    assert len(before.agent.handled) == 1 and after.agent.handled == []


async def test_dedup_in_redis(make_harness, make_config) -> None:
    redis_url = "redis://127.0.0.1:6379/15"
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis must run at 127.0.0.1:6379 for this test")
    client.flushdb()
    payload = with_message(load_payload("text"), id=f"wamid.REDIS{time.time_ns()}")
    try:
        first = make_harness(dedup_redis_url=redis_url, dedup_sqlite_path="/nonexistent/never.sqlite3")
        await first.deliver(payload)
        second = make_harness(dedup_redis_url=redis_url)
        await second.deliver(payload)
        assert len(first.agent.handled) == 1 and second.agent.handled == []
        assert client.hlen("vecino:whatsapp:pending") == 0, "processed messages leave the pending set"
    finally:
        client.flushdb()


async def test_store_failure_asks_meta_to_retry(harness: ChannelHarness) -> None:
    class BrokenStore:
        async def claim(self, records):
            raise OSError("disk full")

        async def close(self):
            pass

    harness.channel.store = BrokenStore()
    response = await harness.deliver(load_payload("text"))
    assert response.status_code == 503 and harness.agent.handled == []


async def test_acknowledged_before_the_turn_finishes(make_harness, project_domain) -> None:
    slow = StubAgent(project_domain, delay_s=1.5)
    harness = make_harness(agent=slow)
    started = time.monotonic()
    response = await harness.post(load_payload("text"))
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 0.5, f"ack took {elapsed:.2f}s"
    await harness.channel.drain()
    assert len(slow.handled) == 1


def _reversed_pair() -> Tuple[Dict[Text, Any], Dict[Text, Any]]:
    base = load_payload("text")
    later = with_message(base, id="wamid.ORDER2", timestamp="1763900002", text={"body": "segundo"})
    earlier = with_message(base, id="wamid.ORDER1", timestamp="1763900001", text={"body": "primero"})
    return later, earlier


async def test_deliveries_arriving_together_run_in_timestamp_order(make_harness) -> None:
    default_window = {f.name: f.default for f in dataclasses.fields(WhatsAppConfig)}["ordering_window_ms"]
    harness = make_harness(ordering_window_ms=default_window)
    later, earlier = _reversed_pair()
    # Meta sends deliveries in parallel: the later message's reaches the server first
    responses = await asyncio.gather(harness.post(later), harness.post(earlier))
    assert [r.status_code for r in responses] == [200, 200]
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["primero", "segundo"]


async def test_a_slow_claim_of_an_earlier_delivery_is_waited_for(make_harness, project_domain) -> None:
    harness = make_harness()
    store = harness.channel.store
    claim = store.claim

    async def slow_for_the_earlier(records):
        if any(wamid == "wamid.ORDER1" for wamid, _ in records):
            await asyncio.sleep(0.2)  # e.g. a Redis round trip under load
        return await claim(records)

    store.claim = slow_for_the_earlier
    later, earlier = _reversed_pair()
    posting_earlier = asyncio.ensure_future(harness.post(earlier))
    await asyncio.sleep(0.05)  # the earlier delivery is being recorded
    assert (await harness.post(later)).status_code == 200
    assert (await posting_earlier).status_code == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["primero", "segundo"]


async def test_ordering_window_waits_for_a_later_delivery(make_harness) -> None:
    harness = make_harness(ordering_window_ms=300)
    later, earlier = _reversed_pair()
    assert (await harness.post(later)).status_code == 200  # the later one arrives first
    assert (await harness.post(earlier)).status_code == 200  # within the window
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["primero", "segundo"]


async def test_without_a_window_a_message_arriving_after_its_turn_runs_next(make_harness, project_domain) -> None:
    harness = make_harness(agent=StubAgent(project_domain, delay_s=0.2))
    later, earlier = _reversed_pair()
    assert (await harness.post(later)).status_code == 200
    await asyncio.sleep(0.05)  # "segundo" is being answered: it cannot be undone
    assert (await harness.post(earlier)).status_code == 200
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["segundo", "primero"], "nothing is lost"


async def test_messages_queued_behind_a_running_turn_keep_their_order(make_harness, project_domain) -> None:
    harness = make_harness(agent=StubAgent(project_domain, delay_s=0.3))
    base = load_payload("text")
    await harness.post(with_message(base, id="wamid.Q1", timestamp="1763900001", text={"body": "uno"}))
    await asyncio.sleep(0.05)  # "uno" is being processed
    await harness.post(with_message(base, id="wamid.Q3", timestamp="1763900003", text={"body": "tres"}))
    await harness.post(with_message(base, id="wamid.Q2", timestamp="1763900002", text={"body": "dos"}))
    await harness.channel.drain()
    assert [m.text for m in harness.agent.handled] == ["uno", "dos", "tres"]


async def test_messages_accepted_before_a_crash_are_replayed(make_harness, make_config, project_domain) -> None:
    class NoModelYet(StubAgent):
        def is_ready(self) -> bool:
            return False

    crashed = make_harness(agent=NoModelYet(project_domain))
    await crashed.deliver(load_payload("text"))  # accepted (200) but never processed
    assert crashed.agent.handled == []
    restarted = make_harness(channel=WhatsAppInput(make_config()))
    restarted.channel._app = restarted.app
    await restarted.channel._replay_pending()
    await restarted.channel.drain()
    assert [m.message_id for m in restarted.agent.handled] == [first_message(load_payload("text"))["id"]]


async def test_a_replayed_message_whose_turn_rasa_saved_gets_the_recorded_answer_not_a_second_turn(
    make_harness, make_config, project_domain, fake_graph_api
) -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.events import BotUttered, UserUttered

    class NoModelYet(StubAgent):
        def is_ready(self) -> bool:
            return False

    crashed = make_harness(agent=NoModelYet(project_domain))
    await crashed.deliver(load_payload("text"))  # accepted (200) and left pending
    message = first_message(load_payload("text"))
    # as if Rasa had taken the turn and saved it, and the process died before the answer went out
    agent = StubAgent(project_domain)
    agent.tracker_store = InMemoryTrackerStore(project_domain)
    tracker = await agent.tracker_store.get_or_create_tracker(message["from"])
    tracker.update(UserUttered(message["text"]["body"], message_id=message["id"]))
    tracker.update(BotUttered("La VTV se hace con turno previo."))
    tracker.update(BotUttered("¿Querés saber algo más?"))
    await agent.tracker_store.save(tracker)

    restarted = make_harness(agent=agent, channel=WhatsAppInput(make_config()))
    restarted.channel._app = restarted.app
    await restarted.channel._replay_pending()
    await restarted.channel.drain()

    assert agent.handled == [], "Rasa must not take the same message twice"
    assert graph_texts(fake_graph_api, message["from"]) == ["La VTV se hace con turno previo.\n\n¿Querés saber algo más?"]
    assert await restarted.channel.store.pending() == []


async def test_a_message_answered_while_the_replay_reads_the_store_is_not_replayed(
    make_harness, project_domain
) -> None:
    go = asyncio.Event()

    class WaitingAgent(StubAgent):
        async def handle_message(self, message):
            await go.wait()
            await super().handle_message(message)

    harness = make_harness(agent=WaitingAgent(project_domain))
    await harness.post(load_payload("text"))  # accepted; its turn waits for `go`
    store = harness.channel.store
    pending = store.pending

    async def pending_read_before_the_turn_ends():
        records = await pending()  # the message is still pending here...
        go.set()
        await harness.channel.drain()  # ...and answered before the snapshot returns
        return records

    store.pending = pending_read_before_the_turn_ends
    harness.channel._replayed = False  # as at a start, once this message is in the store
    await harness.channel._replay_pending()
    await harness.channel.drain()
    assert len(harness.agent.handled) == 1, "answered once, not replayed from the old snapshot"


# ---- numbered lists, output channel, failures --------------------------------------


async def test_typed_number_answers_a_numbered_list(make_harness, project_domain, fake_graph_api) -> None:
    barrios = [{"title": f"Barrio {i}", "payload": f'/inform{{"barrio": "B{i}"}}'} for i in range(1, 13)]

    def replies(message):
        return [{"text": "Elegí:", "buttons": barrios}] if message.text == "barrios" else []

    harness = make_harness(agent=StubAgent(project_domain, replies=replies))
    base = load_payload("text")
    await harness.deliver(with_message(base, id="wamid.N1", text={"body": "barrios"}))
    await harness.deliver(with_message(base, id="wamid.N2", timestamp="1763900009", text={"body": "12"}))
    assert [m.text for m in harness.agent.handled] == ["barrios", barrios[11]["payload"]]


async def test_after_a_restart_a_typed_number_and_a_tapped_alias_are_read_from_the_tracker(
    make_harness, make_config, project_domain
) -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore

    from channels.whatsapp.choices import alias_key

    long_payload = '/inform{"direccion": "' + "Av. Rivadavia " * 20 + '"}'
    barrios = [{"title": f"Barrio {i}", "payload": f'/inform{{"barrio": "B{i}"}}'} for i in range(1, 13)]
    offers = {"barrios": barrios, "direccion": [{"title": "Esa", "payload": long_payload}]}

    class RecordingAgent(StubAgent):
        """Records bot messages in a real Rasa tracker store, as the agent does."""

        def __init__(self, domain):
            super().__init__(domain, replies=lambda m: [{"text": "Elegí:", "buttons": offers[m.text]}] if m.text in offers else [])
            self.tracker_store = InMemoryTrackerStore(domain)

        async def handle_message(self, message):
            from rasa.shared.core.events import BotUttered, UserUttered

            await super().handle_message(message)
            tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
            tracker.update(UserUttered(message.text))
            for reply in self.replies(message):
                tracker.update(BotUttered(reply["text"], data={"buttons": reply["buttons"]}))
            await self.tracker_store.save(tracker)

    agent = RecordingAgent(project_domain)
    base = load_payload("text")
    before = make_harness(agent=agent)
    await before.deliver(with_message(base, id="wamid.R1", text={"body": "barrios"}))
    after = make_harness(agent=agent, channel=WhatsAppInput(make_config()))  # memory is gone
    await after.deliver(with_message(base, id="wamid.R2", timestamp="1763900009", text={"body": "12"}))
    assert agent.handled[-1].text == barrios[11]["payload"]

    await after.deliver(with_message(base, id="wamid.R3", timestamp="1763900010", text={"body": "direccion"}))
    restarted = make_harness(agent=agent, channel=WhatsAppInput(make_config()))
    tapped = with_message(
        load_payload("interactive_list_reply"),
        id="wamid.R4",
        timestamp="1763900011",
        interactive={"type": "button_reply", "button_reply": {"id": alias_key(long_payload), "title": "Esa"}},
    )
    await restarted.deliver(tapped)
    assert agent.handled[-1].text == long_payload


async def test_failing_sends_never_crash_the_webhook(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    fake_graph_api.fail_next(500, 1, times=50)
    response = await harness.deliver(load_payload("text"))
    assert response.status_code == 200
    assert len(harness.agent.handled) == 1, "the turn ran (and is in the tracker) although sends failed"
    response = await harness.deliver(with_message(load_payload("text"), id="wamid.AFTER"))
    assert response.status_code == 200


def test_get_output_channel_is_unbuffered(harness: ChannelHarness) -> None:
    output = harness.channel.get_output_channel()
    assert isinstance(output, WhatsAppOutput) and output.name() == "whatsapp"
    assert output._buffered is False


async def test_trigger_intent_output_sends_immediately(harness: ChannelHarness, fake_graph_api: FakeGraphApi) -> None:
    output = harness.channel.get_output_channel()
    await output.send_response(SENDER, {"text": "Alerta meteorológica"})
    assert graph_texts(fake_graph_api, SENDER) == ["Alerta meteorológica"]


async def test_no_secrets_phone_numbers_or_texts_in_info_logs(harness: ChannelHarness, fake_graph_api: FakeGraphApi, caplog) -> None:
    payload = load_payload("text")
    body = first_message(payload)["text"]["body"]
    fake_graph_api.fail_next(400, 131047)  # error paths log too
    with caplog.at_level(logging.INFO):
        await harness.deliver(payload)
        await harness.deliver(load_payload("status_failed"))
        await harness.deliver(load_payload("audio"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Turn for" in logged, "the channel does log at INFO"
    config = harness.channel.config
    # real wamids embed the phone number (base64), so they are not logged raw either
    wamid = first_message(payload)["id"]
    for secret in (config.access_token, config.app_secret, config.verify_token, SENDER, body, wamid):
        assert secret not in logged, f"{secret!r} leaked into the logs"


async def test_a_turn_cancelled_by_shutdown_stays_pending(make_harness, make_config, project_domain) -> None:
    harness = make_harness(agent=StubAgent(project_domain, delay_s=5))
    await harness.post(load_payload("text"))
    await asyncio.sleep(0.2)  # the turn is running
    for task in list(harness.channel._background_tasks):
        task.cancel()
    await asyncio.gather(*harness.channel._background_tasks, return_exceptions=True)
    pending = await harness.channel.store.pending()
    assert [p["message"]["id"] for p in pending] == [first_message(load_payload("text"))["id"]]


async def test_turns_across_citizens_are_bounded(make_harness, project_domain) -> None:
    class CountingAgent(StubAgent):
        running = peak = 0

        async def handle_message(self, message):
            CountingAgent.running += 1
            CountingAgent.peak = max(CountingAgent.peak, CountingAgent.running)
            try:
                await asyncio.sleep(0.1)
                await super().handle_message(message)
            finally:
                CountingAgent.running -= 1

    harness = make_harness(agent=CountingAgent(project_domain), max_concurrent_turns=2)
    for index in range(6):
        sender = f"54911555502{index:02d}"
        payload = with_message(load_payload("text"), id=f"wamid.C{index}", **{"from": sender})
        assert (await harness.post(payload)).status_code == 200
    await harness.channel.drain()
    assert len(harness.agent.handled) == 6 and CountingAgent.peak == 2


# ---- what the turns share ----------------------------------------------------------

# Like thinc's ``context_ops`` (spaCy's backend): set lazily by the first call in a
# context, and costly to set (thinc scans the installed packages' entry points).
_LAZY_BACKEND: "contextvars.ContextVar[object]" = contextvars.ContextVar("lazy_backend", default=None)


async def test_state_a_library_sets_lazily_in_a_turn_is_kept_for_later_turns(make_harness, project_domain) -> None:
    # every delivery's task has a fresh context; a WhatsApp turn started from it
    # paid thinc's set-up again at every message (0.4 ms of CPU each)
    class LazyAgent(StubAgent):
        set_ups = 0

        async def handle_message(self, message):
            if _LAZY_BACKEND.get() is None:
                LazyAgent.set_ups += 1
                _LAZY_BACKEND.set(object())
            await super().handle_message(message)

    harness = make_harness(agent=LazyAgent(project_domain))
    for index in range(3):
        payload = with_message(load_payload("text"), id=f"wamid.LAZY{index}", **{"from": f"5491155550{index:03d}"})
        assert (await harness.deliver(payload)).status_code == 200
    assert len(harness.agent.handled) == 3 and LazyAgent.set_ups == 1
