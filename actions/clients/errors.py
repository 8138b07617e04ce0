"""Typed failures raised by the city-systems clients.

Actions catch these and map each one to a single, clear response for the
citizen; no client ever returns an ``{"error": ...}`` dict.
"""
from typing import Any, Optional


class ServiceError(Exception):
    """Base class of every failure talking to a city system."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        payload: Optional[Any] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.payload = payload


class ServiceUnavailable(ServiceError):
    """Connection error, timeout, 5xx or an unreadable answer."""


class CredentialsRejected(ServiceUnavailable):
    """401/403: the system refused OUR credentials. The citizen can do nothing about
    it (they get the "service unavailable" answer); operators must be told loudly."""


class Busy(ServiceUnavailable):
    """429: the system asks us to slow down; the citizen may try again in a few minutes."""


class NotFound(ServiceError):
    """404: the plate, ticket, certificate, centre or address is unknown."""


class Conflict(ServiceError):
    """409: the slot was taken meanwhile, the appointment is already cancelled, there is
    pending debt, or a request with the same idempotency key is still in progress."""


class InvalidRequest(ServiceError):
    """400/422: the system rejected what we sent."""
