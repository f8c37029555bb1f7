"""Failures of the Azure change feed: transient ones retried within bounds (honouring
``Retry-After``), persistent ones and 401/403/404 raised with a clear message that never
carries the token; and the replay service's OpenAPI checks themselves."""

from __future__ import annotations

import time
import traceback
from datetime import UTC, datetime, timedelta

import pytest
import requests

from dicom_assets.sources.azure import AzureChangeFeed, ChangeFeedError
from dicom_assets.sources.azure.client import service_root

from .recorded_entries import make_entry
from .replay_server import Fault, fast_session, replay_services

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.s3cr3t-payload.signature"
ENTRIES = [make_entry(s, T0 + timedelta(seconds=s)) for s in range(1, 21)]


@pytest.fixture
def serve():
    with replay_services() as start:
        yield start


def everything_printed(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(vars(error))


def test_429_with_retry_after_waits_that_long_then_succeeds(serve):
    service = serve(ENTRIES)
    service.add_fault(Fault("/v2/changefeed/latest", 429, {"Retry-After": "1"}))
    feed = AzureChangeFeed(service.url, "v2", fast_session())

    assert feed.latest_sequence() == 20

    first, second = service.requests
    assert 0.9 <= second.at - first.at < 2.5
    assert feed.http_calls == 2  # the retry is a call the service saw (and may charge)


def test_transient_5xx_and_reset_are_retried_within_one_read(serve):
    service = serve(ENTRIES)
    service.add_fault(Fault("/v1/changefeed", 503, times=1))
    service.add_fault(Fault("/v1/changefeed", kind="reset", times=1))
    service.add_fault(Fault("/v1/changefeed", 502, times=1))
    feed = AzureChangeFeed(service.url, "v1", fast_session())

    poll = feed.poll(0)

    assert [c.sequence for c in poll.changes] == list(range(1, 21))
    assert service.paths().count("/v1/changefeed") == 4
    assert feed.http_calls == 5


def test_a_slow_answer_times_out_and_is_retried(serve):
    service = serve(ENTRIES)
    # A wide margin both ways: the suite runs tests in parallel on a loaded machine.
    service.add_fault(Fault("/v2/changefeed/latest", kind="delay", delay=3.0))
    feed = AzureChangeFeed(service.url, "v2", fast_session(timeout=1.0))
    assert feed.latest_sequence() == 20
    assert len(service.requests) == 2


def test_a_persistent_failure_raises_after_bounded_retries(serve):
    service = serve(ENTRIES)
    service.add_fault(Fault("/v2/changefeed", 503, times=100))
    feed = AzureChangeFeed(service.url, "v2", fast_session(total_retries=2))
    started = time.monotonic()

    with pytest.raises(ChangeFeedError) as caught:
        list(feed.entries_between(T0, T0 + timedelta(hours=1)))

    assert time.monotonic() - started < 5  # bounded: no Retry-After waits, no minutes
    assert str(caught.value) == (
        "GET /v2/changefeed answered 503 Service Unavailable after the bounded retries; "
        "the run can be re-run"
    )
    assert (caught.value.status, caught.value.path) == (503, "/v2/changefeed")
    assert len(service.requests) == 3  # the first try and 2 retries


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "no valid token: check DICOM_AUTH=azure, DICOM_AUDIENCE"),
        (403, "lacks a DICOM role"),
        (404, "check DICOM_SERVER_URL"),
    ],
)
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_client_errors_fail_at_once_with_a_clear_message(serve, status, hint, version):
    service = serve(ENTRIES)
    service.add_fault(Fault("/v1/changefeed", status, times=10))
    feed = AzureChangeFeed(service.url, version, fast_session())

    with pytest.raises(ChangeFeedError) as caught:
        feed.poll(0)

    message = str(caught.value)
    assert message.startswith(f"GET /v1/changefeed answered {status} ")
    assert hint in message
    assert "offset" not in message and "?" not in message  # no query string
    assert caught.value.status == status
    assert service.paths().count("/v1/changefeed") == 1  # not retried


def test_bad_request_explains_itself(serve):
    service = serve(ENTRIES)
    service.add_fault(Fault("/v2/changefeed/latest", 400, body="The limit is invalid."))
    feed = AzureChangeFeed(service.url, "v2", fast_session())
    with pytest.raises(ChangeFeedError, match=r"answered 400 Bad Request: .*\(The limit is inv"):
        feed.latest_sequence()


