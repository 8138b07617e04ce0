"""Async client of the Graph API endpoints the channel uses (aiohttp).

Errors map to classes by Graph error code, as pywa does: throughput errors
(4, 80007, 130429, 131056) and HTTP 5xx / transport failures are retried with
exponential backoff (tenacity); other 4xx are not.
"""
import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Text, Type
from urllib.parse import urlsplit

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.inline_body import InlineBody, InlineBodyRequest

logger = logging.getLogger(__name__)


class GraphApiError(Exception):
    """A Graph API call failed."""

    retryable = False

    def __init__(
        self,
        message: Text,
        status: Optional[int] = None,
        code: Optional[int] = None,
        subcode: Optional[int] = None,
        details: Optional[Text] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.details = details

    def __str__(self) -> Text:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code}, "
            f"subcode={self.subcode}): {self.args[0]}"
        )


class ForeignMediaHost(GraphApiError):
    """A media URL outside the allowed hosts: the access token is never sent to it."""


class RateLimited(GraphApiError):
    """Throughput or pair rate limit (4, 80007, 130429, 131056): back off and retry."""

    retryable = True


class ServerError(GraphApiError):
    """HTTP 5xx from Graph: retry."""

    retryable = True


class TransportError(GraphApiError):
    """Connection failure or timeout: retry."""

    retryable = True


class OutsideWindow(GraphApiError):
    """131047: more than 24 hours since the citizen last wrote; only templates go out."""


class ExpiredToken(GraphApiError):
    """190: the access token expired or was revoked; nothing will be sent until fixed."""


RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
_BY_CODE: Dict[int, Type[GraphApiError]] = {
    **{code: RateLimited for code in RATE_LIMIT_CODES},
    131047: OutsideWindow,
    190: ExpiredToken,
}


