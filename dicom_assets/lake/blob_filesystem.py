"""The fsspec filesystem of a lake on ADLS Gen2 / Blob storage: adlfs with a bounded retry policy.

adlfs builds its Blob clients with the SDK's default retry policy (3 retries after 15, 18 and
24 s, plus the SDK's own connection retries): a stopped storage endpoint then blocks a run for
about 90 s before anything is reported. This subclass builds the same clients with a retry
policy that the lake configures (``retries``, ``retry_backoff``) and a shorter connect timeout,
so a transient fault is still retried but an outage fails the run within seconds to a minute.

It is registered for ``abfs://``, ``abfss://`` and ``az://`` so that every consumer of the
lake's URL (universal-pathlib in the IO manager, pyarrow, DuckDB's registered filesystem) gets
the same clients; it is a strict superset of adlfs (extra keyword arguments only).

Everything goes through the Blob endpoint, never the Data Lake ``dfs`` endpoint: ADLS Gen2
serves both for the same data (multi-protocol access), and Azurite serves only the Blob one.
"""

from __future__ import annotations

from typing import Any

from adlfs import AzureBlobFileSystem
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

from dicom_assets.lake.azure_storage import (
    ACCOUNT_KEY,
    CONNECTION_STRING,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    SAS_TOKEN,
    AzureCredentialChoice,
    AzureLakeLocation,
)

CONNECTION_TIMEOUT = 10  # seconds
# adlfs uploads a file in blocks of this size as its buffer fills (its default is 50 MiB):
# row groups reach the storage as they are written, and a writer holds at most one block.
# Blocks are sent one after the other, so each costs a round trip: on Azurite 16 MiB blocks
# stream ~35 MB/s where 4 MiB blocks manage ~14 MB/s (bench/bench_lake.py, docs/performance.md).
BLOCK_SIZE = 16 * 2**20


class LakeBlobFileSystem(AzureBlobFileSystem):
    """adlfs, with clients retrying ``retries`` times, ``retry_backoff`` seconds apart at first."""

    protocol = ("abfs", "az", "abfss")

    def __init__(
        self,
        *args: Any,
        retries: int = DEFAULT_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        **kwargs: Any,
    ) -> None:
        # Set before adlfs' constructor, which connects (calls do_connect) at its end.
        self.retries = retries
        self.retry_backoff = retry_backoff
        kwargs.setdefault("blocksize", BLOCK_SIZE)
        super().__init__(*args, **kwargs)

    def _client_options(self) -> dict[str, Any]:
        return {
            "retry_policy": ExponentialRetry(
                initial_backoff=self.retry_backoff,
                increment_base=2,
                retry_total=self.retries,
                random_jitter_range=min(1, self.retry_backoff),
            ),
            "connection_timeout": CONNECTION_TIMEOUT,
            "user_agent": "dicom-assets",
        }

    def do_connect(self) -> None:
        """The Blob service client, from the one credential the lake chose (see lake.py)."""
        options = self._client_options()
        if self.connection_string:
            self.service_client = BlobServiceClient.from_connection_string(
                self.connection_string, **options
            )
            return
        if not self.account_name:
            raise ValueError("no storage account: give a connection string or an account name")
        host = getattr(self, "account_host", None) or f"{self.account_name}.blob.core.windows.net"
        account_url = f"https://{host}"
        credential = self.credential or self.account_key
        if credential is None and self.sas_token:
            sas = self.sas_token if self.sas_token.startswith("?") else f"?{self.sas_token}"
            account_url += sas
        self.service_client = BlobServiceClient(account_url, credential=credential, **options)

    # --- for error messages: names only, never a secret ---------------------------------------
    def credential_choice(self) -> AzureCredentialChoice:
        """Which credential this filesystem signs with (same order as ``choose_credential``)."""
        if self.connection_string:
            return AzureCredentialChoice("connection_string", CONNECTION_STRING, {})
        if self.account_key:
            return AzureCredentialChoice("account_key", ACCOUNT_KEY, {})
        if self.sas_token:
            return AzureCredentialChoice("sas_token", SAS_TOKEN, {})
        return AzureCredentialChoice("default_azure_credential", "DefaultAzureCredential", {})

    def location_of(self, path: str) -> AzureLakeLocation:
        """Account and container of ``path`` (a path on this filesystem)."""
        container, _, prefix = self._strip_protocol(path).partition("/")
        account = getattr(self.service_client, "account_name", None) or self.account_name
        return AzureLakeLocation(scheme="abfs", container=container, prefix=prefix, account=account)
