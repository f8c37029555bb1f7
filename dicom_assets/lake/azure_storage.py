"""Where an Azure lake is (account, container, prefix) and which credential reaches it.

``DICOM_LAKE_URL`` takes two forms::

    abfss://<container>@<account>.dfs.core.windows.net/<prefix>   the account is in the URL
    abfs://<container>/<prefix>                                   the account comes from the
                                                                   environment (see below)

Credentials are read from the environment; the first that is set wins (docs/storage.md):

1. ``AZURE_STORAGE_CONNECTION_STRING``: account, endpoint and secret in one string. The only
   form that can name a non-Azure endpoint, hence how Azurite (and sovereign clouds) are reached.
2. ``AZURE_STORAGE_ACCOUNT_KEY``: shared key of the URL's account.
3. ``AZURE_STORAGE_SAS_TOKEN``: a SAS token for the account or the container.
4. none of them: ``DefaultAzureCredential`` (managed identity in Azure Container Apps, workload
   identity, ``az login`` locally). The recommended form: there is no secret to leak or rotate.

An explicit secret wins over the ambient identity because ``DefaultAzureCredential`` can always
be constructed (it finds out only at the first request whether any identity exists), so it
would shadow a key that someone deliberately set. This is also the order of ``az storage`` and
adlfs, so a connection string exported for Azurite behaves the same in every tool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dicom_assets.config import environment

DFS_HOST_SUFFIX = ".dfs.core.windows.net"
BLOB_HOST_SUFFIX = ".blob.core.windows.net"
AZURE_SCHEMES = ("abfs", "abfss", "az")

CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_KEY = "AZURE_STORAGE_ACCOUNT_KEY"
SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
ACCOUNT_NAME = "AZURE_STORAGE_ACCOUNT_NAME"
SECRET_VARIABLES = (CONNECTION_STRING, ACCOUNT_KEY, SAS_TOKEN)


class LakeConfigurationError(ValueError):
    """DICOM_LAKE_URL or the credential variables do not describe a reachable lake."""


@dataclass(frozen=True)
class AzureLakeLocation:
    """An Azure lake root: ``scheme://container/prefix`` in ``account``."""

    scheme: str
    container: str
    prefix: str
    account: str | None  # None: taken from the connection string

    @property
    def fs_root(self) -> str:
        """The root as an fsspec (adlfs) path: ``container/prefix``."""
        return f"{self.container}/{self.prefix}".rstrip("/")

    def describe(self) -> str:
        """Names only, never a secret: for messages."""
        return f"container '{self.container}' of storage account '{self.account or '?'}'"


def parse_lake_url(url: str, environ: Mapping[str, str] | None = None) -> AzureLakeLocation:
    """Split an ``abfs(s)://`` lake URL; the account comes from the URL, else the environment."""
    environ = environment(environ)
    scheme, _, rest = url.partition("://")
    if scheme not in AZURE_SCHEMES:
        raise LakeConfigurationError(f"not an Azure lake URL (abfs://, abfss://): {url!r}")
    host, _, prefix = rest.partition("/")
    container, at, account_host = host.partition("@")
    account = None
    if at:
        if not account_host.endswith((DFS_HOST_SUFFIX, BLOB_HOST_SUFFIX)):
            raise LakeConfigurationError(
                f"expected abfss://<container>@<account>{DFS_HOST_SUFFIX}/<prefix>, got {url!r}"
            )
        account = account_host.split(".", 1)[0]
    account = account or environ.get(ACCOUNT_NAME) or _connection_string_account(environ)
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", container):
        raise LakeConfigurationError(
            f"{container!r} is not a valid container name (3-63 lower-case letters, digits, "
            f"single hyphens) in DICOM_LAKE_URL {url!r}"
        )
    return AzureLakeLocation(
        scheme=scheme, container=container, prefix=prefix.strip("/"), account=account
    )


@dataclass(frozen=True)
class AzureCredentialChoice:
    """The credential the lake uses: its kind, where it came from, and adlfs options."""

    kind: str  # connection_string | account_key | sas_token | default_azure_credential
    source: str  # the environment variable, or "DefaultAzureCredential"
    options: dict[str, Any] = field(repr=False)  # secrets inside: never log these

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} ({self.source})"


