"""WhatsApp output channel: Rasa bot messages -> Cloud API messages.

Rasa hands bot messages over one at a time (one ``send_response`` per
``BotUttered``). In buffered mode (a citizen's turn) they are collected and
:meth:`WhatsAppOutput.flush` sends them after the turn, merging consecutive
texts so one turn costs as few messages as possible (error 131056 limits how
fast one person may be messaged). Buttons that name a ``section`` (the menu)
become a list with titled sections, whatever their number. Unbuffered mode (``trigger_intent``,
operators) sends each message at once.

No send ever raises: Graph errors are logged, and the turn is already in the
tracker when the buffer is flushed.
"""
import asyncio
import dataclasses
import logging
import mimetypes
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Text, Tuple, Union
from urllib.parse import urlsplit

import aiohttp

from rasa.core.channels.channel import OutputChannel

from channels.whatsapp import outbound
from channels.whatsapp.choices import ChoiceMemory
from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.graph_api import (
    ExpiredToken,
    GraphApiClient,
    GraphApiError,
    OutsideWindow,
)
from channels.whatsapp.masking import mask_phone

logger = logging.getLogger(__name__)

# looks a response name up in the loaded domain and returns its text, or None
ResponseTexts = Callable[[Text], Optional[Text]]

# body of an interactive message whose Rasa response has buttons but no text
_EMPTY_BODY = "👇"
# list button label when the domain has no `utter_whatsapp_list_button`
_DEFAULT_LIST_LABEL = "☰"


@dataclass(frozen=True)
class _Buttons:
    text: Text
    buttons: Sequence[Dict[Text, Any]]


@dataclass(frozen=True)
class _Image:
    url: Text
    caption: Optional[Text] = None


_Part = Union[Text, _Buttons, _Image, outbound.CustomMessage, outbound.DocumentMessage]


class WhatsAppOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    def __init__(
        self,
        client: GraphApiClient,
        config: WhatsAppConfig,
        choices: Optional[ChoiceMemory] = None,
        response_texts: Optional[ResponseTexts] = None,
        buffered: bool = False,
    ) -> None:
        self._client = client
        self._config = config
        self._choices = choices or ChoiceMemory()
        self._response_texts = response_texts or (lambda name: None)
        self._buffered = buffered
        self._buffer: List[tuple] = []
        self._halted = False
        self.sent_ids: List[Text] = []

    # ---- Rasa's send_* interface -------------------------------------------------

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        if text and text.strip():
            await self._add(recipient_id, text.strip())

    async def send_text_with_buttons(
        self,
        recipient_id: Text,
        text: Text,
        buttons: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        await self._add(recipient_id, _Buttons((text or "").strip(), list(buttons or [])))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._add(recipient_id, _Image(image))

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, dict) and attachment.get("link"):
            part: _Part = outbound.DocumentMessage(
                recipient_id, link=attachment["link"], filename=attachment.get("filename")
            )
        elif isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            part = outbound.DocumentMessage(
                recipient_id, link=attachment, filename=os.path.basename(attachment) or None
            )
        else:
            part = str(attachment)
        await self._add(recipient_id, part)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        payload = json_message.get("whatsapp", json_message)
        if not isinstance(payload, dict):
            logger.warning("Ignoring a custom payload that is not an object.")
            return
        document = payload.get("document")
        if isinstance(document, dict) and document.get("link") and len(payload) == 1:
            part: _Part = outbound.DocumentMessage(
                recipient_id,
                link=document["link"],
                filename=document.get("filename"),
                caption=document.get("caption"),
            )
        else:
            part = outbound.CustomMessage(recipient_id, dict(payload))
        await self._add(recipient_id, part)

    # ---- buffering -----------------------------------------------------------------

    async def _add(self, recipient_id: Text, part: _Part) -> None:
        if self._buffered:
            self._buffer.append((recipient_id, part))
        else:
            await self._send_parts([(recipient_id, part)])

    @property
    def pending(self) -> bool:
        """Whether the turn produced anything still to send (buffered mode)."""
        return bool(self._buffer)

    async def flush(self) -> None:
        """Sends what the turn produced; consecutive texts are merged."""
        parts, self._buffer = self._buffer, []
        await self._send_parts(parts)

    async def _send_parts(self, parts: List[tuple]) -> None:
        for recipient_id, part in _merge(parts):
            for message in await self._render(recipient_id, part):
                if self._halted:
                    logger.warning(
                        "Dropping a message to %s: sending is halted.",
                        mask_phone(recipient_id),
                    )
                    continue
                await self._deliver(recipient_id, message)

    # ---- rendering -----------------------------------------------------------------

    async def _render(self, recipient_id: Text, part: _Part) -> List[Any]:
        if isinstance(part, str):
            return [outbound.TextMessage(recipient_id, chunk) for chunk in outbound.split_text(part)]
        if isinstance(part, _Buttons):
            return self._render_buttons(recipient_id, part)
        if isinstance(part, _Image):
            return [await self._render_image(recipient_id, part)]
        if isinstance(part, outbound.DocumentMessage) and part.link and self._config.documents_by_upload:
            return [await self._upload_document(part)]
        return [part]

    def _render_buttons(self, recipient_id: Text, part: _Buttons) -> List[Any]:
        buttons = [b for b in part.buttons if b.get("title") or b.get("payload")]
        options = [
            (str(b.get("title") or b.get("payload") or ""), str(b.get("payload") or b.get("title") or ""))
            for b in buttons
        ]
        # a response that groups its buttons (`section:` on each, e.g. the menu) is always a list
        sections = [" ".join(str(b.get("section") or "").split()) or None for b in buttons]
        sectioned = all(sections) and bool(sections)
        if not options:
            return [outbound.TextMessage(recipient_id, c) for c in outbound.split_text(part.text)]
        messages: List[Any] = []
        body = part.text or _EMPTY_BODY
        if len(options) > outbound.MAX_LIST_ROWS:
            return self._render_numbered(recipient_id, part.text, options)
        chunks = outbound.split_text(body, outbound.INTERACTIVE_BODY_LIMIT)
        messages += [outbound.TextMessage(recipient_id, c) for c in chunks[:-1]]
        body = chunks[-1]
        try:
            short_titles = [outbound.shorten(t, outbound.BUTTON_TITLE_LIMIT) for t, _ in options]
            # shortened titles that collide would be ambiguous (and Graph rejects
            # them): a list shows the full title as the row description instead
            if (
                not sectioned
                and len(options) <= outbound.MAX_REPLY_BUTTONS
                and len(set(short_titles)) == len(options)
            ):
                buttons = tuple(
                    outbound.ReplyButton(
                        self._option_id(recipient_id, payload, outbound.BUTTON_ID_LIMIT),
                        outbound.shorten(title, outbound.BUTTON_TITLE_LIMIT),
                    )
                    for title, payload in options
                )
                messages.append(outbound.ReplyButtonsMessage(recipient_id, body, buttons))
            else:
                rows = []
                for (title, payload), section in zip(options, sections):
                    short = outbound.shorten(title, outbound.LIST_ROW_TITLE_LIMIT)
                    description = (
                        outbound.shorten(title, outbound.LIST_ROW_DESCRIPTION_LIMIT)
                        if short != " ".join(title.split())
                        else None
                    )
                    rows.append(
                        outbound.ListRow(
                            self._option_id(recipient_id, payload, outbound.LIST_ROW_ID_LIMIT),
                            short,
                            description,
                            outbound.shorten(section, outbound.LIST_SECTION_TITLE_LIMIT) if sectioned else None,
                        )
                    )
                label = self._response_texts(self._config.list_button_response) or _DEFAULT_LIST_LABEL
                label = outbound.shorten(label, outbound.LIST_BUTTON_LABEL_LIMIT)
                messages.append(outbound.ListMessage(recipient_id, body, label, tuple(rows)))
        except ValueError as error:  # e.g. duplicate or empty titles
            logger.warning("Buttons fall back to a numbered list: %s", error)
            return self._render_numbered(recipient_id, part.text, options)
        return messages

    def _render_numbered(self, recipient_id: Text, text: Text, options: List[tuple]) -> List[Any]:
        self._choices.remember_numbered(recipient_id, [payload for _, payload in options])
        hint = self._response_texts(self._config.numbered_list_response)
        body = outbound.numbered_list(text, [title for title, _ in options])
        if hint:
            body = f"{body}\n\n{hint.strip()}"
        return [outbound.TextMessage(recipient_id, c) for c in outbound.split_text(body)]

    def _option_id(self, recipient_id: Text, payload: Text, limit: int) -> Text:
        if 0 < len(payload) <= limit:
            return payload
        return self._choices.alias(recipient_id, payload)

    async def _render_image(self, recipient_id: Text, image: _Image) -> Any:
        if image.url.startswith(("http://", "https://")):
            return outbound.ImageMessage(recipient_id, link=image.url, caption=image.caption)
        path = image.url[len("file://"):] if image.url.startswith("file://") else image.url
        try:
            with open(path, "rb") as handle:  # small local images shipped with the bot
                data = handle.read()
            mime_type = mimetypes.guess_type(path)[0] or "image/jpeg"
            media_id = await self._client.upload_media(data, mime_type, os.path.basename(path))
            return outbound.ImageMessage(recipient_id, media_id=media_id, caption=image.caption)
        except (OSError, GraphApiError) as error:
            logger.error("Could not upload image %s: %s", os.path.basename(path), error)
            return None

    async def _upload_document(self, document: outbound.DocumentMessage) -> outbound.DocumentMessage:
        """The document's bytes through the Graph API: its link is not public (config).

        Downloaded here, server side, from the city services, with no token (it is not
        a Graph URL); if that or the upload fails, the link goes out as before.
        """
        link = document.link or ""
        filename = document.filename or os.path.basename(urlsplit(link).path) or "documento.pdf"
        try:
            data, mime_type = await _download_document(link, self._config)
            media_id = await self._client.upload_media(data, mime_type, filename)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, GraphApiError) as error:
            logger.error("Could not upload document %s; sending its link: %s", filename, error)
            return document
        return dataclasses.replace(document, link=None, media_id=media_id, filename=filename)

    # ---- delivery ------------------------------------------------------------------

    async def _deliver(self, recipient_id: Text, message: Any) -> None:
        if message is None:
            return
        try:
            wamid = await self._client.send_message(message.to_dict())
            if wamid:
                self.sent_ids.append(wamid)
        except OutsideWindow as error:
            self._halted = True
            logger.warning(
                "Message to %s is outside the 24 h window (131047): %s",
                mask_phone(recipient_id),
                error.details or error,
            )
            await self._send_fallback_template(recipient_id)
        except ExpiredToken as error:
            self._halted = True
            logger.critical(
                "WHATSAPP ACCESS TOKEN EXPIRED OR REVOKED (190): nothing can be sent "
                "until WHATSAPP_ACCESS_TOKEN is renewed. %s",
                error,
            )
        except GraphApiError as error:
            logger.error(
                "Could not send a %s message to %s: %s",
                type(message).__name__,
                mask_phone(recipient_id),
                error,
            )
        except Exception:  # never let a send break the webhook or the turn
            logger.exception("Unexpected error sending to %s", mask_phone(recipient_id))

    async def _send_fallback_template(self, recipient_id: Text) -> None:
        if not self._config.fallback_template:
            return
        template = outbound.TemplateMessage(
            recipient_id,
            self._config.fallback_template,
            self._config.fallback_template_language,
        )
        try:
            await self._client.send_message(template.to_dict())
            logger.info("Sent fallback template to %s.", mask_phone(recipient_id))
        except GraphApiError as error:
            logger.error("Fallback template failed for %s: %s", mask_phone(recipient_id), error)


