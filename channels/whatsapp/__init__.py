"""WhatsApp Business Cloud API channel for Rasa 3.6.

Enable it in a credentials file with the key ``channels.whatsapp.WhatsAppInput``;
the webhook is then served at ``/webhooks/whatsapp/webhook``.
"""
from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.connector import WhatsAppInput
from channels.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppConfig", "WhatsAppInput", "WhatsAppOutput"]
