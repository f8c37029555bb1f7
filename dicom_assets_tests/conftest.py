"""Shared fixtures: real servers on free loopback ports, and sample studies.

Every server is started by the fixture, in a temporary directory, and stopped after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dicom_assets.devtools.orthanc_server import OrthancServer
from dicom_assets.devtools.samples import (
    SyntheticStudy,
    encode,
    pydicom_corpus,
    synthetic_instances,
    synthetic_study,
    upload,
)

# The head every lake and custom table starts with: the change's columns, then the instance's
# UIDs. Spelled out for the tests, not imported from the product: they check the product's order
# against a list of their own.
INSTANCE_UIDS = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"]
ROW_HEAD = ["_sequence", "_timestamp", "_action", *INSTANCE_UIDS]


@pytest.fixture
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """A fresh, empty Orthanc with DICOMweb for each test (it starts in ~0.2 s)."""
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"))
    with server:
        yield server


@pytest.fixture(scope="session")
def session_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """One Orthanc shared by read-only tests of a session."""
    server = OrthancServer(tmp_path_factory.mktemp("orthanc-session"))
    with server:
        yield server


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    return pydicom_corpus()


def _json_of(dataset) -> dict:
    # Binary values as BulkDataURIs, as a DICOMweb server answers metadata requests.
    return dataset.to_json_dict(
        bulk_data_threshold=64, bulk_data_element_handler=lambda elem: "http://127.0.0.1/bulk"
    )


@pytest.fixture(scope="session")
def pydicom_metadata(corpus_files: list[Path]) -> list[dict]:
    """DICOM JSON of every file of pydicom's corpus that pydicom itself can write as JSON."""
    import pydicom

    out = []
    for path in corpus_files:
        try:
            out.append(_json_of(pydicom.dcmread(path, stop_before_pixels=True)))
        except Exception:  # noqa: BLE001, S112 - files pydicom cannot read or write are no samples
            continue
    return out


@pytest.fixture(scope="session")
def synthetic_metadata() -> list[dict]:
    """DICOM JSON of two small synthetic studies (CT and MR)."""
    studies = [synthetic_study(1, modality="CT"), synthetic_study(2, modality="MR")]
    return [_json_of(ds) for study in studies for ds in synthetic_instances(study)]


def store_synthetic(orthanc: OrthancServer, studies: list[SyntheticStudy]) -> list[dict]:
    """Upload synthetic studies; returns Orthanc's answers (all must be accepted)."""
    payloads = [encode(ds) for study in studies for ds in synthetic_instances(study)]
    answers = upload(orthanc.url, payloads)
    assert all(answer is not None for answer in answers)
    return answers


