"""Orthanc deletions reach ``dicom.current_instances`` through reconciliation (real Orthanc)."""

from __future__ import annotations

import duckdb
import pytest
import requests
from dagster import SkipReason, build_sensor_context, materialize

from dicom_assets.assets import dicom_external_tables
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.lake.current_instances import CurrentInstances, current_instances
from dicom_assets.reconcile_job import (
    ReconcilePass,
    dicom_orthanc_reconcile,
    dicom_orthanc_reconcile_sensor,
    reconcile_pass,
)
from dicom_assets.resources import LakeResource
from dicom_assets.sensors import dicom_change_feed_sensor
from dicom_assets.sources.orthanc import OrthancChangeFeed
from dicom_assets.sources.orthanc.reconcile import (
    LakeInstance,
    find_deletions,
    orthanc_id_of,
)
from dicom_assets.wiring import build_resources
from dicom_assets_tests.conftest import run_requested


def reconcile_orthanc(table, orthanc_url: str) -> ReconcilePass:
    """One pass as the job runs it: lake read, comparison with Orthanc, delete rows appended."""
    return reconcile_pass(table, OrthancChangeFeed(f"{orthanc_url}/dicom-web", orthanc_url))


def sync(resources: dict, cursor: str | None) -> str:
    """One change-feed sensor tick and the runs it asked for."""
    with build_sensor_context(cursor=cursor, resources=resources) as context:
        result = dicom_change_feed_sensor(context)
    run_requested(resources, result)
    return result.cursor


def reconcile(resources: dict, cursor: str | None = None, instance=None):
    """One tick of the reconciliation sensor and the runs it asked for: (cursor, their op
    metadata)."""
    with build_sensor_context(cursor=cursor, resources=resources, instance=instance) as context:
        result = dicom_orthanc_reconcile_sensor(context)
    if isinstance(result, SkipReason):
        return cursor, []
    found = []
    for _request in result.run_requests:
        outcome = dicom_orthanc_reconcile.execute_in_process(resources=resources, instance=instance)
        assert outcome.success
        [output] = [
            event for event in outcome.all_node_events if event.event_type_value == "STEP_OUTPUT"
        ]
        metadata = output.event_specific_data.metadata
        found.append({key: value.value for key, value in metadata.items()})
    return result.cursor, found


def current_sops(resources: dict, duckdb_path: str) -> dict[str, tuple[int, str]]:
    assert materialize([dicom_external_tables], resources=resources).success
    with duckdb.connect(duckdb_path, read_only=True) as connection:
        rows = connection.execute(
            "SELECT SOPInstanceUID, _sequence, _action FROM dicom.current_instances"
        ).fetchall()
    return {sop: (sequence, action) for sop, sequence, action in rows}


