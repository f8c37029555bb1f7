"""The lake's adlfs subclass: registered for the lake's schemes, one client per credential kind,
a bounded retry policy (building a client sends no request, so no server is needed here)."""

from __future__ import annotations

import fsspec
from azure.core.credentials import AzureNamedKeyCredential
from azure.identity.aio import DefaultAzureCredential

from dicom_assets.lake.blob_filesystem import BLOCK_SIZE, LakeBlobFileSystem

KEY = "c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3MtMTIzNDU2Nzg5MA=="


def test_every_lake_scheme_resolves_to_the_lake_filesystem():
    for scheme in ("abfs", "abfss", "az"):
        assert fsspec.get_filesystem_class(scheme) is LakeBlobFileSystem


def test_account_key_client_targets_the_accounts_blob_endpoint_with_a_bounded_retry(monkeypatch):
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    fs = LakeBlobFileSystem(
        account_name="prodlake",
        account_key=KEY,
        retries=2,
        retry_backoff=0.5,
        skip_instance_cache=True,
    )
    client = fs.service_client
    assert client.url.startswith("https://prodlake.blob.core.windows.net")
    assert (
        isinstance(client.credential, AzureNamedKeyCredential)
        or client.credential.account_name == "prodlake"
    )
    retry = client._pipeline._impl_policies[
        [type(p).__name__ for p in client._pipeline._impl_policies].index("ExponentialRetry")
    ]
    assert (retry.total_retries, retry.initial_backoff, retry.increment_base) == (2, 0.5, 2)
    assert fs.blocksize == BLOCK_SIZE
    assert fs.credential_choice().kind == "account_key"


def test_sas_token_goes_into_the_url_and_no_identity_is_built(monkeypatch):
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_KEY"):
        monkeypatch.delenv(name, raising=False)
    fs = LakeBlobFileSystem(
        account_name="prodlake", sas_token="?sv=1&sig=abc", skip_instance_cache=True
    )
    assert "sig=abc" in fs.service_client.url and fs.credential is None
    assert fs.credential_choice().kind == "sas_token"


def test_no_secret_means_default_azure_credential(monkeypatch):
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_CLIENT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    fs = LakeBlobFileSystem(account_name="prodlake", anon=False, skip_instance_cache=True)
    assert isinstance(fs.service_client.credential, DefaultAzureCredential)
    assert fs.credential_choice().kind == "default_azure_credential"
    assert (
        fs.location_of("dicom/lake/result").describe()
        == "container 'dicom' of storage account 'prodlake'"
    )
