"""Storage failures of the lake as one clear message, never a stack of SDK internals or a secret.

The Azure SDK's exceptions come wrapped by adlfs and fsspec (``RuntimeError: Failed to upload
block: ...``), carry the service's XML error body, and a failed DefaultAzureCredential lists
every credential it tried. A user needs three facts: which account and container, what went
wrong in one line, and what to check. ``translated_storage_errors`` raises exactly that as a
:class:`LakeStorageError`, with the SDK exception dropped from the chain (``from None``) so
that neither Dagster's error display nor a log shows its internals, and redacts secrets from
whatever text is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from dagster import Failure

from dicom_assets.lake.azure_storage import (
    AzureCredentialChoice,
    AzureLakeLocation,
    LakeConfigurationError,
    redact,
)

AUTH_STATUSES = {401, 403}


class LakeStorageError(Failure):
    """The lake's storage refused or failed a request; the message says which and why.

    A ``dagster.Failure``: Dagster shows its message as the failed run's first error line
    instead of wrapping it in "Error occurred while handling output ..."."""

    def __init__(self, message: str):
        super().__init__(description=message)

    def __str__(self) -> str:
        return self.description or ""


def _azure_error(error: BaseException) -> BaseException | None:
    """The Azure SDK (or azure-identity) exception behind ``error``, following causes."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AzureError) or type(current).__module__.startswith("azure."):
            return current
        current = current.__cause__ or current.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_storage_error(
    error: BaseException, location: AzureLakeLocation, credential: AzureCredentialChoice
) -> str | None:
    """One message for ``error``, or None when it is not a storage failure."""
    azure = _azure_error(error)
    if azure is None:
        return describe_delta_error(error, location, credential)
    where = location.describe()
    how = credential.describe()
    status = getattr(azure, "status_code", None)
    code = getattr(azure, "error_code", None)
    code = getattr(code, "value", code)  # the SDK gives a StorageErrorCode enum or a string
    if isinstance(azure, ClientAuthenticationError) or status in AUTH_STATUSES:
        if credential.kind == "default_azure_credential" and status not in AUTH_STATUSES:
            return (
                f"lake storage: no Azure identity could get a token for {where} "
                f"(DefaultAzureCredential: no managed identity, workload identity or `az login` "
                f"found). Sign in, or set AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN or "
                f"AZURE_STORAGE_CONNECTION_STRING."
            )
        return (
            f"lake storage: {where} refused the credentials "
            f"({how}; HTTP {status or '?'} {code or ''}). Check that the credential belongs to "
            f"account '{location.account or '?'}', is not expired, and may read and write the "
            f"container."
        ).replace(" )", ")")
    if isinstance(azure, (ServiceRequestError, ServiceResponseError)):
        return (
            f"lake storage: {where} could not be reached ({_first_line(azure)}). The storage "
            f"endpoint is down or unreachable; nothing partial was published, re-run the "
            f"partition once it is back."
        )
    if isinstance(azure, ResourceNotFoundError) and code == "ContainerNotFound":
        return f"lake storage: {where} does not exist; create the container or fix DICOM_LAKE_URL."
    if isinstance(azure, HttpResponseError):
        return (
            f"lake storage: request to {where} failed: "
            f"HTTP {status} {code or ''}: {_first_line(azure)}"
        )
    return f"lake storage: {where}: {type(azure).__name__}: {_first_line(azure)}"


_UNREACHABLE = (
    "connection refused",
    "error sending request",
    "dns error",
    "timed out",
    "connection reset",
    "tcp connect",
)
_REFUSED = (
    "authenticationfailed",
    "authorizationfailure",
    "authorizationpermissionmismatch",
    "status: 403",
    "status: 401",
    " 403 ",
    " 401 ",
    "forbidden",
)


_DELTA_MARKERS = (
    "MicrosoftAzure",
    "object_store",
    "Object Store",
    "object store",
    "Kernel error",
    "Error performing",
    "Generic DeltaTable error",
)


def _is_delta_error(error: BaseException) -> bool:
    """An error raised by delta-rs (its own exceptions, or OSError for object-store failures)."""
    module = type(error).__module__ or ""
    text = str(error)
    return module.startswith("deltalake") or (
        isinstance(error, OSError) and any(word in text for word in _DELTA_MARKERS)
    )


def describe_delta_error(
    error: BaseException, location: AzureLakeLocation, credential: AzureCredentialChoice
) -> str | None:
    """One message for a delta-rs storage failure (text only: it has no status attributes)."""
    if not _is_delta_error(error):
        return None
    text = str(error)
    lowered = text.lower()
    where = location.describe()
    if any(word in lowered for word in _UNREACHABLE):
        return (
            f"lake storage: {where} could not be reached (delta-rs: {_first_line(error)[:200]}). "
            f"The storage endpoint is down or unreachable; nothing partial was committed, re-run "
            f"the partition once it is back."
        )
    if any(word in lowered for word in _REFUSED):
        return (
            f"lake storage: {where} refused the credentials ({credential.describe()}). Check that "
            f"the credential belongs to account '{location.account or '?'}', is not expired, and "
            f"may read and write the container."
        )
    if "containernotfound" in lowered or "container does not exist" in lowered:
        return f"lake storage: {where} does not exist; create the container or fix DICOM_LAKE_URL."
    return f"lake storage: {where}: {type(error).__name__}: {_first_line(error)[:300]}"


@contextmanager
def translated_storage_errors(
    location: Callable[[], AzureLakeLocation] | AzureLakeLocation,
    credential: Callable[[], AzureCredentialChoice] | AzureCredentialChoice,
) -> Iterator[None]:
    """Re-raise storage failures inside the block as :class:`LakeStorageError`."""
    try:
        yield
    except (LakeStorageError, LakeConfigurationError):
        raise
    except Exception as error:
        resolved_location = location() if callable(location) else location
        resolved_credential = credential() if callable(credential) else credential
        message = describe_storage_error(error, resolved_location, resolved_credential)
        if message is None:
            raise
        raise LakeStorageError(f"DICOM_LAKE_URL: {redact(message)}") from None


@contextmanager
def translated_fs_errors(fs: Any, path: str) -> Iterator[None]:
    """:func:`translated_storage_errors` for code that holds only the lake's filesystem."""
    describe = getattr(fs, "location_of", None)
    if describe is None:  # a local folder: its errors are clear already
        yield
        return
    with translated_storage_errors(lambda: fs.location_of(path), fs.credential_choice):
        yield
