"""Masking helpers and the secrets filter."""
import logging

from channels.whatsapp.masking import SecretsFilter, mask_numbers, mask_phone, mask_secret, mask_wamid


def test_phone_numbers_keep_only_their_last_four_digits() -> None:
    assert mask_phone("5491155550101") == "*********0101"
    assert mask_phone(None) == "<none>" and mask_phone("12") == "**"
    assert mask_numbers("llamé al 5491155550101 ayer") == "llamé al *********0101 ayer"


def test_secrets_are_never_shown() -> None:
    assert mask_secret("EAAG-secret-token") == "<secret:17 chars>" and mask_secret(None) == "<unset>"


def test_filter_scrubs_secrets_from_records(caplog) -> None:
    token = "EAAG-a-very-secret-token"
    logger = logging.getLogger("tests.masking")
    logger.addFilter(SecretsFilter([token, None, "abc"]))
    with caplog.at_level(logging.INFO, logger="tests.masking"):
        logger.info("calling with %s", token)
    assert token not in caplog.text and "<secret:" in caplog.text


def test_wamids_are_logged_as_a_stable_hash() -> None:
    wamid = "wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABIYFDNBMDFURVhUMDAwMDAwMDAwMDAxAA=="
    assert mask_wamid(wamid) == mask_wamid(wamid) != mask_wamid(wamid + "x")
    assert "NTQ5MTE1NTU1MDEwMR" not in mask_wamid(wamid)