def wait_for(predicate, timeout: float, interval: float = 0.5):
    """Poll ``predicate`` until it returns something truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def lake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of a test-local lake and DuckDB file."""
    env = {
        "DICOM_LAKE_URL": str(tmp_path / "lake"),
        "DICOM_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def orthanc_env(
    orthanc, lake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The product's environment for the test's Orthanc (DICOMweb only) and a test-local lake."""
    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    monkeypatch.delenv("ORTHANC_URL", raising=False)
    return lake_env


def pytest_configure(config: pytest.Config) -> None:
    """``dicom_assets.definitions`` checks every setting when it is imported, and DICOM_SERVER_URL
    is required: modules importing it at collection get a URL nothing listens on (port 9,
    discard) unless the environment sets one. Tests that talk to a server set their own."""
    os.environ.setdefault("DICOM_SERVER_URL", "http://127.0.0.1:9/dicom-web/")


@pytest.fixture(autouse=True)
def sensor_ticks_return_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests evaluate sensor ticks one by one: a tick that finds nothing returns at once instead
    of polling on for seconds (that wait has its own test in test_sensor_ticks.py)."""
    monkeypatch.setenv("DICOM_SENSOR_WAIT_SECONDS", "0")


@pytest.fixture
def definitions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The code location module, loaded with valid settings (it checks them when it loads)."""
    import importlib

    monkeypatch.setenv(
        "DICOM_SERVER_URL", os.environ.get("DICOM_SERVER_URL") or "http://127.0.0.1:9/dicom-web/"
    )
    return importlib.import_module("dicom_assets.definitions")


__all__ = ["store_synthetic", "synthetic_study"]


# --- Azurite (lake on Blob storage; issue 5) ----------------------------------------------------
# Appended by the ADLS lake work. One Azurite process per session; each test gets its own empty
# container, so tests stay independent without paying Azurite's start-up each time.
from dicom_assets.devtools.azurite_server import ACCOUNT as AZURITE_ACCOUNT
from dicom_assets.devtools.azurite_server import AzuriteServer

AZURE_CREDENTIAL_VARIABLES = (
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_ACCOUNT_NAME",
)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """An Azurite Blob endpoint on a free loopback port for the session."""
    with AzuriteServer(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture(scope="session")
def azurite_connection_string(azurite: AzuriteServer) -> str:
    """The session Azurite's connection string, for tests that open their own filesystem."""
    return azurite.connection_string()


@pytest.fixture
def azurite_lake_env(
    azurite: AzuriteServer, lake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """``lake_env`` with the lake in a fresh Azurite container, reached by connection string
    (``abfss://<container>@devstoreaccount1.dfs.core.windows.net/lake``)."""
    for name in AZURE_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    container = azurite.new_container()
    env = {
        **lake_env,
        "DICOM_LAKE_URL": f"abfss://{container}@{AZURITE_ACCOUNT}.dfs.core.windows.net/lake",
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string(),
        "container": container,
    }
    monkeypatch.setenv("DICOM_LAKE_URL", env["DICOM_LAKE_URL"])
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", env["AZURE_STORAGE_CONNECTION_STRING"])
    return env


# --- A lake made by a real sync of pydicom's corpus (issue 15: readers of the lake) --------------
@dataclass(frozen=True)
class CorpusLake:
    """A lake synced from Orthanc by the sensor and ``materialize()``: ``stored`` are the corpus
    files Orthanc accepted (one row each), ``env`` the product's environment for it."""

    env: dict[str, str]
    stored: list[Path]


def run_requested(resources: dict, result) -> list:
    """Run ``dicom_instances`` for every window a sensor result asked for (each must succeed)."""
    from dagster import materialize

    from dicom_assets.assets import dicom_instances

    outcomes = []
    for request in result.run_requests:
        outcome = materialize(
            [dicom_instances],
            partition_key=request.partition_key,
            resources=resources,
            tags=request.tags,
        )
        assert outcome.success
        outcomes.append(outcome)
    return outcomes


def sync_with_sensor(resources: dict) -> list:
    """One sensor evaluation from an empty cursor, then a run of every window it asked for."""
    from dagster import build_sensor_context

    from dicom_assets.sensors import dicom_change_feed_sensor

    with build_sensor_context(cursor=None, resources=resources) as context:
        result = dicom_change_feed_sensor(context)
    assert result.run_requests, "the sensor requested no run"
    return run_requested(resources, result)


@pytest.fixture
def corpus_lake(orthanc, orthanc_env, corpus_files) -> CorpusLake:
    """pydicom's test files that Orthanc can hold together (the 1111-11-11 birth date, nested
    ``ContentSequence`` times, files whose column sets differ), synced into a local lake."""
    from dicom_assets.definitions import build_resources
    from dicom_assets.devtools.samples import storable_groups

    group = storable_groups(corpus_files)[0]
    answers = upload(orthanc.url, [path.read_bytes() for path, _ in group], workers=4)
    stored = [path for (path, _), answer in zip(group, answers) if answer is not None]
    assert {"examples_overlay.dcm", "test-SR.dcm"} <= {path.name for path in stored}
    sync_with_sensor(build_resources())
    return CorpusLake(env=orthanc_env, stored=stored)
