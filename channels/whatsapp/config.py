"""Typed configuration of the WhatsApp channel.

Values come from the channel's block in the credentials file and fall back to
``WHATSAPP_*`` environment variables, then to local defaults. Rasa's
``${VAR}`` substitution raises when VAR is unset, so the credentials block may
simply be empty and let this module read the environment.
"""
import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Text, Tuple
from urllib.parse import urlsplit

from rasa.shared.exceptions import InvalidConfigException

# v21.0 is available until 2027-01-21; v26.0 (2026-07-29) has no end date yet
DEFAULT_API_VERSION = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"

# credentials key -> environment variable
ENVIRONMENT = {
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "api_version": "WHATSAPP_API_VERSION",
    "graph_base_url": "WHATSAPP_GRAPH_URL",
    "dedup_redis_url": "WHATSAPP_DEDUP_REDIS_URL",
    "dedup_sqlite_path": "WHATSAPP_DEDUP_SQLITE_PATH",
    "media_dir": "WHATSAPP_MEDIA_DIR",
    "fallback_template": "WHATSAPP_FALLBACK_TEMPLATE",
    "fallback_template_language": "WHATSAPP_FALLBACK_TEMPLATE_LANGUAGE",
    "ordering_window_ms": "WHATSAPP_ORDERING_WINDOW_MS",
    "allow_unsigned_webhooks": "WHATSAPP_ALLOW_UNSIGNED_WEBHOOKS",
    "max_concurrent_turns": "WHATSAPP_MAX_CONCURRENT_TURNS",
    "webhook_port": "WHATSAPP_WEBHOOK_PORT",
    "webhook_host": "WHATSAPP_WEBHOOK_HOST",
    "media_hosts": "WHATSAPP_MEDIA_HOSTS",
    "documents_public_url": "CITY_SERVICES_PUBLIC_URL",
}

_TRUE = {"1", "true", "yes", "on"}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


