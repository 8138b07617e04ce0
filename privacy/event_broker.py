"""Rasa's RabbitMQ event broker, masking: ``type: privacy.event_broker.MaskingPikaEventBroker``.

Dashboards and analytics read the event stream; they need what happened, not who it
happened to. Every event is masked (``privacy.event_masking``) before Rasa's
``PikaEventBroker`` publishes it, and before it could wait in the broker's queue of
unpublished events.

Settings besides Pika's: ``sender_key`` (or env ``EVENT_BROKER_SENDER_KEY``), the secret of
the sender pseudonyms. Without one, each process draws a random key: pseudonyms then stay
stable only until a restart.
"""
import logging
import os
import secrets
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker

from privacy.event_masking import mask_event
from trainers.masking import mask_sender

logger = logging.getLogger(__name__)

SENDER_KEY_ENV = "EVENT_BROKER_SENDER_KEY"


class MaskingPikaEventBroker(PikaEventBroker):
    def __init__(self, *args: Any, sender_key: Optional[Text] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        key = sender_key or os.environ.get(SENDER_KEY_ENV)
        if not key:
            logger.warning(
                "No %s: sender pseudonyms in the event stream change at every restart.",
                SENDER_KEY_ENV,
            )
            key = secrets.token_hex(32)
        self._sender_key = key.encode("utf-8")

    def pseudonym(self, sender_id: Text) -> Text:
        return mask_sender(sender_id, self._sender_key)

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(mask_event(event, self.pseudonym), headers)
