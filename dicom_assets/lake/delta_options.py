"""The lake's Azure credential as delta-rs (object_store) storage options.

delta-rs reaches ADLS Gen2 / Blob storage through the Rust ``object_store`` crate, which takes
options, not an SDK credential, and refuses a raw connection string ("Account must be
specified"). Each credential the lake accepts (azure_storage.py, in its order) maps onto them:

- connection string: parsed; ``AccountName``/``AccountKey``, or ``SharedAccessSignature``, and
  a ``BlobEndpoint`` (Azurite, sovereign clouds) as ``azure_storage_endpoint`` (plain HTTP
  allowed only for a loopback emulator endpoint); ``UseDevelopmentStorage=true`` is Azurite's
  well-known account on 127.0.0.1:10000;
- account key: ``azure_storage_account_key``; SAS token: ``azure_storage_sas_token``;
- DefaultAzureCredential: only the account name. object_store then takes, like azure-identity,
  a service principal or workload identity from ``AZURE_CLIENT_ID``/``AZURE_TENANT_ID``/
  ``AZURE_CLIENT_SECRET``/``AZURE_FEDERATED_TOKEN_FILE`` in the environment, else the managed
  identity (IMDS); ``AZURE_USE_AZURE_CLI=true`` selects an ``az login`` session on a laptop.

Every table URI is ``az://<container>/<path>`` (the account travels in the options). The
options hold secrets: they are never logged, and errors are redacted (errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlparse

from dicom_assets.lake.azure_storage import (
    AzureCredentialChoice,
    AzureLakeLocation,
    LakeConfigurationError,
)

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;...`` as a dict with case-insensitive keys folded to their canonical form."""
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _endpoint_options(endpoint: str) -> dict[str, str]:
    parsed = urlparse(endpoint)
    options = {"azure_storage_endpoint": endpoint.rstrip("/")}
    if parsed.scheme == "http":
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise LakeConfigurationError(
                "the connection string's BlobEndpoint uses plain http on a non-loopback host: "
                "only a local emulator (Azurite) may be reached without TLS"
            )
        options["allow_http"] = "true"
    return options


def connection_string_options(text: str) -> dict[str, str]:
    """delta-rs options for an ``AZURE_STORAGE_CONNECTION_STRING`` (see the module docstring)."""
    fields = parse_connection_string(text)
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        fields = {
            "accountname": AZURITE_ACCOUNT,
            "accountkey": AZURITE_KEY,
            "blobendpoint": f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}",
        }
    options: dict[str, str] = {}
    account = fields.get("accountname")
    endpoint = fields.get("blobendpoint")
    if not account and endpoint:
        host = urlparse(endpoint).hostname or ""
        path = urlparse(endpoint).path.strip("/")
        account = path if host in ("127.0.0.1", "localhost", "::1") else host.split(".", 1)[0]
    if not account:
        raise LakeConfigurationError(
            "AZURE_STORAGE_CONNECTION_STRING names no account (AccountName= or BlobEndpoint=)"
        )
    options["azure_storage_account_name"] = account
    if fields.get("accountkey"):
        options["azure_storage_account_key"] = fields["accountkey"]
    elif fields.get("sharedaccesssignature"):
        options["azure_storage_sas_token"] = fields["sharedaccesssignature"].lstrip("?")
    else:
        raise LakeConfigurationError(
            "AZURE_STORAGE_CONNECTION_STRING holds neither AccountKey= nor SharedAccessSignature="
        )
    if endpoint:
        options.update(_endpoint_options(endpoint))
    elif fields.get("endpointsuffix") and fields["endpointsuffix"] != "core.windows.net":
        protocol = fields.get("defaultendpointsprotocol", "https")
        options["azure_storage_endpoint"] = (
            f"{protocol}://{account}.blob.{fields['endpointsuffix']}"
        )
    return options


def delta_storage_options(
    location: AzureLakeLocation,
    credential: AzureCredentialChoice,
    retries: int,
    retry_backoff: float,
) -> dict[str, str]:
    """Storage options for delta-rs from the credential the lake chose."""
    if credential.kind == "connection_string":
        options = connection_string_options(credential.options["connection_string"])
    else:
        options = {"azure_storage_account_name": location.account or ""}
        if credential.kind == "account_key":
            options["azure_storage_account_key"] = credential.options["account_key"]
        elif credential.kind == "sas_token":
            options["azure_storage_sas_token"] = credential.options["sas_token"].lstrip("?")
    # Bounded retries: a stopped storage fails a run within about a minute, never hangs it.
    options.update(
        max_retries=str(retries),
        retry_timeout=f"{int(max(10, retry_backoff * 2 ** (retries + 1)))}s",
        connect_timeout="10s",
        timeout="120s",
    )
    return options


def table_uri(location: AzureLakeLocation, folder: str) -> str:
    """``az://<container>/<prefix>/<folder>``: the form every credential above works with."""
    path = "/".join(part.strip("/") for part in (location.prefix, folder) if part.strip("/"))
    return f"az://{location.container}/{path}"


def redacted_options(options: Mapping[str, str]) -> dict[str, str]:
    """For messages and tests: the option names with secrets replaced."""
    secret = re.compile(r"key|sas|token|secret", re.IGNORECASE)
    return {name: ("***" if secret.search(name) else value) for name, value in options.items()}