def test_deletion_and_recreation_reach_current_instances(orthanc, orthanc_env, monkeypatch):
    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "0")
    resources = build_resources()
    study = synthetic_study(1, series=1, instances_per_series=3)
    datasets = list(synthetic_instances(study))
    answers = upload(orthanc.url, [encode(ds) for ds in datasets])
    cursor = sync(resources, None)
    current = current_sops(resources, orthanc_env["DICOM_DUCKDB_PATH"])
    assert set(current) == {ds.SOPInstanceUID for ds in datasets}

    gone = datasets[1]
    create_sequence = current[gone.SOPInstanceUID][0]
    assert requests.delete(f"{orthanc.url}/instances/{answers[1]['ID']}", timeout=10).ok

    cursor = sync(resources, cursor)  # Orthanc's /changes says nothing of the delete
    assert set(current_sops(resources, orthanc_env["DICOM_DUCKDB_PATH"])) == {
        ds.SOPInstanceUID for ds in datasets
    }
    _, [metadata] = reconcile(resources)  # a run of dicom_orthanc_reconcile: interval 0
    assert metadata["deletes_found"] == 1 and metadata["reconciled"] is True
    assert metadata["lake_instances"] == 3 and metadata["server_instances"] == 2
    assert metadata["http_calls"] == 1 and metadata["table_version"] >= 0
    # The first run builds the lake's index of current instances from every data file.
    assert metadata["incremental"] is False and metadata["full_read_reason"] == "no index"
    assert metadata["lake_files_read"] == metadata["lake_files"] >= 1
    current = current_sops(resources, orthanc_env["DICOM_DUCKDB_PATH"])
    assert set(current) == {datasets[0].SOPInstanceUID, datasets[2].SOPInstanceUID}
    table = LakeResource(url=orthanc_env["DICOM_LAKE_URL"]).table().open()
    rows = [row for row in table.to_pyarrow_table().to_pylist() if row["_sequence"] < 0]
    assert [(r["_action"], r["_sequence"], r["SOPInstanceUID"]) for r in rows] == [
        ("delete", -create_sequence, gone.SOPInstanceUID)
    ]
    assert rows[0]["StudyInstanceUID"] == gone.StudyInstanceUID
    assert rows[0]["SeriesInstanceUID"] == gone.SeriesInstanceUID
    assert rows[0]["_metadata"] is None and rows[0]["_timestamp"] is not None

    # A second pass finds nothing more to delete and writes nothing.
    lake_resource = LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
    again = reconcile_orthanc(lake_resource.table(), orthanc.url)
    assert again.deleted == [] and again.version is None
    assert again.lake_instances == again.server_instances == 2
    assert again.http_calls == 1

    # Stored again (with new content): current again, with its new create (a higher sequence).
    gone.SeriesDescription = "Stored again"
    assert all(upload(orthanc.url, [encode(gone)]))
    cursor = sync(resources, cursor)
    current = current_sops(resources, orthanc_env["DICOM_DUCKDB_PATH"])
    assert set(current) == {ds.SOPInstanceUID for ds in datasets}
    assert current[gone.SOPInstanceUID][1] == "create"
    assert current[gone.SOPInstanceUID][0] > create_sequence
    with duckdb.connect(orthanc_env["DICOM_DUCKDB_PATH"], read_only=True) as connection:
        described = connection.execute(
            "SELECT SeriesDescription FROM dicom.current_instances WHERE SOPInstanceUID = ?",
            [gone.SOPInstanceUID],
        ).fetchone()
    assert described == ("Stored again",)
    assert reconcile_orthanc(lake_resource.table(), orthanc.url).deleted == []
    # A run now reads only the files committed since the first run's index (delete, re-store).
    _, [metadata] = reconcile(resources)
    assert metadata["deletes_found"] == 0 and metadata["incremental"] is True
    assert metadata["lake_instances"] == 3
    assert 2 <= metadata["lake_files_read"] < metadata["lake_files"]


def test_reconcile_waits_for_its_interval(orthanc, orthanc_env, monkeypatch):
    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "3600")
    resources = build_resources()
    datasets = list(synthetic_instances(synthetic_study(2, series=1, instances_per_series=2)))
    answers = upload(orthanc.url, [encode(ds) for ds in datasets])
    sync(resources, None)
    first, runs = reconcile(resources)  # asks for a run at once (never asked before)
    assert len(runs) == 1 and runs[0]["deletes_found"] == 0 and float(first) > 0
    assert requests.delete(f"{orthanc.url}/instances/{answers[0]['ID']}", timeout=10).ok
    second, runs = reconcile(resources, first)
    assert (second, runs) == (first, [])  # within the interval: no run
    table = (
        LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
        .table()
        .open()
        .to_pyarrow_table(columns=["_sequence"])
    )
    assert min(table["_sequence"].to_pylist()) > 0  # no delete row written


def test_no_reconciliation_for_a_feed_that_reports_deletes(lake_env, monkeypatch):
    """Azure's change feed reports its deletes: the sensor asks for no run at all."""
    monkeypatch.setenv("DICOM_SERVER_KIND", "azure")
    monkeypatch.setenv("DICOM_SERVER_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "0")
    resources = build_resources()
    from dicom_assets.resources import DicomServerResource

    azure = DicomServerResource(url="http://127.0.0.1:9/", kind="azure")
    assert not azure.change_feed().forgets_deleted_changes
    assert reconcile(resources) == (None, [])


def test_a_running_reconciliation_is_not_asked_for_again(orthanc, orthanc_env, monkeypatch):
    from dagster import DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "0")
    resources = build_resources()
    with DagsterInstance.ephemeral() as instance:
        instance.create_run_for_job(dicom_orthanc_reconcile, status=DagsterRunStatus.STARTED)
        with build_sensor_context(resources=resources, instance=instance) as context:
            result = dicom_orthanc_reconcile_sensor(context)
    assert isinstance(result, SkipReason) and "queued or running" in result.skip_message


