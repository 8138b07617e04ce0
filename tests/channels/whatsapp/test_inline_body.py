"""A JSON body leaves with its headers, without waiting for another round of the event loop."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, List, Optional, Type

import aiohttp
import pytest

from channels.whatsapp import graph_api
from channels.whatsapp.graph_api import GraphApiClient
from channels.whatsapp.inline_body import AIOHTTP_COALESCES, InlineBody, InlineBodyRequest
from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID


class RecordingServer(ThreadingHTTPServer):
    """Answers every POST as Graph does; ``body_arrived`` is set once a whole body is in."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: List[Any] = []
        self.body_arrived = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as with Graph

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
        self.server.body_arrived.set()  # type: ignore[attr-defined]
        answer = json.dumps({"messaging_product": "whatsapp", "messages": [{"id": "wamid.OK"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def blocking_after_send(base: Type[aiohttp.ClientRequest], server: RecordingServer) -> Type[aiohttp.ClientRequest]:
    """A request class that, once ``send`` returns, holds the event loop, as a
    stretch of Rasa's NLU does, and notes whether the body reached the server meanwhile."""

    class Probe(base):  # type: ignore[valid-type, misc]
        arrived_while_loop_held: Optional[bool] = None

        async def send(self, conn: Any) -> Any:
            response = await super().send(conn)
            Probe.arrived_while_loop_held = server.body_arrived.wait(1)
            return response

    return Probe


async def post_twice(request_class: Type[aiohttp.ClientRequest], server: RecordingServer, body: Any) -> None:
    async with aiohttp.ClientSession(request_class=request_class) as session:
        for _ in range(2):  # the second goes over the kept-alive connection, as in a busy channel
            server.body_arrived.clear()
            data = InlineBody(json.dumps(body).encode(), content_type="application/json")
            async with session.post(f"{server.url}/v26.0/{FAKE_PHONE_NUMBER_ID}/messages", data=data) as response:
                assert response.status == 200


async def test_the_body_reaches_the_server_while_the_loop_is_held(server: RecordingServer) -> None:
    probe = blocking_after_send(InlineBodyRequest, server)
    body = {"messaging_product": "whatsapp", "to": "5491155550000", "type": "text", "text": {"body": "hola"}}
    await post_twice(probe, server, body)
    assert probe.arrived_while_loop_held is True
    assert server.bodies == [body, body]  # written once each, never twice


@pytest.mark.skipif(AIOHTTP_COALESCES, reason="aiohttp >= 3.12 sends small bodies with the headers itself")
async def test_plain_aiohttp_waits_for_another_round_before_the_body(server: RecordingServer) -> None:
    """Why InlineBodyRequest exists: aiohttp < 3.12 writes the body from a task of its own."""
    probe = blocking_after_send(aiohttp.ClientRequest, server)
    await post_twice(probe, server, {"messaging_product": "whatsapp"})
    assert probe.arrived_while_loop_held is False
    assert len(server.bodies) == 2  # the body went once the loop was free again


async def test_the_graph_api_client_sends_json_bodies_with_their_headers(
    server: RecordingServer, make_config, monkeypatch
) -> None:
    probe = blocking_after_send(InlineBodyRequest, server)
    monkeypatch.setattr(graph_api, "InlineBodyRequest", probe)
    client = GraphApiClient(make_config(graph_base_url=server.url))
    body = {"messaging_product": "whatsapp", "to": "5491155550000", "type": "text", "text": {"body": "¿Qué tal? ñandú"}}
    try:
        server.body_arrived.clear()
        assert await client.send_message(body) == "wamid.OK"
    finally:
        await client.close()
    assert probe.arrived_while_loop_held is True
    assert server.bodies == [body]
