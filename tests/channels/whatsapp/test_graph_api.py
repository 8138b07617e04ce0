"""GraphApiClient used from two event loops: Rasa's and the webhook server's."""
import asyncio
import threading
from typing import Any, Callable, Dict, Text

from channels.whatsapp import WhatsAppConfig
from channels.whatsapp.graph_api import GraphApiClient
from tests.fixtures.graph_api import FakeGraphApi


def run_in_another_loop(coroutine_factory: Callable[[], Any]) -> Dict[Text, Any]:
    """Runs a coroutine on a fresh loop in a thread; returns its result and loop."""
    out: Dict[Text, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            out["result"] = loop.run_until_complete(coroutine_factory())
            out["loop"] = loop
        finally:
            loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return out


async def test_each_loop_sends_through_a_session_of_its_own_and_closes_only_that(
    make_config: Callable[..., WhatsAppConfig], fake_graph_api: FakeGraphApi
) -> None:
    client = GraphApiClient(make_config())
    await client.mark_as_read("wamid.G1", typing_indicator=True)
    own = client._sessions[asyncio.get_running_loop()]

    async def from_the_other_loop() -> bool:
        await client.mark_as_read("wamid.G2", typing_indicator=True)
        other = client._sessions[asyncio.get_running_loop()]
        distinct = other is not own
        await client.close()  # closes this loop's session only
        return distinct and other.closed and not own.closed

    assert run_in_another_loop(from_the_other_loop)["result"] is True
    assert [r["message_id"] for r in fake_graph_api.read_receipts()] == ["wamid.G1", "wamid.G2"]
    await client.mark_as_read("wamid.G3", typing_indicator=True)  # this loop's still works
    assert client._sessions[asyncio.get_running_loop()] is own
    await client.close()
    assert own.closed and client._sessions == {}


async def test_sessions_of_loops_that_are_gone_are_dropped(
    make_config: Callable[..., WhatsAppConfig], fake_graph_api: FakeGraphApi
) -> None:
    client = GraphApiClient(make_config())

    async def send_and_leave_the_session_open() -> None:
        await client.mark_as_read("wamid.G4", typing_indicator=False)

    gone = run_in_another_loop(send_and_leave_the_session_open)["loop"]
    assert gone.is_closed() and gone in client._sessions
    await client.mark_as_read("wamid.G5", typing_indicator=False)
    assert list(client._sessions) == [asyncio.get_running_loop()]
    await client.close()
