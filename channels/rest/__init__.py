"""Vecino's REST channel, a development channel (credentials key ``channels.rest.RestInput``)."""
from channels.rest.connector import RestChannelConfig, RestInput

__all__ = ["RestChannelConfig", "RestInput"]
