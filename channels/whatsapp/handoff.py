"""While an operator has a conversation, what the citizen sends goes to the operators' console.

Rasa pauses the conversation (``ConversationPaused``, set by the handoff actions): it logs
each message and runs no action, so the bot says nothing. Its turn comes back silent, and
only then does the connector look at the tracker: a paused conversation's message is
relayed to the console (``POST /api/handoffs/messages``), with its photo, pin or audio. A
normal turn pays nothing for this.

One exception to the silence: a message that reads as a new emergency (or as violence,
Línea 144) gets the life-safety numbers at once, and the console raises the conversation's
priority.
"""
import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Text

import aiohttp

from channels.whatsapp.masking import mask_phone

logger = logging.getLogger(__name__)

DEFAULT_CONSOLE_URL = "http://127.0.0.1:5060"

# intent -> the domain response sent at once while paused
LIFE_SAFETY_RESPONSES: Mapping[Text, Text] = {
    "report_emergency": "utter_emergency_numbers",
    "linea_144": "utter_linea_144/emergency",
}
# below this, a word like "inundación" in a long message is not trusted to be a new emergency;
# the operator reads the message anyway
LIFE_SAFETY_CONFIDENCE = 0.5


@dataclass(frozen=True)
class RelayedMessage:
    """One citizen message for the operator, as the console's API takes it."""

    at: datetime
    kind: Text  # text | image | location | audio | document | video | sticker | other
    text: Optional[Text] = None
    media_ref: Optional[Text] = None
    mime_type: Optional[Text] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    external_id: Optional[Text] = None

    def as_json(self) -> Dict[Text, Any]:
        body = {k: v for k, v in self.__dict__.items() if v is not None and k != "at"}
        body["at"] = self.at.astimezone(timezone.utc).isoformat()
        return body


@dataclass(frozen=True)
class RelayOutcome:
    delivered: bool
    # the conversation was an emergency handoff already: its citizen has had the numbers
    already_emergency: bool = False


def life_safety_response(parse_data: Mapping[Text, Any]) -> Optional[Text]:
    """The response a paused conversation still gets for this message, if any."""
    intent = parse_data.get("intent") or {}
    name = str(intent.get("name") or "").split("/")[0]
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError):
        confidence = 0.0
    if confidence < LIFE_SAFETY_CONFIDENCE:
        return None
    return LIFE_SAFETY_RESPONSES.get(name)


class ConsoleRelay:
    """Posts relayed messages to the console, retrying a few times before giving up.

    A message that never reaches the console is still in Rasa's tracker (Rasa logged it
    while paused); the failure is logged as an error for the operators' supervisor.
    """

    def __init__(self, base_url: Text, token: Text, attempts: int = 4, backoff_s: float = 0.5) -> None:
        self._url = base_url.rstrip("/") + "/api/handoffs/messages"
        self._token = token
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._session: Optional[aiohttp.ClientSession] = None

    @classmethod
    def from_env(cls, environ: Optional[Mapping[Text, Text]] = None) -> Optional["ConsoleRelay"]:
        environ = os.environ if environ is None else environ
        token = environ.get("CONSOLE_API_TOKEN") or ""
        if not token:
            return None
        return cls(environ.get("CONSOLE_URL") or DEFAULT_CONSOLE_URL, token)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def try_once(self, citizen_id: Text, message: RelayedMessage, emergency: bool) -> Optional[RelayOutcome]:
        """One attempt; None when it may succeed later (the console is down or busy)."""
        body = {"citizen_id": citizen_id, "emergency": emergency, "message": message.as_json()}
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._client().post(self._url, json=body, headers=headers) as response:
                if response.status < 300:
                    answer = await response.json(content_type=None)
                    already = bool(isinstance(answer, dict) and answer.get("already_emergency"))
                    return RelayOutcome(delivered=True, already_emergency=already)
                if response.status == 404:
                    # paused in Rasa but no longer open in the console (an operator closed it
                    # while this message was on its way): nothing to append it to
                    logger.warning("No open handoff for %s; message kept only in the tracker.",
                                   mask_phone(citizen_id))
                    return RelayOutcome(delivered=False)
                if response.status < 500 and response.status != 429:
                    logger.error("The console refused a relayed message: HTTP %s.", response.status)
                    return RelayOutcome(delivered=False)
                logger.warning("The console answered HTTP %s to a relayed message.", response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.warning("Relay to the console failed: %s", type(error).__name__)
        return None

    async def relay(self, citizen_id: Text, message: RelayedMessage, emergency: bool) -> RelayOutcome:
        """Relays with retries; a message that never gets through is logged as an error."""
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            outcome = await self.try_once(citizen_id, message, emergency)
            if outcome is not None:
                return outcome
        logger.error("Could not relay a message of %s to the console; it stays in the tracker.",
                     mask_phone(citizen_id))
        return RelayOutcome(delivered=False)
