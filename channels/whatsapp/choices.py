"""Per-citizen memory of the choices the bot offered.

* Above 10 buttons WhatsApp has no widget, so the bot sends a numbered text
  list; the citizen's next message, if it is one of those numbers, becomes the
  button's payload.
* A payload longer than a button or row id allows travels as a short alias.

Kept in memory for speed, with the conversation's tracker behind it: after a
restart, or on another Rasa process, the answer is found in the bot messages the
tracker recorded (``choice_in_events``, ``alias_in_events``). Entries expire with
WhatsApp's 24 h window.
"""
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Text

from rasa.shared.core.events import BotUttered, Event, UserUttered

from channels.whatsapp.outbound import MAX_LIST_ROWS

ALIAS_PREFIX = "choice:"
_NUMBER = re.compile(r"^\s*#?(\d{1,3})[.)]?\s*$")
# how far back a tapped row's alias is looked for in the tracker
_ALIAS_LOOKBACK_BOT_MESSAGES = 50


def typed_number(text: Optional[Text]) -> Optional[int]:
    """``3``, ``3.``, ``#3`` or ``3)`` as a number; anything else ``None``."""
    match = _NUMBER.match(text or "")
    return int(match.group(1)) if match else None


def alias_key(payload: Text) -> Text:
    """The short id standing for a payload over Graph's id limits (stable across processes)."""
    return ALIAS_PREFIX + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def _buttons(event: BotUttered) -> List[Dict[Text, Any]]:
    return [b for b in (event.data or {}).get("buttons") or [] if isinstance(b, dict)]


def choice_in_events(events: Sequence[Event], text: Optional[Text]) -> Optional[Text]:
    """Payload of a typed number answering the numbered list of the bot's last answer.

    Only bot messages after the citizen's previous message count, as in memory:
    a number typed later ("somos 3") is never taken for a choice.
    """
    number = typed_number(text)
    if number is None:
        return None
    for event in reversed(events):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, BotUttered):
            buttons = _buttons(event)
            # up to MAX_LIST_ROWS buttons go as WhatsApp widgets, tapped rather than typed
            if len(buttons) > MAX_LIST_ROWS:
                return buttons[number - 1].get("payload") if 1 <= number <= len(buttons) else None
    return None


def alias_in_events(events: Sequence[Event], reply_id: Text) -> Optional[Text]:
    """The payload behind an aliased button or row id, from the bot's recent messages."""
    if not reply_id.startswith(ALIAS_PREFIX):
        return None
    for event in _recent_bot_messages(events):
        for button in _buttons(event):
            payload = button.get("payload")
            if isinstance(payload, str) and alias_key(payload) == reply_id:
                return payload
    return None


def _recent_bot_messages(events: Sequence[Event]) -> Iterator[BotUttered]:
    seen = 0
    for event in reversed(events):
        if isinstance(event, BotUttered):
            yield event
            seen += 1
            if seen >= _ALIAS_LOOKBACK_BOT_MESSAGES:
                return


@dataclass
class _SenderChoices:
    numbered: List[Text] = field(default_factory=list)
    numbered_at: float = 0.0
    aliases: Dict[Text, Text] = field(default_factory=dict)
    touched_at: float = 0.0


class ChoiceMemory:
    def __init__(self, ttl_s: float = 24 * 3600, max_aliases: int = 50) -> None:
        self._ttl_s = ttl_s
        self._max_aliases = max_aliases
        self._senders: Dict[Text, _SenderChoices] = {}

    def _get(self, sender: Text) -> _SenderChoices:
        now = time.monotonic()
        if len(self._senders) > 10000:
            self._senders = {
                k: v for k, v in self._senders.items() if now - v.touched_at < self._ttl_s
            }
        choices = self._senders.setdefault(sender, _SenderChoices())
        choices.touched_at = now
        return choices

    def remember_numbered(self, sender: Text, payloads: Sequence[Text]) -> None:
        """The bot just sent a numbered list with these payloads (1-based)."""
        choices = self._get(sender)
        choices.numbered = list(payloads)
        choices.numbered_at = time.monotonic()

    def resolve_typed(self, sender: Text, text: Optional[Text]) -> Optional[Text]:
        """Payload for a typed number answering the last numbered list, if any.

        The list only answers the citizen's very next message, so a later
        number ("somos 3") is never taken for a choice.
        """
        choices = self._senders.get(sender)
        if not choices or not choices.numbered:
            return None
        numbered, choices.numbered = choices.numbered, []
        if time.monotonic() - choices.numbered_at > self._ttl_s:
            return None
        index = typed_number(text)
        if index is None:
            return None
        if 1 <= index <= len(numbered):
            return numbered[index - 1]
        return None

    def alias(self, sender: Text, payload: Text) -> Text:
        """A short id standing for ``payload`` (for payloads over the id limits)."""
        key = alias_key(payload)
        aliases = self._get(sender).aliases
        aliases[key] = payload
        while len(aliases) > self._max_aliases:
            aliases.pop(next(iter(aliases)))
        return key

    def resolve_reply_id(self, sender: Text, reply_id: Text) -> Text:
        """The payload behind a tapped button / row id."""
        if reply_id.startswith(ALIAS_PREFIX):
            choices = self._senders.get(sender)
            if choices and reply_id in choices.aliases:
                return choices.aliases[reply_id]
        return reply_id
