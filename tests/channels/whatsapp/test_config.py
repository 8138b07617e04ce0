"""WhatsAppConfig: credentials, then WHATSAPP_* environment variables, then defaults."""
from pathlib import Path

import pytest
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import InvalidConfigException

from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from channels.whatsapp.config import DEFAULT_API_VERSION, DEFAULT_GRAPH_URL

ROOT = Path(__file__).resolve().parents[3]
ENV = {
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-env-token-1234567890",
    "WHATSAPP_APP_SECRET": "env-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "env-verify",
    "WHATSAPP_API_VERSION": "v22.0",
    "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9999",
}


def test_environment_fallback_reads_every_documented_variable() -> None:
    config = WhatsAppConfig.from_credentials(None, environ=ENV)
    assert config.phone_number_id == ENV["WHATSAPP_PHONE_NUMBER_ID"]
    assert config.access_token == ENV["WHATSAPP_ACCESS_TOKEN"]
    assert config.app_secret == ENV["WHATSAPP_APP_SECRET"]
    assert config.verify_token == ENV["WHATSAPP_VERIFY_TOKEN"]
    assert config.api_version == "v22.0"
    assert config.graph_base_url == "http://127.0.0.1:9999"
    assert config.graph_api_root == "http://127.0.0.1:9999/v22.0"


def test_defaults_for_version_and_graph_url() -> None:
    env = {k: v for k, v in ENV.items() if k not in ("WHATSAPP_API_VERSION", "WHATSAPP_GRAPH_URL")}
    config = WhatsAppConfig.from_credentials({}, environ=env)
    assert config.api_version == DEFAULT_API_VERSION
    assert DEFAULT_API_VERSION.startswith("v") and float(DEFAULT_API_VERSION[1:]) >= 21
    assert config.graph_base_url == DEFAULT_GRAPH_URL == "https://graph.facebook.com"


def test_credentials_win_over_environment() -> None:
    config = WhatsAppConfig.from_credentials(
        {"verify_token": "from-file", "ordering_window_ms": "250"}, environ=ENV
    )
    assert config.verify_token == "from-file"
    assert config.ordering_window_ms == 250
    assert config.app_secret == ENV["WHATSAPP_APP_SECRET"]


def test_refuses_to_start_without_app_secret() -> None:
    env = {k: v for k, v in ENV.items() if k != "WHATSAPP_APP_SECRET"}
    with pytest.raises(InvalidConfigException, match="WHATSAPP_APP_SECRET"):
        WhatsAppConfig.from_credentials({}, environ=env)


def test_development_flag_allows_unsigned_webhooks() -> None:
    env = {k: v for k, v in ENV.items() if k != "WHATSAPP_APP_SECRET"}
    config = WhatsAppConfig.from_credentials({"allow_unsigned_webhooks": True}, environ=env)
    assert config.allow_unsigned_webhooks and config.app_secret is None


@pytest.mark.parametrize("missing", ["WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_ACCESS_TOKEN"])
def test_missing_graph_credentials_fail_fast(missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(InvalidConfigException, match=missing):
        WhatsAppConfig.from_credentials({}, environ=env)


def test_unknown_setting_is_an_error() -> None:
    with pytest.raises(InvalidConfigException, match="app_secrett"):
        WhatsAppConfig.from_credentials({"app_secrett": "typo"}, environ=ENV)


def test_secrets_are_not_in_repr() -> None:
    text = repr(WhatsAppConfig.from_credentials({}, environ=ENV))
    for secret in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        assert ENV[secret] not in text


def test_shipped_credentials_block_enables_the_channel(monkeypatch, tmp_path) -> None:
    """channels/whatsapp/credentials.yml (appended by scripts/run.sh) needs only the env."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WHATSAPP_DEDUP_SQLITE_PATH", str(tmp_path / "p.sqlite3"))
    combined = tmp_path / "credentials.yml"
    combined.write_text(
        (ROOT / "credentials.yml").read_text() + (ROOT / "channels/whatsapp/credentials.yml").read_text()
    )
    channels = create_http_input_channels(None, str(combined))
    whatsapp = [c for c in channels if isinstance(c, WhatsAppInput)]
    assert len(whatsapp) == 1 and whatsapp[0].config.app_secret == ENV["WHATSAPP_APP_SECRET"]
    assert {c.name() for c in channels} >= {"rest", "whatsapp"}


def test_webhook_port_comes_from_the_environment_and_sets_the_turn_limit() -> None:
    config = WhatsAppConfig.from_credentials(None, environ={**ENV, "WHATSAPP_WEBHOOK_PORT": "5006"})
    assert (config.webhook_port, config.webhook_host) == (5006, "0.0.0.0")
    assert config.turn_limit == 16  # the webhook no longer waits for Rasa's turns
    assert WhatsAppConfig.from_credentials(None, environ=ENV).webhook_port is None
    assert WhatsAppConfig.from_credentials(None, environ=ENV).turn_limit == 6


def test_an_explicit_turn_limit_wins_and_is_at_least_one() -> None:
    env = {**ENV, "WHATSAPP_WEBHOOK_PORT": "5006", "WHATSAPP_MAX_CONCURRENT_TURNS": "3"}
    assert WhatsAppConfig.from_credentials(None, environ=env).turn_limit == 3
    assert WhatsAppConfig.from_credentials({"max_concurrent_turns": 0}, environ=ENV).turn_limit == 1


def test_a_port_that_is_not_a_number_is_a_clear_error() -> None:
    with pytest.raises(InvalidConfigException, match="WHATSAPP_WEBHOOK_PORT"):
        WhatsAppConfig.from_credentials(None, environ={**ENV, "WHATSAPP_WEBHOOK_PORT": "cinco mil"})
