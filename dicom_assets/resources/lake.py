"""Where the lake lives: a local folder or an ADLS Gen2 / Blob container, as one fsspec filesystem."""

from __future__ import annotations

import os
from typing import Any

import fsspec
from dagster import ConfigurableResource
from pydantic import Field

from dicom_assets.config import is_remote_url, resolve_local_path

DICOM_FOLDER = "result/Dicom"
QUARANTINE_FOLDER = "result/Dicom_Quarantine"


def azure_storage_options(url: str) -> dict[str, Any]:
    """adlfs options from the environment, in the order users expect them (see README)."""
    options: dict[str, Any] = {}
    if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        options["connection_string"] = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
        return options
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    host = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in host:  # abfss://container@account.dfs.core.windows.net/prefix
        account = host.split("@", 1)[1].split(".", 1)[0]
    if account:
        options["account_name"] = account
    if os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"):
        options["account_key"] = os.environ["AZURE_STORAGE_ACCOUNT_KEY"]
    elif os.environ.get("AZURE_STORAGE_SAS_TOKEN"):
        options["sas_token"] = os.environ["AZURE_STORAGE_SAS_TOKEN"]
    else:
        options["anon"] = False  # adlfs then uses DefaultAzureCredential
    return options


class LakeResource(ConfigurableResource):
    """The lake root (DICOM_LAKE_URL): a local folder or ``abfs(s)://container/prefix``."""

    url: str = Field(default="data/lake", description="Lake root (DICOM_LAKE_URL).")

    def root(self) -> str:
        """The lake root as an fsspec path (absolute for local folders)."""
        if is_remote_url(self.url):
            return self.url.rstrip("/")
        return str(resolve_local_path(self.url.removeprefix("file://")))

    def is_local(self) -> bool:
        return not is_remote_url(self.url)

    def storage_options(self) -> dict[str, Any]:
        return {} if self.is_local() else azure_storage_options(self.url)

    def filesystem(self) -> fsspec.AbstractFileSystem:
        protocol = "file" if self.is_local() else self.url.split("://", 1)[0]
        return fsspec.filesystem(protocol, **self.storage_options())

    def path(self, *parts: str) -> str:
        """A path under the lake root, in the form the filesystem expects (no protocol)."""
        root = self.root()
        if not self.is_local():
            root = _strip_protocol(root)
        return "/".join([root.rstrip("/"), *[part.strip("/") for part in parts if part]])

    def url_of(self, path: str) -> str:
        """A filesystem path as a URL other readers (DuckDB, Spark) understand."""
        return path if self.is_local() else f"{self.url.split('://', 1)[0]}://{path}"

    def dicom_root(self) -> str:
        return self.path(DICOM_FOLDER)

    def quarantine_root(self) -> str:
        return self.path(QUARANTINE_FOLDER)


def _strip_protocol(url: str) -> str:
    """``abfss://container@account.dfs.core.windows.net/prefix`` -> ``container/prefix``."""
    rest = url.split("://", 1)[1]
    host, _, prefix = rest.partition("/")
    container = host.split("@", 1)[0]
    return f"{container}/{prefix}".rstrip("/")