def _merge(parts: Iterable[tuple]) -> List[tuple]:
    """Joins consecutive texts (and a text before buttons) where they fit."""
    merged: List[tuple] = []
    for recipient_id, part in parts:
        if merged and merged[-1][0] == recipient_id and isinstance(merged[-1][1], str):
            previous = merged[-1][1]
            if isinstance(part, str) and len(previous) + 2 + len(part) <= outbound.TEXT_LIMIT:
                merged[-1] = (recipient_id, f"{previous}\n\n{part}")
                continue
            if (
                isinstance(part, _Buttons)
                and len(previous) + 2 + len(part.text) <= outbound.INTERACTIVE_BODY_LIMIT
            ):
                text = f"{previous}\n\n{part.text}" if part.text else previous
                merged[-1] = (recipient_id, _Buttons(text, part.buttons))
                continue
        merged.append((recipient_id, part))
    return merged


async def _download_document(url: Text, config: WhatsAppConfig) -> Tuple[bytes, Text]:
    """(bytes, mime type) of a document link, up to ``max_media_bytes``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) document link: {urlsplit(url).scheme!r}")
    timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(url, allow_redirects=False) as answer:
            if answer.status != 200:
                raise ValueError(f"document link answered {answer.status}")
            data = await answer.content.read(config.max_media_bytes + 1)
            if len(data) > config.max_media_bytes:
                raise ValueError("document larger than max_media_bytes")
            mime_type = answer.content_type or "application/octet-stream"
            if mime_type == "application/octet-stream":
                mime_type = mimetypes.guess_type(url)[0] or mime_type
            return data, mime_type
