"""Wait notices with a fake clock and a fake Rasa API."""
from datetime import timedelta

from console import timeouts
from console.assistant import Assistant
from console.models import HandoffRequest


def open_handoff(store, citizen, area="transito", priority=2, open_now=True):
    request = HandoffRequest(citizen_id=citizen, channel="whatsapp",
                             reason="emergency" if priority < 2 else "citizen_request")
    return store.open_handoff(request, area, priority, open_now)[0]


async def test_citizens_waiting_too_long_are_told_once(store, clock, fake_rasa):
    assistant = Assistant(fake_rasa.base_url, fake_rasa.token)
    wait = timedelta(minutes=10)
    routine = open_handoff(store, "5491100000001")
    emergency = open_handoff(store, "5491100000002", "defensa_civil", 1)
    outside_hours = open_handoff(store, "5491100000003", "educacion", open_now=False)
    clock.advance(minutes=9, seconds=59)
    assert await timeouts.notify_waiting(store, assistant, wait) == 0
    clock.advance(seconds=1)
    assert await timeouts.notify_waiting(store, assistant, wait) == 2
    assert sorted(fake_rasa.said()) == [("5491100000001", "utter_handoff_wait_timeout"),
                                        ("5491100000002", "utter_handoff_wait_timeout_emergency")]
    assert all(c["output_channel"] == "latest" for c in fake_rasa.calls)
    clock.advance(minutes=30)
    assert await timeouts.notify_waiting(store, assistant, wait) == 0, "once, and never the out-of-hours one"
    assert store.handoff(routine.id).status == store.handoff(emergency.id).status == "queued"
    assert store.handoff(outside_hours.id).wait_notice_at is not None
    notices = [r for r in store.latest_audit() if r["action"] == "wait_notice"]
    assert len(notices) == 2 and all(r["username"] is None for r in notices), "audited as the system"


async def test_rasa_down_means_trying_again_later(store, clock, fake_rasa):
    assistant = Assistant(fake_rasa.base_url, fake_rasa.token)
    handoff = open_handoff(store, "5491100000001")
    clock.advance(minutes=11)
    fake_rasa.fail_with = 503
    assert await timeouts.notify_waiting(store, assistant, timedelta(minutes=10)) == 0
    assert store.handoff(handoff.id).wait_notice_at is None
    fake_rasa.fail_with = None
    assert await timeouts.notify_waiting(store, assistant, timedelta(minutes=10)) == 1


async def test_taken_handoffs_get_no_notice(store, clock, fake_rasa):
    from tests.console.conftest import add_operator

    alice = add_operator(store, "alice", areas=["transito"])
    handoff = open_handoff(store, "5491100000001")
    store.take(handoff.id, alice.viewer)
    clock.advance(minutes=20)
    assert await timeouts.notify_waiting(store, Assistant(fake_rasa.base_url, fake_rasa.token),
                                         timedelta(minutes=10)) == 0
    assert fake_rasa.calls == []


async def test_an_unreachable_or_slow_rasa_is_an_assistant_error():
    import asyncio
    import socket

    import pytest

    from console.assistant import AssistantError

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(AssistantError):
        await Assistant(f"http://127.0.0.1:{port}").say("5491100000001", "utter_handoff_closed")

    async def silent(reader, writer):
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    slow_port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(AssistantError):
            await Assistant(f"http://127.0.0.1:{slow_port}", timeout_s=0.2).say("5491100000001", "utter_x")
    finally:
        server.close()
