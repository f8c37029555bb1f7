"""Entra ID bearer tokens: scope from the audience, cached, refreshed before expiry, sent as the
``Authorization`` header and never shown.

The tests hand the provider a token issuer implementing azure-core's ``TokenCredential``
protocol (the extension point ``DefaultAzureCredential`` itself implements): reaching Entra ID
is not possible here, the caching and header logic is what is under test.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential

from dicom_assets.sources.azure import (
    DEFAULT_AUDIENCE,
    AzureChangeFeed,
    BearerTokenProvider,
    auth_header_for,
    bearer_token_provider,
)

from .recorded_entries import make_entry
from .replay_server import fast_session, replay_services

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class TokenIssuer:
    """Issues ``token-1``, ``token-2``… valid ``lifetime`` seconds from the shared clock."""

    def __init__(self, clock, lifetime: float = 3600.0):
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes)
            time.sleep(0.01)  # a real credential takes a while: concurrent callers overlap
            return AccessToken(f"token-{len(self.scopes)}", int(self.clock() + self.lifetime))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_default_audience_scope_and_cached_token():
    clock = Clock()
    issuer = TokenIssuer(clock)
    provider = BearerTokenProvider(credential=issuer, clock=clock)
    assert [provider(), provider(), provider()] == ["Bearer token-1"] * 3
    assert issuer.scopes == [("https://dicom.healthcareapis.azure.com/.default",)]
    assert DEFAULT_AUDIENCE == "https://dicom.healthcareapis.azure.com"


@pytest.mark.parametrize(
    ("audience", "scope"),
    [
        (
            "https://dicom.healthcareapis.azure.com/",
            "https://dicom.healthcareapis.azure.com/.default",
        ),
        ("api://my-dicom-app", "api://my-dicom-app/.default"),
        ("api://my-dicom-app/.default", "api://my-dicom-app/.default"),
        (None, "https://dicom.healthcareapis.azure.com/.default"),
        ("", "https://dicom.healthcareapis.azure.com/.default"),
    ],
)
def test_scope_from_audience(audience, scope):
    assert BearerTokenProvider(audience).scope == scope


def test_token_is_refreshed_before_it_expires():
    clock = Clock()
    issuer = TokenIssuer(clock, lifetime=3600)
    provider = BearerTokenProvider(credential=issuer, clock=clock, refresh_margin=300)
    assert provider() == "Bearer token-1"
    clock.now += 3600 - 301  # still more than the margin left
    assert provider() == "Bearer token-1"
    clock.now += 2  # within five minutes of expiry
    assert provider() == "Bearer token-2"
    assert len(issuer.scopes) == 2


def test_concurrent_requests_share_one_token_fetch():
    clock = Clock()
    issuer = TokenIssuer(clock)
    provider = BearerTokenProvider(credential=issuer, clock=clock)
    results = []
    threads = [threading.Thread(target=lambda: results.append(provider())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["Bearer token-1"] * 8
    assert len(issuer.scopes) == 1


def test_the_provider_never_shows_its_token():
    provider = BearerTokenProvider(credential=TokenIssuer(Clock()), clock=Clock())
    value = provider()
    assert "token-1" in value
    assert "token-1" not in repr(provider) and "token-1" not in str(provider)


def test_default_credential_is_azure_identitys():
    provider = BearerTokenProvider()
    # Created lazily (no token is requested here: there is no Entra ID to ask).
    assert isinstance(provider._get_credential(), DefaultAzureCredential)


def test_default_providers_are_shared_per_scope():
    # The sensor builds a new feed each tick: the token cache must outlive it.
    first = bearer_token_provider("api://shared-app")
    assert bearer_token_provider("api://shared-app/") is first
    assert auth_header_for("azure", "api://shared-app") is first
    assert bearer_token_provider("api://other-app") is not first
    issuer = TokenIssuer(Clock())
    assert bearer_token_provider("api://shared-app", credential=issuer) is not first


def test_auth_modes():
    issuer = TokenIssuer(Clock())
    assert auth_header_for(None) is None
    assert auth_header_for("none") is None
    header = auth_header_for(" Azure ", "api://x", credential=issuer)
    assert header is not None and header() == "Bearer token-1"
    assert bearer_token_provider("api://y", credential=issuer)() == "Bearer token-2"
    assert issuer.scopes == [("api://x/.default",), ("api://y/.default",)]
    with pytest.raises(ValueError, match="DICOM_AUTH must be one of none, azure"):
        auth_header_for("basic")


def test_the_feed_sends_the_current_token_on_every_call():
    clock = Clock()
    issuer = TokenIssuer(clock, lifetime=600)
    provider = BearerTokenProvider(credential=issuer, clock=clock)
    entries = [make_entry(s, T0 + timedelta(seconds=s)) for s in range(1, 4)]
    with replay_services() as serve:
        service = serve(entries, required_token="token-1")
        feed = AzureChangeFeed(service.url, "v2", fast_session(auth_header=provider))
        assert [c.sequence for c in feed.poll(0).changes] == [1, 2, 3]
        assert {r.authorization for r in service.requests} == {"Bearer token-1"}
        service.required_token = "token-2"
        clock.now += 600  # expired: the next call fetches and sends a new token
        assert feed.latest_sequence() == 3
        assert service.requests[-1].authorization == "Bearer token-2"
