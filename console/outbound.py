"""Operators' replies to the citizen on WhatsApp, through the channel's Graph API client.

WhatsApp takes free-form messages only within 24 hours of the citizen's last
message; after that (or when Graph says so with 131047) the reply goes out as
the approved template ``CONSOLE_REPLY_TEMPLATE`` with the text as its one body
parameter.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional

from rasa.shared.exceptions import InvalidConfigException

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.graph_api import GraphApiClient, GraphApiError, OutsideWindow

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
CAPTION_LIMIT = 1024


class ReplyRefused(Exception):
    """The reply did not go out; ``code`` (and ``values``) name the operator's message."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Attachment:
    kind: str  # image | document
    data: bytes
    mime_type: str
    filename: str


class Outbound:
    def __init__(self, template: Optional[str] = None, template_language: str = "es_AR",
                 environ: Optional[Mapping[str, str]] = None) -> None:
        self._template = template
        self._template_language = template_language
        self._environ = environ
        self._client: Optional[GraphApiClient] = None

    def _graph(self) -> GraphApiClient:
        if self._client is None:
            try:
                # The console only sends: the app secret guards the connector's inbound
                # webhook, which the console does not serve, so it is not required here.
                config = WhatsAppConfig.from_credentials({"allow_unsigned_webhooks": True}, self._environ)
            except InvalidConfigException:
                raise ReplyRefused("whatsapp_not_configured") from None
            self._client = GraphApiClient(config)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def reply(self, channel: str, citizen_id: str, text: Optional[str],
                    attachment: Optional[Attachment], last_citizen_at: Optional[datetime],
                    now: datetime) -> List[str]:
        """Sends the reply; returns the WhatsApp message ids. Raises ReplyRefused."""
        if channel != "whatsapp":
            raise ReplyRefused("channel_no_replies", channel=channel)
        graph = self._graph()
        if last_citizen_at is None or now - last_citizen_at > WINDOW:
            return [await self._send_template(graph, citizen_id, text, attachment)]
        try:
            return await self._send_free_form(graph, citizen_id, text, attachment)
        except OutsideWindow:
            return [await self._send_template(graph, citizen_id, text, attachment)]
        except GraphApiError as error:
            logger.warning("WhatsApp refused an operator reply: %s", error)
            raise ReplyRefused("whatsapp_failed") from error

    async def _send_free_form(self, graph: GraphApiClient, to: str, text: Optional[str],
                              attachment: Optional[Attachment]) -> List[str]:
        ids: List[str] = []
        if attachment is not None:
            media_id = await graph.upload_media(attachment.data, attachment.mime_type, attachment.filename)
            content: Dict[str, Any] = {"id": media_id}
            if attachment.kind == "document":
                content["filename"] = attachment.filename
            caption_fits = bool(text) and len(text) <= CAPTION_LIMIT
            if caption_fits:
                content["caption"] = text
            ids.append(await graph.send_message(_envelope(to, attachment.kind, content)))
            if caption_fits:
                return ids
        if text:
            ids.append(await graph.send_message(_envelope(to, "text", {"body": text})))
        return ids

    async def _send_template(self, graph: GraphApiClient, to: str, text: Optional[str],
                             attachment: Optional[Attachment]) -> str:
        if not self._template:
            raise ReplyRefused("needs_template")
        if attachment is not None or not text:
            raise ReplyRefused("template_text_only")
        template = {
            "name": self._template,
            "language": {"code": self._template_language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": template_parameter(text)}]}],
        }
        try:
            return await graph.send_message(_envelope(to, "template", template))
        except GraphApiError as error:
            logger.warning("WhatsApp refused the reply template: %s", error)
            raise ReplyRefused("whatsapp_failed") from error


def template_parameter(text: str) -> str:
    """WhatsApp refuses a template parameter with a new line, a tab or more than four spaces in a
    row (error 132018): a reply of several lines is sent as one, its lines joined by " · "."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return " · ".join(line for line in lines if line)


def _envelope(to: str, kind: str, content: Dict[str, Any]) -> Dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind,
            kind: content}
