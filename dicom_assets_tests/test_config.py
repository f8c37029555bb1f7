"""Settings are checked when the definitions load; every error names the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import DagsterEventType, materialize

from dicom_assets.assets import dicom_instances
from dicom_assets.config import SETTINGS, SettingError, validate_settings, value_of
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.partitions import partition_key_of
from dicom_assets.wiring import build_resources

GOOD = {"DICOM_SERVER_URL": "http://127.0.0.1:8042/dicom-web/"}


def problems(**environ: str) -> list[str]:
    try:
        validate_settings({**GOOD, **environ})
    except SettingError as error:
        return str(error).splitlines()
    return []


def test_defaults_and_a_server_url_are_accepted(tmp_path):
    assert problems(DICOM_LAKE_URL=str(tmp_path / "new" / "lake")) == []
    assert not (tmp_path / "new").exists(), "checking a lake path must not create it"


@pytest.mark.parametrize(
    ("name", "value", "reason", "accepted"),
    [
        ("DICOM_SERVER_KIND", "orthank", "not one of orthanc, azure", "orthanc or azure"),
        (
            "DICOM_LAKE_URL",
            "/proc/dicom-lake",
            "cannot create folders in /proc",
            "a writable local folder",
        ),
        (
            "DICOM_LAKE_URL",
            "abfss://no-account-here/x",
            "no storage account for the lake",
            "a writable local folder, abfss://",
        ),
        (
            "DICOM_SERVER_URL",
            "127.0.0.1:8042/dicom-web",
            "not an http(s) URL",
            "the server's DICOMweb base URL",
        ),
        ("DICOM_SENSOR_INTERVAL_SECONDS", "5s", "not a whole number", "seconds >= 1"),
        ("DICOM_MAX_QUARANTINE_SHARE", "2", "outside 0 to 1", "a share from 0 to 1"),
        ("DICOM_MAX_LAG_SECONDS", "nan", "outside 0", "seconds >= 0"),
        ("DICOM_PARTITIONS_START", "2026-11-25", "not a YYYY-MM-DD-HH:MM time", "YYYY-MM-DD-HH:MM"),
        ("DICOM_API_VERSION", "v3", "not one of v1, v2", "v2 or v1"),
        ("DICOM_SQL_TARGET", "postgres", "not one of duckdb, synapse", "duckdb or synapse"),
    ],
)
def test_a_bad_value_is_named_with_its_value_and_accepted_form(name, value, reason, accepted):
    (line,) = problems(**{name: value})
    assert line.startswith(f"{name}={value!r} is not accepted: "), line
    found, _, form = line.partition(" (accepted: ")
    assert reason in found and accepted in form, line


def test_a_lake_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    (line,) = problems(DICOM_LAKE_URL=str(tmp_path / "file" / "lake"))
    assert line.startswith("DICOM_LAKE_URL=") and "is a file, not a folder" in line


def test_secrets_are_masked():
    token = "sv=2024-01-01&se=2030-01-01&sp=rw&secretpart"
    (line,) = problems(AZURE_STORAGE_SAS_TOKEN=token)
    assert line.startswith("AZURE_STORAGE_SAS_TOKEN='***' (44 characters, masked) is not accepted")
    assert "secretpart" not in line and "2030" not in line
    for row in SETTINGS.values():
        if row.secret:
            assert "hunter2" not in row.shown("hunter2")


def test_required_settings():
    assert problems(DICOM_SERVER_URL="") == [
        "DICOM_SERVER_URL is not set (accepted: " + SETTINGS["DICOM_SERVER_URL"].accepted + ")"
    ]
    (line,) = problems(DICOM_SQL_TARGET="synapse")
    assert line.startswith("SYNAPSE_SQL_ENDPOINT is not set")
    assert (
        problems(
            DICOM_SQL_TARGET="synapse", SYNAPSE_SQL_ENDPOINT="ws-ondemand.sql.azuresynapse.net"
        )
        == []
    )


def test_every_bad_setting_is_listed_at_once():
    lines = problems(DICOM_SERVER_KIND="orthank", DICOM_AUTH="basic", DICOM_BATCH_SIZE="0")
    assert [line.split("=")[0] for line in lines] == [
        "DICOM_SERVER_KIND",
        "DICOM_AUTH",
        "DICOM_BATCH_SIZE",
    ]


def test_value_of_is_typed_and_checked(monkeypatch):
    monkeypatch.setenv("DICOM_MAX_LAG_SECONDS", "12.5")
    assert value_of("DICOM_MAX_LAG_SECONDS") == 12.5
    monkeypatch.delenv("DICOM_BATCH_SIZE", raising=False)
    assert value_of("DICOM_BATCH_SIZE") == 2000
    monkeypatch.setenv("DICOM_LAG_INTERVAL_SECONDS", "soon")
    with pytest.raises(SettingError, match=r"^DICOM_LAG_INTERVAL_SECONDS='soon' is not accepted"):
        value_of("DICOM_LAG_INTERVAL_SECONDS")


def load_definitions(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import dicom_assets.definitions"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_definitions_do_not_load_with_a_bad_setting(tmp_path):
    import os

    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DICOM_", "AZURE_", "SYNAPSE_"))
        },
        **GOOD,
        "DICOM_LAKE_URL": "/proc/dicom-lake",
        "DICOM_SERVER_KIND": "orthank",
        "DICOM_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
    }
    loaded = load_definitions(env)
    assert loaded.returncode != 0
    last = loaded.stderr.strip().splitlines()
    error_at = next(
        i for i, line in enumerate(last) if line.startswith("dicom_assets.config.SettingError")
    )
    assert last[error_at].endswith(
        "DICOM_SERVER_KIND='orthank' is not accepted: not one of orthanc, azure "
        "(accepted: orthanc or azure)"
    )
    assert last[error_at + 1].startswith("DICOM_LAKE_URL='/proc/dicom-lake' is not accepted")
    assert "FileNotFoundError" not in loaded.stderr
    assert (
        load_definitions(
            {**env, "DICOM_LAKE_URL": str(tmp_path / "lake"), "DICOM_SERVER_KIND": "orthanc"}
        ).returncode
        == 0
    )


def test_a_run_failing_on_the_lake_names_the_setting_first(
    orthanc, lake_env, monkeypatch, tmp_path
):
    """The lake became unusable after the definitions loaded: the run's error says which setting."""
    study = synthetic_study(1, series=1, instances_per_series=2)
    datasets = list(synthetic_instances(study))
    assert all(upload(orthanc.url, [encode(ds) for ds in datasets]))
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("DICOM_LAKE_URL", str(tmp_path / "not-a-folder" / "lake"))
    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    from datetime import UTC, datetime

    result = materialize(
        [dicom_instances],
        partition_key=partition_key_of(datetime.now(UTC)),
        resources=build_resources(),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    first_line = failure.step_failure_data.error.message.splitlines()[0]
    assert "DICOM_LAKE_URL=" in first_line, first_line
    assert "handling output" not in first_line


def test_deidentification_settings_are_rows_of_the_table():
    key = "k" * 40
    assert problems(DICOM_DEIDENTIFY="basic", DICOM_DEID_KEY=key) == []
    (line,) = problems(DICOM_DEIDENTIFY="basic")
    assert line.startswith("DICOM_DEID_KEY is not set")
    (line,) = problems(DICOM_DEIDENTIFY="basic", DICOM_DEID_KEY="short-secret")
    assert line == (
        "DICOM_DEID_KEY='***' (12 characters, masked) is not accepted: shorter than 32 "
        "characters (accepted: " + SETTINGS["DICOM_DEID_KEY"].accepted + ")"
    )
    (line,) = problems(DICOM_DEIDENTIFY="basic", DICOM_DEID_KEY=key, DICOM_DEID_OPTIONS="nope")
    assert line.startswith("DICOM_DEID_OPTIONS='nope' is not accepted: unknown option(s) nope")
    assert key not in "\n".join(
        problems(DICOM_DEIDENTIFY="basic", DICOM_DEID_KEY=key, DICOM_DEID_OPTIONS="nope")
    )
