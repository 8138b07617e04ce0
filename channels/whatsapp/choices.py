"""Per-citizen memory of the choices the bot offered.

* Above 10 buttons WhatsApp has no widget, so the bot sends a numbered text
  list; the citizen's next message, if it is one of those numbers, becomes the
  button's payload.
* A payload longer than a button or row id allows travels as a short alias.

Kept in memory: a restart forgets open numbered lists (the citizen then types
the option and NLU handles it). Entries expire with WhatsApp's 24 h window.
"""
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Text

ALIAS_PREFIX = "choice:"
_NUMBER = re.compile(r"^\s*#?(\d{1,3})[.)]?\s*$")


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
        match = _NUMBER.match(text or "")
        if not match:
            return None
        index = int(match.group(1))
        if 1 <= index <= len(numbered):
            return numbered[index - 1]
        return None

    def alias(self, sender: Text, payload: Text) -> Text:
        """A short id standing for ``payload`` (for payloads over the id limits)."""
        key = ALIAS_PREFIX + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]
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
