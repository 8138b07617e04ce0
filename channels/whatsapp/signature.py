"""Verification of Meta's ``X-Hub-Signature-256`` webhook header."""
import hashlib
import hmac
from typing import Optional, Text

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def compute_signature(secret: Text, body: bytes) -> Text:
    """Returns the header value Meta would send for ``body`` (``sha256=<hex>``)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{_PREFIX}{digest}"


def is_valid_signature(secret: Text, body: bytes, header: Optional[Text]) -> bool:
    """True when ``header`` is the HMAC-SHA256 of the raw ``body`` with ``secret``.

    The comparison is constant-time (``hmac.compare_digest``).
    """
    if not secret or not header or not header.startswith(_PREFIX):
        return False
    expected = compute_signature(secret, body)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))
