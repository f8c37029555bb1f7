"""An Azure DICOM change-feed service on 127.0.0.1 for tests: replays entries in the service's
camelCase shape and checks every request against the OpenAPI documents.

Entries are the recorded responses (``data/azure``) and entries generated from the recorded
metadata (recorded_entries.py). Faults (429 with ``Retry-After``, 5xx, 401/403/404, connection
resets, slow answers) are scripted per path. Every request is logged; every request that breaks
the OpenAPI documents is answered 400 and kept in ``violations``, which the fixture asserts to be
empty.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dicom_assets.sources.http import CountingSession

from .openapi import request_violations


@dataclass
class Fault:
    """A scripted answer to the next ``times`` requests of ``path`` (exact path)."""

    path: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    times: int = 1
    kind: str = "respond"  # respond | reset | delay
    delay: float = 0.0


@dataclass
class SeenRequest:
    path: str
    query: dict[str, str]
    authorization: str | None
    at: float  # time.monotonic()


class ReplayChangeFeedService:
    """The change-feed routes of the service, over a list of camelCase entries."""

    def __init__(self, entries: list[dict[str, Any]] | None = None, required_token: str = ""):
        self.entries: list[dict[str, Any]] = list(entries or [])
        self.required_token = required_token
        self.faults: list[Fault] = []
        self.requests: list[SeenRequest] = []
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayChangeFeedService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and path == fault.path:
                    fault.times -= 1
                    return fault
        return None

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        """Status and JSON body (None: empty body) of a valid request."""
        include_metadata = query.get("includeMetadata", "true").lower() == "true"
        if path.endswith("/changefeed/latest"):
            if not self.entries:
                return 200, None
            if path.startswith("/v2/"):
                latest = max(self.entries, key=lambda e: (_time(e), e["sequence"]))
            else:
                latest = max(self.entries, key=lambda e: e["sequence"])
            return 200, _shown(latest, include_metadata)
        if path == "/v1/changefeed":
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
            rows = sorted(
                (e for e in self.entries if offset < e["sequence"] <= offset + limit),
                key=lambda e: e["sequence"],
            )
        elif path == "/v2/changefeed":
            start = query.get("StartTime") or query.get("Window.Start")
            end = query.get("EndTime") or query.get("Window.End")
            rows = sorted(
                (
                    e
                    for e in self.entries
                    if (start is None or _time(e) >= _parse(start))
                    and (end is None or _time(e) < _parse(end))
                ),
                key=lambda e: (_time(e), e["sequence"]),
            )
            offset, limit = int(query.get("Offset", 0)), int(query.get("Limit", 100))
            rows = rows[offset : offset + limit]
        else:
            return 404, None
        return 200, [_shown(e, include_metadata) for e in rows]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _time(entry: dict[str, Any]) -> datetime:
    return _parse(entry["timestamp"])


def _shown(entry: dict[str, Any], include_metadata: bool) -> dict[str, Any]:
    shown = {key: value for key, value in entry.items() if key != "metadata"}
    shown["metadata"] = entry.get("metadata") if include_metadata else None
    return shown


class _ReplayHandler(BaseHTTPRequestHandler):
    """Answers as ``service`` (set per server by :func:`_handler_for`) says."""

    service: ReplayChangeFeedService
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed by http.server after each request):
    # separate small writes meet the client's delayed ACK and cost 40 ms a request.
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        service = self.service
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        authorization = self.headers.get("Authorization")
        service.requests.append(SeenRequest(parts.path, query, authorization, time.monotonic()))
        problems = request_violations("GET", parts.path, parts.query)
        if problems:
            service.violations.extend(problems)
            return self._send(400, "\n".join(problems).encode(), "text/plain")
        if self._faulted(service._take_fault(parts.path)):
            return
        if service.required_token and authorization != f"Bearer {service.required_token}":
            return self._send(401, b"", "text/plain", {"WWW-Authenticate": "Bearer"})
        status, body = service.answer(parts.path, query)
        payload = b"" if body is None else json.dumps(body).encode()
        self._send(status, payload, "application/json")

    def _faulted(self, fault: Any) -> bool:
        """Play an injected fault; True when it answered (or closed) the request."""
        if fault is None:
            return False
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return False
        if fault.kind == "reset":
            # Close without answering: the client sees a connection reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return True
        self._send(fault.status, fault.body.encode(), "text/plain", fault.headers)
        return True

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _handler_for(service: ReplayChangeFeedService) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_ReplayHandler,), {"service": service})


@contextlib.contextmanager
def replay_services() -> Iterator[Callable[..., ReplayChangeFeedService]]:
    """Yields ``start(entries, required_token="")``; stops every service started and fails the
    test if any request broke the OpenAPI documents."""
    started: list[ReplayChangeFeedService] = []

    def start(entries=(), required_token: str = "") -> ReplayChangeFeedService:
        service = ReplayChangeFeedService(list(entries), required_token).start()
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in started:
            service.stop()
    violations = [problem for service in started for problem in service.violations]
    assert violations == [], f"requests outside the OpenAPI documents: {violations}"


def fast_session(**overrides: Any) -> CountingSession:
    """A CountingSession with tiny backoffs, so that retry tests take milliseconds."""
    settings = {"total_retries": 3, "backoff_factor": 0.01, "backoff_max": 0.05, "timeout": 5.0}
    settings.update(overrides)
    return CountingSession(**settings)
