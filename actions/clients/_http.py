"""The small HTTP layer shared by every client.

One ``requests.Session`` per client (created lazily, never at import or
construction), a timeout on every call, retries with exponential backoff
only for idempotent GETs (``urllib3.util.Retry`` mounted on the session
adapter), and the status-code → exception mapping in one place.
"""
import logging
import os
import threading
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Dict, Iterator, Optional, Tuple, Union
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from actions.clients.errors import (
    Busy,
    Conflict,
    CredentialsRejected,
    InvalidRequest,
    NotFound,
    ServiceError,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:5056"
Timeout = Union[float, Tuple[float, float]]
DEFAULT_TIMEOUT: Tuple[float, float] = (3.05, 10)

# GET is the only method retried after the request went out (read errors,
# 502/503/504): POSTs here create records (tickets, bookings, incidents) and
# must never be sent twice behind the citizen's back. Connection failures are
# retried for every method by urllib3, which is safe: nothing was sent.
RETRY_METHODS = frozenset({"GET"})
RETRY_STATUSES = (502, 503, 504)


def base_url_from_env() -> str:
    return os.environ.get("CITY_SERVICES_URL", DEFAULT_BASE_URL).rstrip("/")


def build_session(retries: int = 2, backoff_factor: float = 0.2) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        allowed_methods=RETRY_METHODS,
        status_forcelist=RETRY_STATUSES,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpClient:
    """Base of every system client: URL joining, timeouts, error mapping."""

    def __init__(
        self,
        base_url: str,
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session
        # Without an injected session, each thread builds its own on first use
        # (actions run clients in worker threads; Session is not thread-safe).
        self._local = threading.local()

    @classmethod
    def from_env(cls):
        return cls(base_url_from_env())

    @property
    def session(self) -> requests.Session:
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = build_session()
        return session

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _get(self, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        return self._request("GET", path, params=params)

    def _post(
        self,
        path: str,
        body: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Any:
        """``idempotency_key`` on POSTs that create: the system answers a repeat of
        the key with the first record, so a retry after a timeout creates nothing new."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._request("POST", path, json=body or {}, headers=headers)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.url(path)
        params = kwargs.get("params")
        if params is not None:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            logger.warning("%s %s timed out", method, path)
            raise ServiceUnavailable(f"{method} {path} timed out") from exc
        except requests.RequestException as exc:
            # ConnectionError, RetryError (retries exhausted), invalid URL...
            logger.warning("%s %s failed: %s", method, path, type(exc).__name__)
            raise ServiceUnavailable(f"{method} {path} failed: {type(exc).__name__}") from exc
        return self._parse(method, path, response)

    @staticmethod
    def _parse(method: str, path: str, response: requests.Response) -> Any:
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None and response.content:
                raise ServiceUnavailable(
                    f"{method} {path}: answer is not JSON", status=status
                )
            return body
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = (
            error.get("message") if isinstance(error, dict) else None
        ) or f"{method} {path} answered {status}"
        logger.info("%s %s answered %s (%s)", method, path, status, code)
        if status == 404:
            raise NotFound(message, status=status, code=code, payload=body)
        if status == 409:
            raise Conflict(message, status=status, code=code, payload=body)
        if status in (401, 403):
            # Not the citizen's fault and not transient: our token or key is wrong.
            logger.error(
                "%s %s answered %s: the city system REJECTED OUR CREDENTIALS (%s)",
                method, path, status, code,
            )
            raise CredentialsRejected(message, status=status, code=code, payload=body)
        if status == 429:
            raise Busy(message, status=status, code=code, payload=body)
        if status in (400, 422):
            raise InvalidRequest(message, status=status, code=code, payload=body)
        if status >= 500:
            raise ServiceUnavailable(message, status=status, code=code, payload=body)
        raise ServiceError(message, status=status, code=code, payload=body)


def segment(value: Any) -> str:
    """One URL path segment, percent-encoded (codes and tickets come from users)."""
    return quote(str(value).strip(), safe="")


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


def parse_date(value: str) -> date:
    return date.fromisoformat(value)


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Around the parsing of a 2xx answer only: missing or malformed fields mean
    a broken system (ServiceUnavailable), not a bug in the caller's arguments."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        logger.warning("malformed answer from %s: %r", what, exc)
        raise ServiceUnavailable(f"malformed answer from {what}: {exc!r}") from exc