def error_from_response(status: int, body: Any) -> GraphApiError:
    """Builds the right :class:`GraphApiError` subclass from a Graph error body."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = int(code) if isinstance(code, (int, str)) and str(code).isdigit() else None
    subcode = error.get("error_subcode")
    details = (error.get("error_data") or {}).get("details") if isinstance(
        error.get("error_data"), dict
    ) else None
    message = str(error.get("message") or f"HTTP {status}")
    if code in _BY_CODE:
        kind = _BY_CODE[code]
    elif status == 429:
        kind = RateLimited
    elif status >= 500:
        kind = ServerError
    else:
        kind = GraphApiError
    return kind(message, status=status, code=code, subcode=subcode, details=details)


@dataclass(frozen=True)
class MediaInfo:
    id: Text
    url: Text
    mime_type: Optional[Text]
    sha256: Optional[Text]
    file_size: Optional[int]


class GraphApiClient:
    """One aiohttp session per event loop, explicit timeouts, retries with backoff.

    Rasa's loop sends the answers; the webhook server's loop (webhook_server.py)
    sends the read receipts. A session belongs to the loop it was made on, so
    each loop gets its own; :meth:`close` closes the calling loop's.
    """

    def __init__(self, config: WhatsAppConfig) -> None:
        self._config = config
        self._root = config.graph_api_root
        self._timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
        self._sessions: Dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._lock = threading.Lock()  # the loops run in different threads

    @property
    def _headers(self) -> Dict[Text, Text]:
        return {"Authorization": f"Bearer {self._config.access_token}"}

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            with self._lock:
                # loops that are gone (tests start one per request) leave their sessions
                for gone in [other for other in self._sessions if other.is_closed()]:
                    del self._sessions[gone]
                # JSON bodies go out with their headers, not a round of Rasa's loop later
                session = aiohttp.ClientSession(timeout=self._timeout, request_class=InlineBodyRequest)
                self._sessions[loop] = session
        return session

    async def close(self) -> None:
        """Closes the session of the running loop (each loop closes its own)."""
        with self._lock:
            session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None and not session.closed:
            await session.close()

    async def _call(self, method: Text, url: Text, **kwargs: Any) -> Any:
        """One HTTP attempt; returns parsed JSON (or bytes for ``raw=True``)."""
        raw = kwargs.pop("raw", False)
        max_bytes = kwargs.pop("max_bytes", None)
        if "json" in kwargs:
            body = json.dumps(kwargs.pop("json")).encode("utf-8")
            kwargs["data"] = InlineBody(body, content_type="application/json")
        try:
            async with self._get_session().request(
                method, url, headers=self._headers, **kwargs
            ) as response:
                if response.status >= 400:
                    try:
                        body = await response.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError):
                        body = None
                    raise error_from_response(response.status, body)
                if raw:
                    if response.status >= 300:  # redirects are not followed (see download)
                        raise GraphApiError("media download redirected", status=response.status)
                    if max_bytes and (response.content_length or 0) > max_bytes:
                        raise GraphApiError("media too large", status=response.status)
                    data = await response.content.read(max_bytes + 1 if max_bytes else -1)
                    if max_bytes and len(data) > max_bytes:
                        raise GraphApiError("media too large", status=response.status)
                    return data
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise TransportError(f"{type(error).__name__} calling Graph API") from error

    async def _request(self, method: Text, url: Text, **kwargs: Any) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, GraphApiError) and e.retryable),
            stop=stop_after_attempt(max(1, self._config.max_retries)),
            wait=wait_exponential_jitter(
                initial=self._config.retry_base_delay_s,
                max=30 * self._config.retry_base_delay_s,
                jitter=self._config.retry_base_delay_s / 2,
            ),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._call(method, url, **kwargs)

    async def send_message(self, body: Dict[Text, Any]) -> Optional[Text]:
        """POST /{phone_number_id}/messages; returns the new message's wamid."""
        url = f"{self._root}/{self._config.phone_number_id}/messages"
        result = await self._request("POST", url, json=body)
        messages = (result or {}).get("messages") or [{}]
        return messages[0].get("id")

    async def mark_as_read(self, message_id: Text, typing_indicator: bool) -> None:
        from channels.whatsapp.outbound import MarkAsRead

        url = f"{self._root}/{self._config.phone_number_id}/messages"
        await self._request(
            "POST", url, json=MarkAsRead(message_id, typing_indicator).to_dict()
        )

    async def get_media(self, media_id: Text) -> MediaInfo:
        """GET /{media_id}: the short-lived download URL and the media's type."""
        result = await self._request("GET", f"{self._root}/{media_id}")
        if not isinstance(result, dict) or not isinstance(result.get("url"), str):
            raise GraphApiError("media info without a download URL")
        file_size = result.get("file_size")
        return MediaInfo(
            id=str(result.get("id", media_id)),
            url=result["url"],
            mime_type=_text_or_none(result.get("mime_type")),
            sha256=_text_or_none(result.get("sha256")),
            file_size=file_size if isinstance(file_size, int) else None,
        )

    async def download(self, url: Text) -> bytes:
        """Downloads media bytes (the URL needs the same bearer token).

        The URL comes in a Graph answer, but the token goes with the request: it is
        sent only to an allowed host (``media_hosts``, over https), and redirects are
        not followed, since aiohttp would carry the Authorization header along.
        """
        if not media_url_allowed(url, self._config):
            raise ForeignMediaHost(f"media URL host {urlsplit(url).hostname!r} is not allowed")
        return await self._request(
            "GET", url, raw=True, max_bytes=self._config.max_media_bytes, allow_redirects=False
        )

    async def upload_media(self, data: bytes, mime_type: Text, filename: Text) -> Text:
        """POST /{phone_number_id}/media; returns the media id for sending."""
        url = f"{self._root}/{self._config.phone_number_id}/media"

        def form() -> aiohttp.FormData:
            payload = aiohttp.FormData()
            payload.add_field("messaging_product", "whatsapp")
            payload.add_field("type", mime_type)
            payload.add_field("file", data, filename=filename, content_type=mime_type)
            return payload

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, GraphApiError) and e.retryable),
            stop=stop_after_attempt(max(1, self._config.max_retries)),
            wait=wait_exponential_jitter(initial=self._config.retry_base_delay_s),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                result = await self._call("POST", url, data=form())
                return str(result["id"])
        raise AssertionError("unreachable")


def media_url_allowed(url: Text, config: WhatsAppConfig) -> bool:
    """https to an allowed host; plain http only to graph_base_url's own host (the fake)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an invalid port or IPv6 literal
        return False
    if not host or parts.username is not None or host not in config.allowed_media_hosts:
        return False
    if parts.scheme == "https":
        return True
    graph = urlsplit(config.graph_base_url)
    return parts.scheme == graph.scheme and host == (graph.hostname or "").lower()


def _text_or_none(value: Any) -> Optional[Text]:
    return value if isinstance(value, str) else None


def _log_retry(state: Any) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "Graph API call failed (%s); retry %d after %.2fs.",
        error,
        state.attempt_number,
        state.next_action.sleep if state.next_action else 0.0,
    )
