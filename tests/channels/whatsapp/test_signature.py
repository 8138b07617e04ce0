"""X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret."""
import pytest

from channels.whatsapp.signature import compute_signature, is_valid_signature

# Golden vector published for the same `sha256=` HMAC header scheme (GitHub's
# "Validating webhook deliveries" documentation): secret, body, header value.
GOLDEN_SECRET = "It's a Secret to Everybody"
GOLDEN_BODY = b"Hello, World!"
GOLDEN_HEADER = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_golden_vector() -> None:
    assert compute_signature(GOLDEN_SECRET, GOLDEN_BODY) == GOLDEN_HEADER
    assert is_valid_signature(GOLDEN_SECRET, GOLDEN_BODY, GOLDEN_HEADER)


@pytest.mark.parametrize(
    "secret, body, header",
    [
        (GOLDEN_SECRET, GOLDEN_BODY + b" ", GOLDEN_HEADER),  # body changed by one byte
        ("another secret", GOLDEN_BODY, GOLDEN_HEADER),  # wrong secret
        (GOLDEN_SECRET, GOLDEN_BODY, GOLDEN_HEADER[len("sha256="):]),  # no prefix
        (GOLDEN_SECRET, GOLDEN_BODY, "sha1=" + GOLDEN_HEADER[len("sha256="):]),
        (GOLDEN_SECRET, GOLDEN_BODY, GOLDEN_HEADER[:-1]),  # truncated
        (GOLDEN_SECRET, GOLDEN_BODY, "sha256=ñ" + "0" * 63),  # non-ascii garbage
        (GOLDEN_SECRET, GOLDEN_BODY, ""),
        (GOLDEN_SECRET, GOLDEN_BODY, None),
        ("", GOLDEN_BODY, GOLDEN_HEADER),  # no secret never validates
    ],
)
def test_invalid_signatures_are_rejected(secret, body, header) -> None:
    assert not is_valid_signature(secret, body, header), f"{header!r} should not validate"


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls = []
    original = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert is_valid_signature(GOLDEN_SECRET, GOLDEN_BODY, GOLDEN_HEADER)
    assert calls, "the signature must be compared with hmac.compare_digest"
