"""LakeResource on a real Azurite: paths, credentials, and storage errors without secrets."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from dicom_assets.devtools.azurite_server import ACCOUNT, ACCOUNT_KEY
from dicom_assets.devtools.processes import free_port
from dicom_assets.lake.blob_filesystem import LakeBlobFileSystem
from dicom_assets.lake.change_log import last_synced_sequence
from dicom_assets.lake.errors import LakeStorageError
from dicom_assets.resources import LakeResource

WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk9PQ=="


def test_local_lake_paths_are_unchanged(tmp_path):
    lake = LakeResource(url=str(tmp_path / "lake"))
    assert lake.dicom_root() == f"{tmp_path}/lake/result/Dicom"
    assert lake.url_of(lake.dicom_root()) == lake.dicom_root()
    assert lake.storage_options() == {}


def test_azure_lake_paths_and_description(azurite_lake_env):
    lake = LakeResource(url=azurite_lake_env["DICOM_LAKE_URL"])
    container = azurite_lake_env["container"]
    assert lake.dicom_root() == f"{container}/lake/result/Dicom"
    assert lake.url_of(lake.dicom_root()) == f"abfss://{container}/lake/result/Dicom"
    assert isinstance(lake.filesystem(), LakeBlobFileSystem)
    description = lake.describe()
    assert container in description and ACCOUNT in description
    assert "AZURE_STORAGE_CONNECTION_STRING" in description and ACCOUNT_KEY not in description


def test_abfs_url_with_a_sas_connection_string_writes_and_reads(azurite, monkeypatch):
    container = azurite.new_container()
    sas = generate_account_sas(
        ACCOUNT,
        ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, create=True, add=True
        ),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}",
    )
    lake = LakeResource(url=f"abfs://{container}/sas-lake")
    fs = lake.filesystem()
    fs.pipe_file(lake.path("hello.txt"), b"hello")
    assert fs.cat_file(lake.path("hello.txt")) == b"hello"
    assert lake.location().account == ACCOUNT  # from the endpoint of the connection string
    assert sas not in lake.describe()


def test_wrong_account_key_is_a_clear_error_naming_the_account_without_the_key(
    azurite, monkeypatch
):
    container = azurite.new_container()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string(WRONG_KEY))
    lake = LakeResource(url=f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/lake", retries=0)
    with pytest.raises(LakeStorageError) as raised, lake.storage_errors():
        last_synced_sequence(lake, "2026-11-25-17:00")
    message = str(raised.value)
    assert "refused the credentials" in message
    assert ACCOUNT in message and container in message
    assert "AZURE_STORAGE_CONNECTION_STRING" in message  # which variable to check
    assert WRONG_KEY not in message and WRONG_KEY[:20] not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_unreachable_storage_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    from dicom_assets.devtools.azurite_server import AzuriteServer

    stopped = AzuriteServer(tmp_path, port=free_port())  # never started: nothing listens
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", stopped.connection_string())
    lake = LakeResource(url="abfs://nowhere-lake/x", retries=1, retry_backoff=0.1)
    started = time.monotonic()
    with (
        pytest.raises(LakeStorageError, match="could not be reached") as raised,
        lake.storage_errors(),
    ):
        lake.filesystem().ls(lake.path())
    assert time.monotonic() - started < 10
    assert "nowhere-lake" in str(raised.value) and ACCOUNT_KEY not in str(raised.value)