def test_the_bearer_token_reaches_the_service_and_never_an_error(serve):
    service = serve(ENTRIES, required_token="another-token")
    feed = AzureChangeFeed(
        service.url, "v2", fast_session(total_retries=1, auth_header=lambda: f"Bearer {TOKEN}")
    )
    errors = []
    with pytest.raises(ChangeFeedError) as unauthorized:
        feed.latest_sequence()
    errors.append(unauthorized.value)
    assert unauthorized.value.status == 401
    for status, times in ((403, 1), (404, 1), (503, 2)):
        service.add_fault(Fault("/v2/changefeed/latest", status, times=times))
        with pytest.raises(ChangeFeedError) as caught:
            feed.latest_sequence()
        assert caught.value.status == status
        errors.append(caught.value)
    service.stop()
    gone = AzureChangeFeed(  # a new connection to a port nothing listens on any more
        service.url, "v2", fast_session(total_retries=1, auth_header=lambda: f"Bearer {TOKEN}")
    )
    with pytest.raises(ChangeFeedError) as refused:
        gone.latest_sequence()
    errors.append(refused.value)

    assert "bounded retries" in str(refused.value) and "/v2/changefeed/latest" in str(refused.value)
    assert {request.authorization for request in service.requests} == {f"Bearer {TOKEN}"}
    for error in errors:
        printed = everything_printed(error)
        assert "s3cr3t" not in printed and TOKEN not in printed
        assert "Authorization" not in printed


AZURE_URL = "https://ws-svc.dicom.azurehealthcareapis.com"


@pytest.mark.parametrize(
    ("base_url", "version", "expected_version", "root"),
    [
        (f"{AZURE_URL}/", "v2", "v2", AZURE_URL),
        (f"{AZURE_URL}/v2", "v2", "v2", AZURE_URL),
        (f"{AZURE_URL}/v1/", "1", "v1", AZURE_URL),
        ("http://127.0.0.1:8080/dicom", "V2", "v2", "http://127.0.0.1:8080/dicom"),
    ],
)
def test_service_url_forms(base_url, version, expected_version, root):
    feed = AzureChangeFeed(base_url, version)
    assert feed.api_version == expected_version
    assert feed.page_limit == (100 if expected_version == "v1" else 200)
    assert service_root(base_url, expected_version) == root


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "https://x.example/v1", "api_version": "v2"}, "ends with /v1"),
        ({"base_url": "https://x.example", "api_version": "v3"}, "DICOM_API_VERSION"),
        ({"base_url": "https://x.example", "api_version": "v1", "page_limit": 101}, "1..100"),
        ({"base_url": "https://x.example", "api_version": "v2", "page_limit": 201}, "1..200"),
        ({"base_url": "https://x.example", "api_version": "v2", "page_limit": 0}, "1..200"),
    ],
)
def test_bad_configuration_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AzureChangeFeed(**kwargs)


@pytest.mark.parametrize(
    ("path", "query", "problem"),
    [
        ("/v1/changefeed", "offset=0&limit=101", "greater than the maximum of 100"),
        ("/v1/changefeed", "offset=-1&limit=10", "less than the minimum of 0"),
        ("/v2/changefeed", "Offset=0&Limit=201", "greater than the maximum of 200"),
        ("/v2/changefeed", "Limit=0", "less than the minimum of 1"),
        ("/v2/changefeed", "offset=0&limit=200", "parameters not in the v2 document"),
        ("/v2/changefeed", "StartTime=yesterday", "is not a 'date-time'"),
        ("/v1/changefeed", "startTime=2026-01-01T00:00:00Z", "parameters not in the v1"),
        ("/v1/changefeed/latest", "includeMetadata=maybe", "includeMetadata"),
        ("/changefeed/latest", "", "no OpenAPI document"),
        ("/v2/changefeeds", "", "not in the v2 document"),
        ("/v1/changefeed", "limit=5&limit=6", "given twice"),
    ],
)
def test_the_replay_service_refuses_requests_outside_the_documents(path, query, problem):
    with replay_services() as serve:
        service = serve(ENTRIES)
        response = requests.get(f"{service.url}{path}?{query}", timeout=5)
        assert response.status_code == 400
        assert problem in response.text
        assert len(service.violations) >= 1
        service.violations.clear()  # seen and asserted: not a failure of this test
