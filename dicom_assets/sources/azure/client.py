"""The Azure DICOM service's change-feed routes, one HTTP call per method, errors made clear.

Routes (from the service's OpenAPI documents, one per API version):
``/v1/changefeed``, ``/v1/changefeed/latest``, ``/v2/changefeed``, ``/v2/changefeed/latest``.
Query parameter names are spelled exactly as those documents spell them (the service binds
them case-insensitively, so ``Limit`` and ``limit`` are the same to it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
import requests

from dicom_assets import native
from dicom_assets.sources.http import (
    TRANSIENT_STATUSES,
    CountingSession,
    ServerUnavailableError,
    parse_json_answer,
)

API_VERSIONS = ("v1", "v2")
V1_MAX_LIMIT = 100  # v1 `limit`: 1..100, caps the *sequence range* of a page
V2_MAX_LIMIT = 200  # v2 `Limit`: 1..200, a row count

_VERSION_SEGMENT = re.compile(r"/(v\d+(?:\.\d+)?)$", re.IGNORECASE)

_HINTS = {
    400: "the service rejected the request",
    401: "no valid token: check DICOM_AUTH=azure, DICOM_AUDIENCE and the identity's login",
    403: "the identity lacks a DICOM role (e.g. DICOM Data Reader) on the service",
    404: "no such route: check DICOM_SERVER_URL (the service URL, no version) and "
    "DICOM_API_VERSION",
}


class ChangeFeedError(RuntimeError):
    """The change feed could not be read: the run fails and the cursor does not move.

    The message names the method, the URL path and the status; never the query string, the
    host's credentials or the ``Authorization`` header.
    """

    def __init__(self, message: str, *, status: int | None = None, path: str | None = None):
        super().__init__(message)
        self.status = status
        self.path = path


def normalise_api_version(api_version: str) -> str:
    version = (api_version or "v2").strip().lower()
    if not version.startswith("v"):
        version = f"v{version}"
    if version not in API_VERSIONS:
        raise ValueError(f"DICOM_API_VERSION must be one of {', '.join(API_VERSIONS)}")
    return version


def service_root(base_url: str, api_version: str) -> str:
    """The service URL without a trailing slash or version segment (we add the version)."""
    root = base_url.strip().rstrip("/")
    match = _VERSION_SEGMENT.search(root)
    if match:
        if match.group(1).lower() != api_version:
            raise ValueError(
                f"DICOM_SERVER_URL ends with /{match.group(1)} but DICOM_API_VERSION is "
                f"{api_version}: give the service URL without a version"
            )
        root = root[: match.start()]
    return root


def format_time(value: datetime) -> str:
    """UTC ISO-8601 with a ``Z``, as the service's ``date-time`` parameters expect."""
    if value.tzinfo is None:
        raise ValueError("change-feed times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _bool(value: bool) -> str:
    return "true" if value else "false"


class ChangeFeedClient:
    """Thin, counted access to the change-feed routes of one service."""

    def __init__(self, base_url: str, api_version: str, session: CountingSession):
        self.api_version = normalise_api_version(api_version)
        self.root = service_root(base_url, self.api_version)
        self.session = session

    def _get(self, path: str, params: dict[str, str]) -> Any:
        content = self._content(path, params)
        return None if content is None else _parsed(path, content)

    def _content(self, path: str, params: dict[str, str]) -> bytes | None:
        """The body of a 200 answer; None for an empty feed (204 or an empty body)."""
        try:
            response = self.session.get(
                f"{self.root}{path}", params=params, headers={"Accept": "application/json"}
            )
        except ServerUnavailableError as error:
            # Connection failures and timeouts, after the session's bounded retries. The
            # session's message already names only the method and the URL without its query.
            raise ChangeFeedError(
                f"GET {path} failed after the bounded retries "
                f"({str(error).rsplit(': ', 1)[-1]}); the run can be re-run",
                path=path,
            ) from None
        except requests.RequestException as error:  # a plain requests.Session
            raise ChangeFeedError(f"GET {path} failed: {type(error).__name__}", path=path) from None
        status = response.status_code
        if status == 204 or (status == 200 and not response.content.strip()):
            return None
        if status == 200:
            return response.content
        raise ChangeFeedError(_describe_failure(path, response), status=status, path=path)

    def latest(self) -> dict[str, Any] | None:
        """``GET /{version}/changefeed/latest``: the last entry, or None when the feed is empty."""
        body = self._get(f"/{self.api_version}/changefeed/latest", {"includeMetadata": "false"})
        if body is not None and not isinstance(body, dict):
            raise ChangeFeedError(
                f"GET /{self.api_version}/changefeed/latest answered something else than an entry",
                path=f"/{self.api_version}/changefeed/latest",
            )
        return body

    def v1_range(self, after_sequence: int, limit: int, include_metadata: bool) -> list[dict]:
        """``GET /v1/changefeed``: entries with ``after_sequence < sequence <= after + limit``.

        v1's ``offset`` is an exclusive sequence and ``limit`` caps the sequence range, so a
        page can be short or empty (sequence gaps) without the feed being exhausted.
        """
        if not 1 <= limit <= V1_MAX_LIMIT:
            raise ValueError(f"v1 limit must be within 1..{V1_MAX_LIMIT}")
        params = {
            "offset": str(max(after_sequence, 0)),
            "limit": str(limit),
            "includeMetadata": _bool(include_metadata),
        }
        return self._list("/v1/changefeed", params, include_metadata)

    def v2_window(
        self, start: datetime, end: datetime, offset: int, limit: int, include_metadata: bool
    ) -> list[dict]:
        """``GET /v2/changefeed``: rows ``offset .. offset+limit`` of the window [start, end),
        ordered by timestamp then sequence."""
        if not 1 <= limit <= V2_MAX_LIMIT:
            raise ValueError(f"v2 limit must be within 1..{V2_MAX_LIMIT}")
        params = {
            "StartTime": format_time(start),
            "EndTime": format_time(end),
            "Offset": str(offset),
            "Limit": str(limit),
            "includeMetadata": _bool(include_metadata),
        }
        return self._list("/v2/changefeed", params, include_metadata)

    def _list(self, path: str, params: dict[str, str], include_metadata: bool) -> list[dict]:
        content = self._content(path, params)
        if content is None:
            return []
        entries = entries_with_raw_metadata(content) if include_metadata else None
        if entries is not None:
            return entries
        body = _parsed(path, content)
        if not isinstance(body, list):
            raise ChangeFeedError(f"GET {path} answered something else than a list", path=path)
        return body


def _parsed(path: str, content: bytes) -> Any:
    try:
        return parse_json_answer(content)
    except ValueError:
        raise ChangeFeedError(
            f"GET {path} answered 200 with a body that is not JSON", status=200, path=path
        ) from None


def entries_with_raw_metadata(content: bytes) -> list[dict] | None:
    """A page's entries parsed, but each entry's ``metadata`` kept as the JSON bytes received
    (the converter reads them natively; parsing them here would cost more than converting
    them). An empty metadata object becomes null, as the entries read it. None when the page
    cannot be split so (the native splitter is not built, or the page is not a JSON array of
    objects): parse it whole instead."""
    split = native.split_member(content, "metadata")
    if split is None:
        return None
    entries = []
    for rest, metadata in split:
        try:
            entry = orjson.loads(rest)
        except orjson.JSONDecodeError:
            return None
        if metadata is not None:
            entry["metadata"] = metadata
        entries.append(entry)
    return entries


def _describe_failure(path: str, response: requests.Response) -> str:
    status = response.status_code
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = response.reason or ""
    message = f"GET {path} answered {status} {reason}".rstrip()
    if status in TRANSIENT_STATUSES:
        return f"{message} after the bounded retries; the run can be re-run"
    hint = _HINTS.get(status)
    if hint:
        message = f"{message}: {hint}"
    if status == 400:
        # The service explains a 400 in a short plain-text body (e.g. a limit out of range);
        # it echoes only our own query parameters, which carry no secret.
        detail = response.text.strip()[:200]
        if detail:
            message = f"{message} ({detail})"
    return message
