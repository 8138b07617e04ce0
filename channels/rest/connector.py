"""The REST channel with the guards Rasa's own ``RestInput`` lacks.

Rasa's REST channel takes ``sender``, ``metadata`` and ``input_channel`` from the body. WhatsApp
conversations are keyed by the bare wa_id, so a REST caller sending ``{"sender": "<wa_id>"}``
continued a citizen's conversation, and a forged ``metadata.whatsapp.media.path`` became a
report's photo. Here:

* sender ids get the ``rest:`` prefix, which no wa_id (digits only) can carry;
* the body's ``metadata`` and ``input_channel`` are ignored: Rasa records ``rest`` and nothing else;
* a text over WhatsApp's 4,096 characters gets a polite answer (messages.yml) and runs no turn:
  a huge text would run through the whole NLU pipeline;
* it is a development channel: under ``PROFILE=prod`` it answers 404 unless ``REST_CHANNEL_TOKEN``
  is set, and whenever that token is set it requires ``Authorization: Bearer <token>``.

The URL stays ``/webhooks/rest/webhook`` (``name() == "rest"``); ``rasa shell`` uses its own
``cmdline`` channel and does not go through this one.
"""
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Text

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

SENDER_PREFIX = "rest:"
MAX_TEXT_CHARS = 4096  # WhatsApp's limit for a text message
MAX_SENDER_CHARS = 128
MESSAGES_FILE = Path(__file__).with_name("messages.yml")


@dataclass(frozen=True)
class RestChannelConfig:
    enabled: bool = True
    token: Optional[Text] = None
    max_text_chars: int = MAX_TEXT_CHARS

    @classmethod
    def from_env(cls, env: Optional[Mapping[Text, Text]] = None) -> "RestChannelConfig":
        env = os.environ if env is None else env
        token = env.get("REST_CHANNEL_TOKEN") or None
        production = (env.get("PROFILE") or "dev") == "prod"
        return cls(enabled=bool(token) or not production, token=token)


def load_messages(path: Path = MESSAGES_FILE) -> Dict[Text, Text]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


class InvalidRestMessage(ValueError):
    """The body is not ``{"sender": <text>, "message": <text>}``."""


@dataclass(frozen=True)
class RestMessage:
    sender_id: Text  # already namespaced
    text: Text

    @classmethod
    def parse(cls, body: Any) -> "RestMessage":
        if not isinstance(body, dict):
            raise InvalidRestMessage("body must be a JSON object")
        sender, text = body.get("sender"), body.get("message")
        if isinstance(sender, int) and not isinstance(sender, bool):
            sender = str(sender)
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
            raise InvalidRestMessage(f"sender must be a text of 1..{MAX_SENDER_CHARS} characters")
        if not isinstance(text, str):
            raise InvalidRestMessage("message must be a text")
        return cls(sender_id=namespaced(sender), text=text)


def namespaced(sender: Text) -> Text:
    """The conversation id of a REST sender: never equal to a WhatsApp one (bare digits)."""
    return SENDER_PREFIX + sender


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        return cls(RestChannelConfig.from_env())

    def __init__(self, config: Optional[RestChannelConfig] = None) -> None:
        self.config = config or RestChannelConfig()
        self._messages = load_messages()

    def _authorized(self, request: Request) -> bool:
        if not self.config.token:
            return True
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8"), self.config.token.encode("utf-8")
        )

    def _refusal(self, request: Request) -> Optional[HTTPResponse]:
        if not self.config.enabled:
            return response.json({"error": "the REST channel is disabled"}, status=404)
        if not self._authorized(request):
            return response.json({"error": "missing or wrong bearer token"}, status=401)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return self._refusal(request) or response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refusal(request)
            if refusal:
                return refusal
            try:
                message = RestMessage.parse(request.json)
            except InvalidRestMessage as error:
                return response.json({"error": str(error)}, status=400)
            if len(message.text) > self.config.max_text_chars:
                text = self._messages["text_too_long"].format(limit=self.config.max_text_chars)
                return response.json([{"recipient_id": message.sender_id, "text": text}])
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, message.text, message.sender_id, self.name(), None),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(message.text, collector, message.sender_id, input_channel=self.name())
                )
            except Exception:  # as Rasa's RestInput: the caller gets what was said so far
                logger.exception("REST turn failed")
            return response.json(collector.messages)

        return webhook
