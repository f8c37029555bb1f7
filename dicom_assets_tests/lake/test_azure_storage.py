"""Lake URLs, the credential order and redaction (pure functions; no server needed)."""

from __future__ import annotations

import pytest

from dicom_assets.lake.azure_storage import (
    LakeConfigurationError,
    choose_credential,
    parse_lake_url,
    redact,
)

KEY = "c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3MtMTIzNDU2Nzg5MA=="
SAS = "sv=2024-08-04&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=AbCdEf0123456789%2Bxyz%3D"
CONNECTION = (
    f"DefaultEndpointsProtocol=https;AccountName=prodlake;AccountKey={KEY};"
    "EndpointSuffix=core.windows.net"
)


def test_abfss_url_names_container_account_and_prefix():
    location = parse_lake_url("abfss://dicom@prodlake.dfs.core.windows.net/hospital/a", environ={})
    assert (location.container, location.account, location.prefix) == (
        "dicom",
        "prodlake",
        "hospital/a",
    )
    assert location.fs_root == "dicom/hospital/a"


def test_abfs_url_takes_the_account_from_the_environment():
    assert (
        parse_lake_url("abfs://dicom/x", environ={"AZURE_STORAGE_ACCOUNT_NAME": "envacct"}).account
        == "envacct"
    )
    from_connection = parse_lake_url(
        "abfs://dicom", environ={"AZURE_STORAGE_CONNECTION_STRING": CONNECTION}
    )
    assert (from_connection.account, from_connection.fs_root) == ("prodlake", "dicom")


@pytest.mark.parametrize(
    "url",
    ["abfss://dicom@prodlake.example.com/x", "abfs://ab/x", "abfs://Upper/x", "s3://dicom/x"],
)
def test_malformed_urls_are_refused_with_the_url(url):
    with pytest.raises(LakeConfigurationError, match="DICOM_LAKE_URL|abfs"):
        parse_lake_url(url, environ={})


LOCATION_URL = "abfss://dicom@prodlake.dfs.core.windows.net/lake"


@pytest.mark.parametrize(
    ("environ", "kind"),
    [
        (
            {
                "AZURE_STORAGE_CONNECTION_STRING": CONNECTION,
                "AZURE_STORAGE_ACCOUNT_KEY": KEY,
                "AZURE_STORAGE_SAS_TOKEN": SAS,
            },
            "connection_string",
        ),
        ({"AZURE_STORAGE_ACCOUNT_KEY": KEY, "AZURE_STORAGE_SAS_TOKEN": SAS}, "account_key"),
        ({"AZURE_STORAGE_SAS_TOKEN": SAS}, "sas_token"),
        ({}, "default_azure_credential"),
    ],
)
def test_the_first_credential_set_wins_in_the_documented_order(environ, kind):
    choice = choose_credential(parse_lake_url(LOCATION_URL, environ=environ), environ=environ)
    assert choice.kind == kind
    if kind == "account_key":
        assert choice.options == {"account_name": "prodlake", "account_key": KEY}
    if kind == "sas_token":
        assert choice.options == {"account_name": "prodlake", "sas_token": "?" + SAS}
    if kind == "default_azure_credential":
        assert choice.options == {"account_name": "prodlake", "anon": False}
    # What is shown to people names the kind and the variable, never the value.
    assert KEY not in repr(choice) and SAS not in repr(choice) and KEY not in choice.describe()


def test_a_connection_string_for_another_account_is_refused_without_its_secret():
    environ = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION.replace("prodlake", "otherlake")}
    with pytest.raises(LakeConfigurationError) as raised:
        choose_credential(parse_lake_url(LOCATION_URL, environ=environ), environ=environ)
    assert "prodlake" in str(raised.value) and "otherlake" in str(raised.value)
    assert KEY not in str(raised.value)


def test_no_account_anywhere_is_a_clear_error():
    with pytest.raises(LakeConfigurationError, match="AZURE_STORAGE_ACCOUNT_NAME"):
        choose_credential(parse_lake_url("abfs://dicom/x", environ={}), environ={})


def test_redact_removes_known_values_and_key_or_sas_shaped_text():
    environ = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION, "AZURE_STORAGE_SAS_TOKEN": SAS}
    text = (
        f"failed with {CONNECTION} and https://prodlake.blob.core.windows.net/dicom?{SAS} "
        f"and AccountKey=someOtherKey123== and Authorization: SharedKey prodlake:abcdefgh123"
    )
    cleaned = redact(text, environ)
    for secret in (KEY, SAS, "AbCdEf0123456789", "someOtherKey123", "abcdefgh123"):
        assert secret not in cleaned
    assert "prodlake" in cleaned  # the account name is not a secret and helps the reader
