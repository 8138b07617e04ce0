from datetime import datetime, timedelta, timezone

from console import auth


def test_password_hash_format_and_verification():
    stored = auth.hash_password("una clave larga")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(__import__("base64").b64decode(salt)) == 16
    assert auth.verify_password("una clave larga", stored)
    assert not auth.verify_password("una clave largA", stored)
    assert auth.hash_password("una clave larga") != stored, "every hash has its own salt"


def test_tampered_or_foreign_hashes_do_not_verify():
    assert not auth.verify_password("x", "bcrypt$2b$...")
    assert not auth.verify_password("x", "scrypt$16384$8$1$no-base64$???")
    assert not auth.verify_password("x", "")


def test_session_tokens_are_stored_hashed():
    token, digest = auth.new_session_token()
    assert len(token) >= 43 and digest == auth.token_hash(token) and token not in digest


def test_session_idle_and_absolute_expiry():
    start = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    idle = timedelta(minutes=30)
    assert auth.session_alive(start, start, start + timedelta(minutes=29), idle)
    assert not auth.session_alive(start, start, start + timedelta(minutes=30), idle)
    last_seen = start + timedelta(hours=11, minutes=59)
    assert not auth.session_alive(start, last_seen, start + timedelta(hours=12), idle)


def test_same_token_refuses_missing_values():
    assert auth.same_token("a", "a")
    assert not auth.same_token(None, "a")
    assert not auth.same_token("", "")
    assert not auth.same_token("a", "b")
