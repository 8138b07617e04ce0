"""Masking of secrets and phone numbers before anything reaches a log."""
import hashlib
import logging
import re
from typing import Iterable, Optional, Text

_DIGITS = re.compile(r"\+?\d{8,15}")


def mask_phone(number: Optional[Text]) -> Text:
    """Keeps only the last 4 digits of a phone number / wa_id."""
    if not number:
        return "<none>"
    number = str(number)
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def mask_wamid(wamid: Optional[Text]) -> Text:
    """A stable short tag for a WhatsApp message id.

    Real wamids embed the phone number (base64), so logs carry a hash instead.
    """
    if not wamid:
        return "<none>"
    return "wamid#" + hashlib.sha256(str(wamid).encode("utf-8")).hexdigest()[:12]


def mask_secret(secret: Optional[Text]) -> Text:
    """Never shows a secret; only whether it is set and its length."""
    if not secret:
        return "<unset>"
    return f"<secret:{len(secret)} chars>"


def mask_numbers(text: Text) -> Text:
    """Masks every phone-number-like run of digits inside a free text."""
    return _DIGITS.sub(lambda match: mask_phone(match.group(0)), text)


class SecretsFilter(logging.Filter):
    """Scrubs known secrets from every record that passes through a handler or logger.

    It is a safety net: the channel's own log calls already mask what they print.
    """

    def __init__(self, secrets: Iterable[Optional[Text]]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        scrubbed = message
        for secret in self._secrets:
            scrubbed = scrubbed.replace(secret, mask_secret(secret))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True
