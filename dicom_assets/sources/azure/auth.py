"""Microsoft Entra ID bearer tokens for the Azure DICOM service (``DICOM_AUTH=azure``).

``DefaultAzureCredential`` finds a managed identity in Azure and the developer's login
(``az login``, VS Code, environment variables) locally. The token is cached and refreshed a few
minutes before it expires; it is only ever put into the ``Authorization`` header, never into
logs, reprs or exception messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

DEFAULT_AUDIENCE = "https://dicom.healthcareapis.azure.com"
AUTH_MODES = ("none", "azure")
# A token is replaced this long before its expiry, so that a request (and its retries) never
# reaches the server with a token that expires in flight.
REFRESH_MARGIN_SECONDS = 300.0


class TokenCredential(Protocol):
    """What azure-identity credentials offer (``azure.core.credentials.TokenCredential``)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:  # returns an AccessToken
        ...


def scope_for(audience: str | None) -> str:
    """The OAuth scope of an audience: ``https://dicom.healthcareapis.azure.com/.default``."""
    audience = (audience or DEFAULT_AUDIENCE).strip().rstrip("/")
    if audience.endswith("/.default"):
        return audience
    return f"{audience}/.default"


class BearerTokenProvider:
    """Callable returning ``"Bearer <token>"``: pass it as ``CountingSession(auth_header=...)``.

    Thread-safe: concurrent requests share one token, and only one of them refreshes it.
    """

    def __init__(
        self,
        audience: str | None = None,
        *,
        credential: TokenCredential | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.scope = scope_for(audience)
        self._credential = credential
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - self._refresh_margin:
                access = self._get_credential().get_token(self.scope)
                self._token = access.token
                self._expires_on = float(access.expires_on)
            return f"Bearer {self._token}"

    def _get_credential(self) -> TokenCredential:
        if self._credential is None:
            # Imported lazily: DICOM_AUTH=none never needs azure-identity's import cost.
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    def __repr__(self) -> str:  # never the token
        return f"BearerTokenProvider(scope={self.scope!r})"


_shared_providers: dict[str, BearerTokenProvider] = {}
_shared_lock = threading.Lock()


def bearer_token_provider(
    audience: str | None = None, *, credential: TokenCredential | None = None
) -> Callable[[], str]:
    """A cached, self-refreshing ``Authorization`` header value for ``audience``.

    ``credential`` defaults to azure-identity's ``DefaultAzureCredential`` (created on first
    use). Without an explicit credential the provider is shared per scope within the process:
    the sensor builds a new feed on every tick, and each must not ask Entra ID for a new token.
    """
    if credential is not None:
        return BearerTokenProvider(audience, credential=credential)
    scope = scope_for(audience)
    with _shared_lock:
        provider = _shared_providers.get(scope)
        if provider is None:
            provider = _shared_providers[scope] = BearerTokenProvider(audience)
        return provider


def auth_header_for(
    auth: str | None, audience: str | None = None, *, credential: TokenCredential | None = None
) -> Callable[[], str] | None:
    """The ``auth_header`` for ``CountingSession`` from ``DICOM_AUTH`` / ``DICOM_AUDIENCE``."""
    mode = (auth or "none").strip().lower()
    if mode == "none":
        return None
    if mode == "azure":
        return bearer_token_provider(audience, credential=credential)
    raise ValueError(f"DICOM_AUTH must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
