"""CountingSession: every call counted (retries too), ``Retry-After`` honoured within a cap,
bounded retries, errors without query strings or headers."""

from __future__ import annotations

import logging
import time
import traceback

import pytest

from dicom_assets.sources.http import CountingSession, ServerUnavailableError, parse_json_answer

from .azure.replay_server import Fault, replay_services

LATEST = "/v1/changefeed/latest"


@pytest.fixture
def service():
    with replay_services() as start:
        yield start([])


def session(**overrides) -> CountingSession:
    settings = {"total_retries": 3, "backoff_factor": 0.01, "backoff_max": 0.05, "timeout": 5.0}
    return CountingSession(**{**settings, **overrides})


def test_retries_are_counted_as_calls(service):
    service.add_fault(Fault(LATEST, 503, times=2))
    counting = session()
    response = counting.get(f"{service.url}{LATEST}")
    assert response.status_code == 200
    assert counting.http_calls == 3 == len(service.requests)
    counting.get(f"{service.url}{LATEST}")
    assert counting.http_calls == 4


def test_retries_are_bounded_and_return_the_last_answer(service):
    service.add_fault(Fault(LATEST, 502, times=10))
    counting = session(total_retries=2)
    response = counting.get(f"{service.url}{LATEST}")
    assert response.status_code == 502
    assert counting.http_calls == 3 == len(service.requests)


def test_retry_after_is_honoured_up_to_its_cap(service):
    service.add_fault(Fault(LATEST, 429, {"Retry-After": "3600"}))
    counting = session(retry_after_max=0.3)
    started = time.monotonic()
    assert counting.get(f"{service.url}{LATEST}").status_code == 200
    waited = service.requests[1].at - service.requests[0].at
    assert 0.25 <= waited < 3  # the cap, not the hour asked for (margin: a loaded machine)
    assert time.monotonic() - started < 5


def test_client_errors_are_not_retried(service):
    service.add_fault(Fault(LATEST, 403))
    counting = session()
    assert counting.get(f"{service.url}{LATEST}").status_code == 403
    assert counting.http_calls == 1


def test_auth_header_is_asked_for_each_request(service):
    values = iter(["Bearer one", "Bearer two"])
    counting = session(auth_header=lambda: next(values))
    counting.get(f"{service.url}{LATEST}")
    counting.get(f"{service.url}{LATEST}")
    assert [r.authorization for r in service.requests] == ["Bearer one", "Bearer two"]
    plain = session(auth_header=lambda: None)
    plain.get(f"{service.url}{LATEST}")
    assert service.requests[-1].authorization is None


def test_unreachable_server_error_and_logs_name_the_path_only(caplog):
    with replay_services() as start:
        gone = start([])
    secret, token = "very" + "-secret", "hush" + "-hush"  # not spelt out: tracebacks quote code
    counting = session(total_retries=1, auth_header=lambda: f"Bearer {token}")
    with (
        caplog.at_level(logging.DEBUG, logger="urllib3"),
        pytest.raises(ServerUnavailableError) as caught,
    ):
        counting.get(f"{gone.url}/v1/changefeed?sig={secret}&offset=1")
    printed = "".join(traceback.format_exception(caught.value))
    assert str(caught.value) == (
        f"GET {gone.url}/v1/changefeed failed after retries: ConnectionError"
    )
    assert secret not in printed and token not in printed
    assert counting.http_calls == 2
    retried = [r.getMessage() for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retried) == 1 and "/v1/changefeed?…" in retried[0]
    assert all(secret not in r.getMessage() and token not in r.getMessage() for r in caplog.records)


def test_json_answers_that_orjson_refuses_are_still_parsed():
    assert parse_json_answer(b'[{"a": "\\ud800", "b": 123456789012345678901234567890}]') == [
        {"a": "\ud800", "b": 123456789012345678901234567890}
    ]
    assert parse_json_answer(b'{"a": 1}') == {"a": 1}
    for not_json in (b"<html>", b"[1,", b"\xff\xfe"):
        with pytest.raises(ValueError):
            parse_json_answer(not_json)
