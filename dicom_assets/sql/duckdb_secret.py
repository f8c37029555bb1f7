"""How DuckDB reaches an Azure lake: the table URI and a persistent secret for its credential.

DuckDB's ``delta`` extension reads Azure through its own object store, configured by a DuckDB
secret of ``TYPE azure``. A *persistent* secret (stored by DuckDB under
``~/.duckdb/stored_secrets/``, readable by the machine's user only) lets a plain later connection
or the DuckDB CLI query the views with no project code. With DefaultAzureCredential no secret
value is stored at all (``PROVIDER credential_chain``); a key, SAS or connection string is,
which docs/storage.md points out. A local lake needs none.
"""

from __future__ import annotations

import os

from dicom_assets.lake.delta_options import parse_connection_string

SECRET_NAME = "dicom_lake"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_table_uri(lake) -> str:
    """The change log's URI as DuckDB's ``delta_scan`` takes it."""
    table = lake.table()
    return table.uri


def duckdb_secret_statement(lake) -> str | None:
    """``CREATE OR REPLACE PERSISTENT SECRET`` for an Azure lake (None for a local one)."""
    if lake.is_local():
        return None
    location = lake.location()
    credential = lake.credential()
    scope = f"az://{location.container}/"
    head = f"CREATE OR REPLACE PERSISTENT SECRET {SECRET_NAME} (TYPE azure, "
    tail = f", SCOPE {_literal(scope)})"
    if credential.kind == "connection_string":
        text = credential.options["connection_string"]
        return f"{head}CONNECTION_STRING {_literal(text)}{tail}"
    if credential.kind == "account_key":
        text = (
            f"AccountName={location.account};AccountKey={credential.options['account_key']};"
            "EndpointSuffix=core.windows.net"
        )
        return f"{head}CONNECTION_STRING {_literal(text)}{tail}"
    if credential.kind == "sas_token":
        text = (
            f"BlobEndpoint=https://{location.account}.blob.core.windows.net;"
            f"SharedAccessSignature={credential.options['sas_token'].lstrip('?')}"
        )
        return f"{head}CONNECTION_STRING {_literal(text)}{tail}"
    return f"{head}PROVIDER credential_chain, ACCOUNT_NAME {_literal(location.account or '')}{tail}"


__all__ = ["SECRET_NAME", "duckdb_secret_statement", "duckdb_table_uri", "parse_connection_string"]


def point_duckdb_at_emulator(lake) -> None:
    """Export ``AZURITE_BLOB_STORAGE_URL`` when the lake is on a local Azurite (see
    :func:`emulator_url`). A write for DuckDB's extension, not a setting the product reads."""
    emulator = emulator_url(lake)
    if emulator:
        os.environ["AZURITE_BLOB_STORAGE_URL"] = emulator


def emulator_url(lake) -> str | None:
    """``http://127.0.0.1:<port>`` when the lake is on a local Azurite: DuckDB's delta extension
    reaches an emulator only through ``AZURITE_BLOB_STORAGE_URL`` in the process environment
    (a plain connection to such a lake must export it too; docs/storage.md)."""
    if lake.is_local():
        return None
    endpoint = lake.table().storage_options.get("azure_storage_endpoint", "")
    if endpoint.startswith("http://"):
        host = endpoint.removeprefix("http://").split("/", 1)[0]
        return f"http://{host}"
    return None
