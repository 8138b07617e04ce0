"""Helpers of the WhatsApp channel tests: Meta-shaped payloads, signed posts, and a
Rasa app (configure_app) serving the channel with a stub agent."""
import asyncio
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Text, Union

from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from rasa.shared.core.domain import Domain
from sanic import Sanic

from channels.whatsapp import WhatsAppInput
from channels.whatsapp.signature import SIGNATURE_HEADER, compute_signature
from tests.fixtures.graph_api import FakeGraphApi

Sanic.test_mode = True  # configure_app builds a "rasa_server" app per test

ROOT = Path(__file__).resolve().parents[3]
PAYLOADS = Path(__file__).parent / "payloads"
APP_SECRET = "test-app-secret-7f3e9a"
VERIFY_TOKEN = "test-verify-token-42"
WEBHOOK = "/webhooks/whatsapp/webhook"

PAYLOAD_NAMES = sorted(p.stem for p in PAYLOADS.glob("*.json"))


def channel_credentials(graph_base_url: Text, directory: Path, **overrides: Any) -> Dict[Text, Any]:
    """A credentials block for the fake Graph API, with stores under ``directory``."""
    from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID, FAKE_TOKEN

    return {
        "phone_number_id": FAKE_PHONE_NUMBER_ID,
        "access_token": FAKE_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "graph_base_url": graph_base_url,
        "dedup_sqlite_path": str(directory / "processed.sqlite3"),
        "media_dir": str(directory / "media"),
        "retry_base_delay_s": 0.01,
        "ordering_window_ms": 0,
        # sanic-testing's ASGI client runs the stop listeners after every request
        "shutdown_grace_s": 0,
        **overrides,
    }


def load_payload(name: Text) -> Dict[Text, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def first_message(payload: Dict[Text, Any]) -> Dict[Text, Any]:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]


def with_message(payload: Dict[Text, Any], **changes: Any) -> Dict[Text, Any]:
    """A copy of a one-message payload with message fields replaced."""
    copy = json.loads(json.dumps(payload))
    first_message(copy).update(changes)
    return copy


class StubAgent:
    """Records handle_message calls and answers through the message's output channel.

    ``replies(message)`` returns Rasa bot message dicts (as BotUttered.message()).
    """

    def __init__(
        self,
        domain: Domain,
        replies: Optional[Callable[[UserMessage], List[Dict[Text, Any]]]] = None,
        delay_s: float = 0.0,
    ) -> None:
        self.domain = domain
        self.handled: List[UserMessage] = []
        self.replies = replies or (lambda message: [{"text": f"echo {message.text}"}])
        self.delay_s = delay_s

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        for bot_message in self.replies(message):
            await message.output_channel.send_response(message.sender_id, dict(bot_message))


class ChannelHarness:
    """A Rasa app (configure_app) serving one WhatsAppInput, with a stub agent."""

    def __init__(self, channel: WhatsAppInput, agent: Any) -> None:
        self.channel = channel
        self.agent = agent
        self.app = configure_app([channel], port=5005)
        self.app.ctx.agent = agent

    async def post(
        self,
        body: Union[Dict[Text, Any], bytes],
        secret: Optional[Text] = APP_SECRET,
        headers: Optional[Dict[Text, Text]] = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        all_headers = {"Content-Type": "application/json"}
        if secret:
            all_headers[SIGNATURE_HEADER] = compute_signature(secret, raw)
        all_headers.update(headers or {})
        _, response = await self.app.asgi_client.post(WEBHOOK, content=raw, headers=all_headers)
        return response

    async def deliver(self, body: Union[Dict[Text, Any], bytes], **kwargs: Any) -> Any:
        """Posts and waits until every accepted message has been processed."""
        response = await self.post(body, **kwargs)
        await self.channel.drain()
        return response


def graph_texts(fake_graph_api: FakeGraphApi, to: Optional[Text] = None) -> List[Text]:
    """Bodies of the text messages the fake Graph API accepted."""
    return [
        m["text"]["body"] for m in fake_graph_api.sent_messages(to) if m.get("type") == "text"
    ]


def graph_call_kinds(fake_graph_api: FakeGraphApi) -> List[Text]:
    """``"read"`` or ``"reply"`` for each ``/messages`` call the fake received, in order."""
    return [
        "read" if isinstance(r.json, dict) and r.json.get("status") == "read" else "reply"
        for r in fake_graph_api.requests
        if r.path.endswith("/messages")
    ]
