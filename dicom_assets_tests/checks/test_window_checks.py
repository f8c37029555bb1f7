"""The per-window checks on real syncs from a real Orthanc, run by real Dagster runs.

Each test syncs one small study, then breaks the window on purpose by rewriting its Parquet files
(what a faulty writer or a hand edit would leave) and runs the window's checks alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.partitions import window_folder
from dicom_assets.wiring import build_resources
from dicom_assets_tests.checks.lake_sync import (
    append_rows,
    evaluations,
    part_files,
    read_window_table,
    rewrite,
    run_window_checks,
    sync,
)

STUDY_INSTANCES = 6


@pytest.fixture
def synced(orthanc, lake_env, monkeypatch):
    """A lake synced from Orthanc (one study of 6 instances) with every check run in each run."""
    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    monkeypatch.delenv("ORTHANC_URL", raising=False)
    study = synthetic_study(1, series=2, instances_per_series=STUDY_INSTANCES // 2)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))
    resources = build_resources()
    instance = DagsterInstance.ephemeral()
    _, outcomes = sync(resources, instance, None)
    assert outcomes, "the sensor requested no run"
    # Near the top of an hour the study may straddle two windows: break the fuller one.
    keys = [outcome.dagster_run.tags["dagster/partition"] for outcome in outcomes]
    key = max(keys, key=lambda k: read_window_table(lake_env["DICOM_LAKE_URL"], k).num_rows)
    return {
        "resources": resources,
        "instance": instance,
        "outcomes": outcomes,
        "key": key,
        "lake": lake_env["DICOM_LAKE_URL"],
    }


def test_checks_pass_on_a_correct_sync(synced):
    total_rows = 0
    for outcome in synced["outcomes"]:
        key = outcome.dagster_run.tags["dagster/partition"]
        found = evaluations(outcome)
        assert set(found) == {
            "completeness",
            "unique_sequence",
            "identity",
            "quarantine",
            "freshness",
        }
        assert all(evaluation.passed for evaluation in found.values()), {
            name: evaluation.description for name, evaluation in found.items()
        }
        for name in ("completeness", "unique_sequence", "identity", "quarantine"):
            assert found[name].partition == key  # one result per window
        rows = read_window_table(synced["lake"], key).num_rows
        completeness = found["completeness"].metadata
        assert completeness["feed_changes"].value == rows == completeness["lake_rows"].value
        assert completeness["missing"].value == 0
        assert found["freshness"].metadata["lag_changes"].value == 0
        total_rows += rows
    assert total_rows == STUDY_INSTANCES


def test_completeness_fails_naming_a_missing_row(synced):
    key, lake = synced["key"], synced["lake"]
    table = read_window_table(lake, key)
    dropped = sorted(table["_sequence"].to_pylist())[1]
    rewrite(lake, key, table.filter(pc.not_equal(table["_sequence"], dropped)))

    found = run_window_checks(synced["resources"], synced["instance"], key)

    completeness = found["completeness"]
    assert not completeness.passed and completeness.severity == AssetCheckSeverity.ERROR
    assert completeness.metadata["missing"].value == 1
    assert completeness.metadata["feed_changes"].value == table.num_rows
    assert completeness.metadata["lake_rows"].value == table.num_rows - 1
    [missing] = completeness.metadata["missing_changes"].records
    assert missing.data["sequence"] == dropped
    assert str(dropped) in completeness.description
    assert found["unique_sequence"].passed and found["identity"].passed


def test_uniqueness_fails_naming_a_duplicated_sequence(synced):
    key, lake = synced["key"], synced["lake"]
    table = read_window_table(lake, key)
    doubled = table.slice(2, 1)
    sequence = doubled["_sequence"][0].as_py()
    append_rows(lake, key, doubled)

    found = run_window_checks(synced["resources"], synced["instance"], key)

    uniqueness = found["unique_sequence"]
    assert not uniqueness.passed and uniqueness.severity == AssetCheckSeverity.ERROR
    assert uniqueness.metadata["duplicated_sequences"].value == 1
    wrong = uniqueness.metadata["wrong_rows"].records
    assert {record.data["sequence"] for record in wrong} == {sequence}
    assert len(wrong) == 2
    assert len({record.data["file"] for record in wrong}) == 2  # each names its data file
    assert str(sequence) in uniqueness.description
    assert found["completeness"].passed  # every change is there, once too often


def _with_uid(table: pa.Table, row: int, column: str, value: str | None) -> pa.Table:
    values = table[column].to_pylist()
    values[row] = value
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, pa.string()))


def test_identity_fails_naming_bad_uids(synced):
    key, lake = synced["key"], synced["lake"]
    table = read_window_table(lake, key)
    sequences = table["_sequence"].to_pylist()

    # A shape-only violation (leading zero): a warning.
    rewrite(lake, key, _with_uid(table, 0, "SeriesInstanceUID", "1.2.840.0123"))
    found = run_window_checks(synced["resources"], synced["instance"], key)
    identity = found["identity"]
    assert not identity.passed and identity.severity == AssetCheckSeverity.WARN
    [bad] = identity.metadata["bad_uids"].records
    assert bad.data["sequence"] == sequences[0] and bad.data["column"] == "SeriesInstanceUID"
    assert bad.data["grade"] == "nonconformant"

    # Garbage and a missing UID: an error naming both rows.
    broken = _with_uid(
        _with_uid(table, 1, "SOPInstanceUID", "1.2.840.ABC"), 3, "StudyInstanceUID", None
    )
    rewrite(lake, key, broken)
    found = run_window_checks(synced["resources"], synced["instance"], key)
    identity = found["identity"]
    assert not identity.passed and identity.severity == AssetCheckSeverity.ERROR
    named = {
        (r.data["sequence"], r.data["column"], r.data["value"])
        for r in identity.metadata["bad_uids"].records
    }
    assert named == {
        (sequences[1], "SOPInstanceUID", "1.2.840.ABC"),
        (sequences[3], "StudyInstanceUID", None),
    }
    assert identity.metadata["broken_values"].value == 2
    assert found["completeness"].passed and found["unique_sequence"].passed


def test_quarantine_warns_then_fails_above_the_share(synced, monkeypatch):
    key, lake = synced["key"], synced["lake"]
    table = read_window_table(lake, key)
    row = table.slice(0, 1).to_pylist()[0]
    rewrite(lake, key, table.slice(1))
    quarantine = Path(lake, "result", "Dicom_Quarantine", window_folder(key))
    quarantine.mkdir(parents=True)
    record = {
        "sequence": row["_sequence"],
        "timestamp": row["_timestamp"].isoformat(),
        "action": "create",
        "StudyInstanceUID": row["StudyInstanceUID"],
        "SeriesInstanceUID": row["SeriesInstanceUID"],
        "SOPInstanceUID": row["SOPInstanceUID"],
        "reason": "metadata is not a DICOM JSON object",
        "raw_payload": '"oops"',
    }
    # The same change quarantined by an incremental run and again by a full re-sync: counted once.
    for name in ("incremental-000000000001-0000.ndjson", "full-000000000001-0000.ndjson"):
        (quarantine / name).write_text(json.dumps(record) + "\n")

    monkeypatch.setenv("DICOM_MAX_QUARANTINE_SHARE", "0.5")
    found = run_window_checks(synced["resources"], synced["instance"], key)
    check = found["quarantine"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["quarantined"].value == 1
    assert check.metadata["share"].value == pytest.approx(1 / table.num_rows, abs=1e-6)
    [listed] = check.metadata["quarantined_changes"].records
    assert listed.data["sequence"] == row["_sequence"]
    assert "DICOM JSON" in listed.data["reason"]
    assert found["completeness"].passed  # a quarantined change is accounted for

    monkeypatch.setenv("DICOM_MAX_QUARANTINE_SHARE", "0.01")
    check = run_window_checks(synced["resources"], synced["instance"], key)["quarantine"]
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR


def test_an_unreadable_window_fails_its_checks_not_the_run(synced):
    key, lake = synced["key"], synced["lake"]
    [path] = part_files(lake, key)
    path.write_bytes(path.read_bytes()[:100])  # truncated, e.g. copied by hand and cut short

    found = run_window_checks(synced["resources"], synced["instance"], key)

    assert set(found) == {"completeness", "unique_sequence", "identity", "quarantine"}
    for evaluation in found.values():
        assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
        assert "the window could not be read" in evaluation.description
        assert path.name in evaluation.description or "Parquet" in evaluation.description


def test_checks_and_lag_read_a_lake_on_azure_storage(orthanc, azurite_lake_env, monkeypatch):
    """The same checks and lag measurement on an ``abfss://`` lake (Azurite's Blob endpoint)."""
    from dagster import build_sensor_context

    from dicom_assets.checks.freshness import dicom_lake_lag_sensor

    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    monkeypatch.delenv("ORTHANC_URL", raising=False)
    study = synthetic_study(4, series=1, instances_per_series=3)
    assert all(upload(orthanc.url, [encode(ds) for ds in synthetic_instances(study)]))
    resources = build_resources()
    _, outcomes = sync(resources, DagsterInstance.ephemeral(), None)
    assert outcomes
    rows = 0
    for outcome in outcomes:
        found = evaluations(outcome)
        assert len(found) == 5 and all(e.passed for e in found.values()), {
            name: e.description for name, e in found.items()
        }
        assert found["completeness"].metadata["table"].value.startswith("az://")
        rows += found["completeness"].metadata["lake_rows"].value
    assert rows == 3
    # The lag sensor's tick, with the resources as Dagster resolves them from the environment.
    with build_sensor_context(resources=resources) as context:
        observation, freshness = dicom_lake_lag_sensor(context).asset_events
    assert freshness.passed, freshness.description
    assert observation.metadata["lag_changes"].value == 0
    assert observation.metadata["lake_last_sequence"].value >= 3
