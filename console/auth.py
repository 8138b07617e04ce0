"""Passwords, session tokens and CSRF tokens (no I/O: the web layer stores them).

Passwords: scrypt (n=2**14, r=8, p=1, 16-byte salt), stored as
``scrypt$n$r$p$salt_b64$hash_b64`` so parameters can grow without breaking
old hashes. Session tokens are 32 random bytes; only their SHA-256 is stored,
so a copy of the database opens no session.
"""
import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Tuple

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
ABSOLUTE_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    encode = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected), maxmem=2 ** 26)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# a hash to verify against when the user does not exist, so both cases take as long
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def new_session_token() -> Tuple[str, str]:
    """(token for the cookie, hash for the database)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: object, expected: object) -> bool:
    if not isinstance(given, str) or not isinstance(expected, str) or not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def session_alive(created_at: datetime, last_seen_at: datetime, now: datetime, idle: timedelta) -> bool:
    return now - last_seen_at < idle and now - created_at < ABSOLUTE_LIFETIME