@dataclass(frozen=True)
class WhatsAppConfig:
    """Everything the connector needs; built by :meth:`from_credentials`."""

    phone_number_id: Text
    access_token: Text = field(repr=False)
    app_secret: Optional[Text] = field(default=None, repr=False)
    verify_token: Optional[Text] = field(default=None, repr=False)
    api_version: Text = DEFAULT_API_VERSION
    graph_base_url: Text = DEFAULT_GRAPH_URL
    allow_unsigned_webhooks: bool = False
    # de-duplication of redelivered webhooks (wamid)
    dedup_redis_url: Optional[Text] = None
    dedup_sqlite_path: Text = "var/whatsapp_processed.sqlite3"
    dedup_ttl_days: int = 30
    # media store for inbound images
    media_dir: Text = "var/media"
    max_media_bytes: int = 16 * 1024 * 1024
    # hosts a media download URL may point to before the access token goes with it
    # (comma-separated): Meta's CDN for WhatsApp media; graph_base_url's host is
    # always allowed too (it gets the token anyway: the fake Graph API in tests)
    media_hosts: Text = "lookaside.fbsbx.com"
    # where the city services' documents (the libre deuda PDF) are public; without it,
    # or on a loopback/private host, Meta could not fetch their links, so the channel
    # downloads each document itself and uploads it to the Graph API (send by id)
    documents_public_url: Optional[Text] = None
    # 131047 (outside the 24 h window): answer with this approved template, if set
    fallback_template: Optional[Text] = None
    fallback_template_language: Text = "es_AR"
    # per-citizen ordering: deliveries already at the server are always sorted;
    # this extra wait on a citizen's first message also catches earlier ones that
    # arrive up to this late, at the cost of as much latency on every such message
    ordering_window_ms: int = 0
    # what inbound non-text messages become for Rasa
    location_intent: Text = "inform"
    media_intent: Text = "inform"
    unsupported_response: Text = "utter_unsupported_message"
    # a photo refused (checksum, not an image, foreign host): asked for again
    media_refused_response: Text = "utter_photo_not_received"
    list_button_response: Text = "utter_whatsapp_list_button"
    numbered_list_response: Text = "utter_whatsapp_numbered_list"
    typing_indicator: bool = True
    # the webhook also on a port and event loop of its own (webhook_server.py), so
    # that its 200 does not wait for Rasa's turns on Rasa's busy event loop
    webhook_port: Optional[int] = None
    webhook_host: Text = "0.0.0.0"
    # turns run at once across citizens (None: see `turn_limit`)
    max_concurrent_turns: Optional[int] = None
    # on shutdown, how long running turns may finish before resources close
    shutdown_grace_s: float = 10.0
    # Graph API client
    request_timeout_s: float = 10.0
    max_retries: int = 4
    retry_base_delay_s: float = 0.5

    def __post_init__(self) -> None:
        missing = [
            name
            for name in ("phone_number_id", "access_token")
            if not getattr(self, name)
        ]
        if missing:
            raise InvalidConfigException(
                "The WhatsApp channel needs "
                + ", ".join(f"'{m}' (env {ENVIRONMENT[m]})" for m in missing)
                + "."
            )
        if not self.app_secret and not self.allow_unsigned_webhooks:
            raise InvalidConfigException(
                "The WhatsApp channel has no app secret (env WHATSAPP_APP_SECRET), "
                "so it could not verify that webhooks come from Meta. Set it, or "
                "for local development only set `allow_unsigned_webhooks: true`."
            )

    @property
    def turn_limit(self) -> int:
        """Rasa turns run at once, across citizens.

        Rasa's NLU and policies run on its event loop. With the webhook on Rasa's
        loop, every running turn delays the webhook's 200, so few run at once (6),
        and the last citizens of a burst wait for the first. With the webhook on a
        loop of its own, turns share the processor as REST turns do; 16 (the
        benchmark's citizens) bounds memory without queueing them (docs/benchmarks.md).
        """
        if self.max_concurrent_turns is not None:
            return max(1, self.max_concurrent_turns)
        return 16 if self.webhook_port is not None else 6

    @property
    def allowed_media_hosts(self) -> Tuple[Text, ...]:
        """Lower-case host names the media download may go to (with the token)."""
        hosts = {h.strip().lower() for h in self.media_hosts.split(",") if h.strip()}
        graph_host = urlsplit(self.graph_base_url).hostname
        if graph_host:
            hosts.add(graph_host.lower())
        return tuple(sorted(hosts))

    @property
    def documents_by_upload(self) -> bool:
        """Whether document links must be uploaded: Meta cannot reach their host."""
        try:
            host = (urlsplit(self.documents_public_url or "").hostname or "").lower()
        except ValueError:
            return True
        if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a public name
        return not address.is_global

    @property
    def graph_api_root(self) -> Text:
        """``https://graph.facebook.com/v26.0`` (no trailing slash)."""
        return f"{self.graph_base_url.rstrip('/')}/{self.api_version.strip('/')}"

    @classmethod
    def from_credentials(
        cls,
        credentials: Optional[Dict[Text, Any]],
        environ: Optional[Mapping[Text, Text]] = None,
    ) -> "WhatsAppConfig":
        """Credentials value, else environment variable, else default."""
        credentials = dict(credentials or {})
        environ = os.environ if environ is None else environ
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(credentials) - set(known)
        if unknown:
            raise InvalidConfigException(
                f"Unknown WhatsApp channel settings: {', '.join(sorted(unknown))}."
            )

        values: Dict[Text, Any] = {}
        for name, spec in known.items():
            value = credentials.get(name)
            if value in (None, "") and name in ENVIRONMENT:
                value = environ.get(ENVIRONMENT[name]) or None
            if value in (None, ""):
                continue
            values[name] = _coerce(spec, value)
        values.setdefault("phone_number_id", "")
        values.setdefault("access_token", "")
        return cls(**values)


def _coerce(spec: dataclasses.Field, value: Any) -> Any:
    kind = spec.type
    if kind is bool:
        return _as_bool(value)
    if kind in (int, Optional[int]):
        try:
            return int(value)
        except ValueError:
            raise InvalidConfigException(
                f"The WhatsApp setting '{spec.name}' (env {ENVIRONMENT.get(spec.name, '-')}) "
                f"must be a whole number, not {value!r}."
            ) from None
    if kind is float:
        return float(value)
    return str(value)