def choose_credential(
    location: AzureLakeLocation, environ: Mapping[str, str] | None = None
) -> AzureCredentialChoice:
    """The first credential set in the environment, in the documented order."""
    environ = environment(environ)
    connection_string = environ.get(CONNECTION_STRING)
    if connection_string:
        named = _connection_string_account(environ)
        if location.account and named and named != location.account:
            raise LakeConfigurationError(
                f"DICOM_LAKE_URL names storage account '{location.account}' but "
                f"{CONNECTION_STRING} is for account '{named}': unset one of them"
            )
        return AzureCredentialChoice(
            "connection_string", CONNECTION_STRING, {"connection_string": connection_string}
        )
    if not location.account:
        raise LakeConfigurationError(
            f"no storage account for the lake: use abfss://<container>@<account>{DFS_HOST_SUFFIX}/"
            f"<prefix>, or set {ACCOUNT_NAME} (or {CONNECTION_STRING})"
        )
    account = {"account_name": location.account}
    if environ.get(ACCOUNT_KEY):
        return AzureCredentialChoice(
            "account_key", ACCOUNT_KEY, {**account, "account_key": environ[ACCOUNT_KEY]}
        )
    if environ.get(SAS_TOKEN):
        token = environ[SAS_TOKEN]
        return AzureCredentialChoice(
            "sas_token",
            SAS_TOKEN,
            {**account, "sas_token": token if token.startswith("?") else f"?{token}"},
        )
    # adlfs builds DefaultAzureCredential (sync and async) itself when nothing else is given.
    return AzureCredentialChoice(
        "default_azure_credential", "DefaultAzureCredential", {**account, "anon": False}
    )


def _connection_string_account(environ: Mapping[str, str]) -> str | None:
    """``AccountName=``, else the account of ``BlobEndpoint=`` (a SAS connection string has no
    name): ``https://<account>.blob...`` or, on an emulator, ``http://host:port/<account>``."""
    text = environ.get(CONNECTION_STRING) or ""
    match = re.search(r"(?:^|;)\s*AccountName=([^;]+)", text, re.IGNORECASE)
    if match:
        return match.group(1).strip()
    endpoint = re.search(r"(?:^|;)\s*BlobEndpoint=(\w+)://([^/;]+)/?([^/;]*)", text, re.IGNORECASE)
    if not endpoint:
        return None
    host, path = endpoint.group(2), endpoint.group(3)
    return host.split(".", 1)[0] if host.endswith(BLOB_HOST_SUFFIX) else (path or None)


# --- keeping secrets out of messages -----------------------------------------------------------
_SECRET_PATTERNS = (
    re.compile(r"(AccountKey=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"(SharedAccessSignature=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"([?&]sig=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(Authorization:?\s*['\"]?(?:SharedKey|Bearer)\s+)[^\s'\",]+", re.IGNORECASE),
)
REDACTED = "***"


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret the environment holds for the lake, longest first (for redaction)."""
    environ = environment(environ)
    values = {environ[name] for name in SECRET_VARIABLES if environ.get(name)}
    for value in list(values):  # a SAS token appears with or without its leading "?"
        values.add(value.lstrip("?"))
        for part in value.split(";"):  # a connection string's key, on its own
            if part.lower().startswith(("accountkey=", "sharedaccesssignature=")):
                values.add(part.split("=", 1)[1])
    return sorted((v for v in values if len(v) >= 8), key=len, reverse=True)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` without any lake secret: known values and anything shaped like a key or SAS."""
    for value in secret_values(environ):
        text = text.replace(value, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


DEFAULT_RETRIES = 4
# Retry n waits retry_backoff + 2**n seconds (the SDK's ExponentialRetry with base 2): by
# default 3, 5, 9 and 17 s, so an outage fails a run after about 35 s.
DEFAULT_RETRY_BACKOFF = 1.0
BLOB_PROTOCOLS = ("abfs", "abfss", "az")


def register_lake_blob_filesystem() -> None:
    """Serve ``abfs://``, ``abfss://`` and ``az://`` with our adlfs subclass, by class path:
    adlfs and the Azure SDK (about a second of imports) load only when a lake on Azure is used,
    which keeps every run of a local lake quicker to start."""
    import fsspec

    for protocol in BLOB_PROTOCOLS:
        fsspec.register_implementation(
            protocol, "dicom_assets.lake.blob_filesystem.LakeBlobFileSystem", clobber=True
        )