def test_lake_instances_without_patient_id_column_use_metadata(orthanc, orthanc_env):
    """Orthanc hashes the PatientID; rows whose column is null read it from ``_metadata``."""
    resources = build_resources()
    datasets = list(synthetic_instances(synthetic_study(3, series=1, instances_per_series=2)))
    answers = upload(orthanc.url, [encode(ds) for ds in datasets])
    sync(resources, None)
    lake = LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
    # A lake whose rows have no PatientID column (a table written without it).
    from dicom_assets.lake.change_log import write_window

    table = lake.table().open().to_pyarrow_table().drop_columns(["PatientID", "_date"])
    other = LakeResource(url=orthanc_env["DICOM_LAKE_URL"] + "-without-patient-id")
    key = table["_timestamp"][0].as_py().strftime("%Y-%m-%d-%H:00")
    write_window(other.table(), key, table, "append")
    current = current_instances(other.table())
    assert {orthanc_id_of(instance) for instance in current} == {a["ID"] for a in answers}


def test_real_world_files_are_not_mistaken_for_deleted(orthanc, orthanc_env, corpus_files):
    """The Orthanc IDs computed from the lake match Orthanc's for pydicom's real-world files
    (odd PatientIDs, character sets, no PatientID): a mismatch would be a false delete."""
    resources = build_resources()
    answers = upload(orthanc.url, [path.read_bytes() for path in corpus_files])
    held = {answer["ID"] for answer in answers if answer is not None}
    assert len(held) > 20
    sync(resources, None)
    lake = LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
    current = current_instances(lake.table())
    assert {orthanc_id_of(instance) for instance in current} <= held
    result = reconcile_orthanc(lake.table(), orthanc.url)
    assert result.deleted == [] and result.version is None
    assert result.lake_instances == len(current) > 20


def test_an_empty_server_deletes_nothing(orthanc, orthanc_env, tmp_path, monkeypatch):
    """A wiped or wrongly configured server lists no instance: that is refused, not taken as
    the deletion of everything (the run logs a warning and writes nothing)."""
    from dicom_assets.devtools.orthanc_server import OrthancServer
    from dicom_assets.sources.orthanc.reconcile import ReconcileRefused

    resources = build_resources()
    assert all(
        upload(orthanc.url, [encode(ds) for ds in synthetic_instances(synthetic_study(8, 1, 2))])
    )
    sync(resources, None)
    lake = LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
    with OrthancServer(tmp_path / "empty") as empty, pytest.raises(ReconcileRefused):
        reconcile_orthanc(lake.table(), empty.url)
    with OrthancServer(tmp_path / "empty-too") as empty:
        monkeypatch.setenv("ORTHANC_URL", empty.url)
        monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "0")
        _, [metadata] = reconcile(build_resources())
    assert metadata["reconciled"] is False and "Orthanc lists no instance" in metadata["refused"]
    sequences = lake.table().open().to_pyarrow_table(columns=["_sequence"])["_sequence"].to_pylist()
    assert min(sequences) > 0  # no delete row written


def test_the_comparison_is_a_function_of_server_and_current_instances(orthanc, orthanc_env):
    """``sources/`` finds the deletions without any lake: the instances are given, the delete
    entries come back, nothing is written (the job appends them)."""
    datasets = list(synthetic_instances(synthetic_study(9, series=1, instances_per_series=2)))
    answers = upload(orthanc.url, [encode(ds) for ds in datasets])
    patient = str(datasets[0].PatientID)
    current = CurrentInstances(
        sequences=[10, 11, 7],
        study_uids=[ds.StudyInstanceUID for ds in datasets] + ["1.2"],
        series_uids=[ds.SeriesInstanceUID for ds in datasets] + ["1.2.3"],
        sop_uids=[ds.SOPInstanceUID for ds in datasets] + ["1.2.3.4"],  # the last: not stored
        patient_ids=[patient] * 3,
    )
    held = {orthanc_id_of(instance) for instance in current}
    assert held >= {answer["ID"] for answer in answers}
    found = find_deletions(current, orthanc.url)
    assert found.deleted == [LakeInstance(7, "1.2", "1.2.3", "1.2.3.4", patient)]
    assert found.lake_instances == 3 and found.http_calls == 1
    [entry] = found.entries
    assert (entry.sequence, entry.sop_instance_uid, entry.action.value) == (-7, "1.2.3.4", "delete")
    assert entry.timestamp == found.detected_at and entry.metadata is None
