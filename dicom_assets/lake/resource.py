"""Where the lake lives: a local folder or an ADLS Gen2 / Blob container, as one fsspec filesystem.

Both kinds go through the same code: the IO manager, the writer and the SQL views see an fsspec
filesystem and paths on it. For Azure that filesystem is adlfs on the *Blob* endpoint
(:mod:`dicom_assets.lake.blob_filesystem`), configured from ``DICOM_LAKE_URL`` and the
credential variables (:mod:`dicom_assets.lake.azure_storage`, docs/storage.md).

Why not dagster-azure's ``ADLS2Resource`` (or its ``ADLS2PickleIOManager``): it builds a
``DataLakeServiceClient`` for ``https://<account>.dfs.<suffix>`` from an account name and a
key/SAS/DefaultAzureCredential only. It takes neither a connection string nor an endpoint, always
speaks HTTPS to the ``dfs`` (Data Lake) API, and Azurite implements only the Blob API (every
``dfs`` path operation answers 400), so the lake could not be tested on it; it also hands out
SDK clients, not the fsspec filesystem that pyarrow, universal-pathlib and DuckDB read through.
dagster-azure's ``AzureBlobStorageResource`` has the same two gaps (no connection string, no
fsspec). ADLS Gen2 serves the same data on its Blob endpoint, so nothing is lost in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fsspec
from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.config import is_remote_url, resolve_local_path
from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.lake.azure_storage import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    AzureCredentialChoice,
    AzureLakeLocation,
    choose_credential,
    parse_lake_url,
    register_lake_blob_filesystem,
)
from dicom_assets.lake.delta_options import delta_storage_options, table_uri
from dicom_assets.lake.errors import LakeStorageError, translated_storage_errors
from dicom_assets.lake.layout import DICOM_FOLDER, QUARANTINE_FOLDER
from dicom_assets.lake.writer import DeltaLocation

register_lake_blob_filesystem()

__all__ = ["DICOM_FOLDER", "QUARANTINE_FOLDER", "LakeResource"]


def azure_storage_options(
    url: str, retries: int = DEFAULT_RETRIES, retry_backoff: float = DEFAULT_RETRY_BACKOFF
) -> dict[str, Any]:
    """Filesystem options (secrets inside) for an ``abfs(s)://`` lake, from the environment."""
    location = parse_lake_url(url)
    options = dict(choose_credential(location).options)
    options.update(retries=retries, retry_backoff=retry_backoff)
    return options


class LakeResource(ConfigurableResource):
    """The lake root (DICOM_LAKE_URL): a local folder, ``abfss://<container>@<account>.dfs.core.
    windows.net/<prefix>`` or ``abfs://<container>/<prefix>`` (account from the environment)."""

    url: str = Field(default="data/lake", description="Lake root (DICOM_LAKE_URL).")
    retries: int = Field(
        default=DEFAULT_RETRIES, description="Retries of a failed storage request (Azure only)."
    )
    retry_backoff: float = Field(
        default=DEFAULT_RETRY_BACKOFF,
        description="Base seconds of the retry backoff: retry n waits this + 2**n s (Azure only).",
    )
    # The lake's privacy: one lake, one de-identification (docs/deidentification.md).
    deidentify: str = Field(default="off", description="'off' or 'basic' (DICOM_DEIDENTIFY).")
    deid_options: str = Field(default="", description="Annex E options (DICOM_DEID_OPTIONS).")
    deid_key: str = Field(
        default="", repr=False, description="Pseudonym key (DICOM_DEID_KEY); a secret."
    )

    def deidentifier(self) -> Deidentifier | None:
        """What de-identifies everything written to this lake; None when DICOM_DEIDENTIFY=off."""
        settings = DeidSettings.parse(self.deidentify, self.deid_options, self.deid_key)
        return Deidentifier(settings) if settings.enabled else None

    def root(self) -> str:
        """The lake root as an fsspec path (absolute for local folders)."""
        if is_remote_url(self.url):
            return self.url.rstrip("/")
        return str(resolve_local_path(self.url.removeprefix("file://")))

    def is_local(self) -> bool:
        return not is_remote_url(self.url)

    def location(self) -> AzureLakeLocation:
        """Account, container and prefix of an Azure lake (read from the environment now)."""
        return parse_lake_url(self.url)

    def credential(self) -> AzureCredentialChoice:
        """Which credential an Azure lake uses (its ``options`` hold the secret)."""
        return choose_credential(self.location())

    def describe(self) -> str:
        """Where the lake is and how it is reached, without any secret: for logs and metadata."""
        if self.is_local():
            return f"local folder {self.root()}"
        location = self.location()
        return (
            f"{location.describe()}, prefix '{location.prefix}', via {self.credential().describe()}"
        )

    def storage_options(self) -> dict[str, Any]:
        """Options of the lake's fsspec filesystem. They hold secrets: never log them."""
        if self.is_local():
            return {}
        return azure_storage_options(self.url, self.retries, self.retry_backoff)

    def table(self, folder: str = DICOM_FOLDER) -> DeltaLocation:
        """The Delta table under ``folder`` (default: the change log ``result/Dicom``) with the
        storage options that reach it. They hold secrets: never log them."""
        if self.is_local():
            return DeltaLocation(self.path(folder))
        location = self.location()
        options = delta_storage_options(
            location, self.credential(), self.retries, self.retry_backoff
        )
        return DeltaLocation(table_uri(location, folder), options)

    def filesystem(self) -> fsspec.AbstractFileSystem:
        protocol = "file" if self.is_local() else self.url.split("://", 1)[0]
        with self.storage_errors():
            return fsspec.filesystem(protocol, **self.storage_options())

    @contextmanager
    def storage_errors(self) -> Iterator[None]:
        """Storage failures inside the block become one clear :class:`LakeStorageError`."""
        if self.is_local():
            with self._local_errors():
                yield
            return
        with translated_storage_errors(self.location, self.credential):
            yield

    @contextmanager
    def _local_errors(self) -> Iterator[None]:
        """A lake folder that cannot be created or written names DICOM_LAKE_URL; a file that is
        simply not there stays a ``FileNotFoundError`` for the caller to handle."""
        try:
            yield
        except LakeStorageError:
            raise
        except OSError as error:
            if isinstance(error, FileNotFoundError) and os.path.isdir(self.root()):
                raise
            raise LakeStorageError(
                f"DICOM_LAKE_URL={self.url!r}: the local lake folder {self.root()} cannot be "
                f"written: {error.strerror or error} ({getattr(error, 'filename', None) or ''})"
            ) from None

    def path(self, *parts: str) -> str:
        """A path under the lake root, in the form the filesystem expects (no protocol)."""
        root = self.root() if self.is_local() else self.location().fs_root
        return "/".join([root.rstrip("/"), *[part.strip("/") for part in parts if part]])

    def url_of(self, path: str) -> str:
        """A filesystem path as a URL other readers (DuckDB, Spark) understand."""
        return path if self.is_local() else f"{self.url.split('://', 1)[0]}://{path}"

    def dicom_root(self) -> str:
        return self.path(DICOM_FOLDER)

    def quarantine_root(self) -> str:
        return self.path(QUARANTINE_FOLDER)
