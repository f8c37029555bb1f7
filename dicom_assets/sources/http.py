"""One HTTP session per server: bounded retries that honour ``Retry-After``, and a call count.

DICOM servers in the cloud charge per call, so every request is counted and reported in the
materialization's metadata. Retries are counted too: they are calls the server saw.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TRANSIENT_STATUSES = (429, 500, 502, 503, 504)


_QUERY = re.compile(r"\?[^\s'\"]*")


class _RedactQueryStrings(logging.Filter):
    """urllib3 logs each retry (and, at debug level, each request) with its URL: keep the
    path, drop the query string, which may carry a SAS token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("?…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


# Logger filters do not apply to records of child loggers: each logger that names a URL.
for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(existing, _RedactQueryStrings) for existing in _logger.filters):
        _logger.addFilter(_RedactQueryStrings())


class ServerUnavailableError(RuntimeError):
    """The server did not answer after the bounded retries; the run fails and can be re-run."""


class _CountingRetry(Retry):
    """urllib3 retry policy that reports each retried attempt to a counter and caps the wait a
    server may ask for with ``Retry-After`` (a misbehaving server must not park a run for hours)."""

    def __init__(
        self,
        *args: Any,
        on_retry: Callable[[], None] | None = None,
        retry_after_max: float = 120.0,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._on_retry = on_retry
        self._retry_after_max = retry_after_max

    def new(self, **kw: Any) -> _CountingRetry:
        retry = super().new(**kw)
        retry._on_retry = self._on_retry
        retry._retry_after_max = self._retry_after_max
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, self._retry_after_max)

    def increment(self, *args: Any, **kwargs: Any) -> _CountingRetry:
        retry = super().increment(*args, **kwargs)
        if self._on_retry is not None:
            self._on_retry()
        return retry


class CountingSession(requests.Session):
    """``requests.Session`` that counts calls (retries included) and retries transient failures.

    ``auth_header`` is called before each request so that tokens can be refreshed; it returns the
    whole ``Authorization`` value (e.g. ``"Bearer …"``), which is never logged nor put into
    exception messages. ``Retry-After`` is honoured up to ``retry_after_max`` seconds per wait.
    After the bounded retries a transient status (429, 5xx) is returned to the caller as the
    last response; connection failures and timeouts raise :class:`ServerUnavailableError`.
    """

    def __init__(
        self,
        *,
        total_retries: int = 5,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 60.0,
        pool_size: int = 16,
        auth_header: Callable[[], str | None] | None = None,
        retry_after_max: float = 120.0,
    ):
        super().__init__()
        self.http_calls = 0
        self._lock = threading.Lock()
        self._timeout = timeout
        self._auth_header = auth_header
        retry = _CountingRetry(
            total=total_retries,
            connect=total_retries,
            read=total_retries,
            status=total_retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            status_forcelist=TRANSIENT_STATUSES,
            allowed_methods=None,  # retry GET and POST alike: our POSTs are idempotent look-ups
            respect_retry_after_header=True,
            raise_on_status=False,
            on_retry=self._count,
            retry_after_max=retry_after_max,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def _count(self) -> None:
        with self._lock:
            self.http_calls += 1

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        # Counted here rather than in ``request`` so that followed redirects count too; the
        # retries urllib3 makes inside one ``send`` are counted by the retry policy.
        self._count()
        return super().send(request, **kwargs)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        if self._auth_header is not None:
            token = self._auth_header()
            if token:
                headers = dict(kwargs.pop("headers", None) or {})
                headers["Authorization"] = token
                kwargs["headers"] = headers
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.RequestException as error:
            # The message names the URL without its query string (which may hold a SAS token)
            # and never the headers.
            safe_url = url.split("?", 1)[0]
            raise ServerUnavailableError(
                f"{method} {safe_url} failed after retries: {type(error).__name__}"
            ) from None


def parse_json_answer(content: bytes) -> Any:
    """A JSON answer's body, parsed. orjson first; the standard library for what orjson refuses
    but JSON allows (lone surrogate escapes, integers beyond 64 bits), so one odd instance in an
    answer is quarantined by the converter instead of failing the run. Raises ``ValueError``
    when the body is not JSON."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)
