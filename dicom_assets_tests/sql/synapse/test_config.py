"""SynapseConfig validation and deriving the data source location from a lake URL."""

from __future__ import annotations

import pytest

from dicom_assets.sql.synapse.config import SynapseConfig, location_for_lake, validate_location

LOCATION = "https://dicomacct.dfs.core.windows.net/dicom"


def test_defaults_and_table_location() -> None:
    config = SynapseConfig(data_source_location=LOCATION)
    assert config.database == "dicomdb"
    assert config.master_key_password_env == "SYNAPSE_MASTER_KEY_PASSWORD"
    assert config.instances_location == "result/Dicom/"
    prefixed = SynapseConfig(data_source_location=LOCATION, lake_prefix="/lakes/prod/")
    assert prefixed.instances_location == "lakes/prod/result/Dicom/"


@pytest.mark.parametrize(
    "location",
    [
        "https://dicomacct.dfs.core.windows.net/dicom",
        "https://dicomacct.blob.core.windows.net/dicom/sub/folder",
        "abfss://dicom@dicomacct.dfs.core.windows.net",
        "abfss://dicom@dicomacct.dfs.core.windows.net/lake",
    ],
)
def test_valid_locations(location: str) -> None:
    assert validate_location(location) == location


@pytest.mark.parametrize(
    "location",
    [
        "https://dicomacct.dfs.core.windows.net/dicom'; DROP DATABASE master; --",
        "https://dicomacct.dfs.core.windows.net/",  # no container
        "http://dicomacct.dfs.core.windows.net/dicom",  # clear text
        "https://evil.example.com:8443/dicom",
        "https://user:pw@dicomacct.dfs.core.windows.net/dicom",
        "https://dicomacct.dfs.core.windows.net/dicom?sig=secret",
        "https://dicomacct.dfs.core.windows.net/di com",
        "https://dicomacct.dfs.core.windows.net/../x",
        "https://bad_host!.net/dicom",
        "file:///etc",
        "",
    ],
)
def test_invalid_locations_rejected(location: str) -> None:
    with pytest.raises(ValueError):
        SynapseConfig(data_source_location=location)


@pytest.mark.parametrize(
    "field, value",
    [
        ("database", "db]; DROP"),  # legal once quoted: accepted, see the script tests
        ("schema", "dicom x"),
        ("credential_name", "cred'x"),
    ],
)
def test_hostile_but_quotable_names_are_accepted(field: str, value: str) -> None:
    config = SynapseConfig(data_source_location=LOCATION, **{field: value})
    assert getattr(config, field) == value


@pytest.mark.parametrize(
    "field, value",
    [
        ("database", ""),
        ("database", "db\nGO"),
        ("schema", "x" * 200),
        ("credential_name", "#temp"),
        ("lake_prefix", "lake'; --"),
        ("lake_prefix", "../other"),
        ("master_key_password_env", "X)'; DROP"),
        ("max_columns", 2000),
        ("max_columns", 3),
    ],
)
def test_invalid_values_rejected(field: str, value) -> None:
    with pytest.raises(ValueError):
        SynapseConfig(data_source_location=LOCATION, **{field: value})


def test_location_for_lake_urls() -> None:
    assert location_for_lake("abfss://dicom@dicomacct.dfs.core.windows.net/lakes/prod") == (
        LOCATION,
        "lakes/prod",
    )
    assert location_for_lake("abfs://dicom/lake", account_name="dicomacct") == (LOCATION, "lake")
    assert location_for_lake("az://dicom", account_name="dicomacct") == (LOCATION, "")


@pytest.mark.parametrize(
    "url, account",
    [
        ("data/lake", None),
        ("abfs://dicom/lake", None),  # account unknown
        ("abfss://di'com@dicomacct.dfs.core.windows.net/x", None),
        ("abfs://dicom/lake", "acct'; --"),
    ],
)
def test_location_for_lake_rejects(url: str, account) -> None:
    with pytest.raises(ValueError):
        location_for_lake(url, account)


def test_config_for_lake() -> None:
    from dicom_assets.sql.synapse.config import config_for_lake

    config = config_for_lake(
        "abfss://dicom@dicomacct.dfs.core.windows.net/lakes/prod",
        database="imaging",
        max_columns=50,
    )
    assert config == SynapseConfig(
        data_source_location=LOCATION, lake_prefix="lakes/prod", database="imaging", max_columns=50
    )
    assert config.instances_location == "lakes/prod/result/Dicom/"
