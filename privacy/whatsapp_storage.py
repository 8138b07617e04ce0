"""Where the WhatsApp connector keeps files and delivery records, as its settings say.

The connector's own settings (``WhatsAppConfig``) refuse to load without the channel's
credentials, which the tracker store and the purge command do not need: they only read the
three storage settings, from the same environment variables and with the same defaults.
"""
import dataclasses
import os
from dataclasses import dataclass
from typing import Mapping, Optional, Text

from channels.whatsapp.config import ENVIRONMENT, WhatsAppConfig

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(WhatsAppConfig)}


@dataclass(frozen=True)
class WhatsAppStorage:
    media_dir: Text
    dedup_sqlite_path: Text
    dedup_redis_url: Optional[Text]
    # RedisProcessedMessageStore's own default; the connector sets no other
    dedup_redis_prefix: Text = "vecino:whatsapp"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[Text, Text]] = None) -> "WhatsAppStorage":
        environ = os.environ if environ is None else environ

        def setting(name: Text) -> Optional[Text]:
            return environ.get(ENVIRONMENT[name]) or _DEFAULTS[name]

        return cls(
            media_dir=setting("media_dir"),
            dedup_sqlite_path=setting("dedup_sqlite_path"),
            dedup_redis_url=setting("dedup_redis_url"),
        )
