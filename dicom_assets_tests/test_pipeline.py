"""End to end on real parts: Orthanc -> sensor -> dicom_instances -> Delta table -> DuckDB views."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow.dataset as pads
import pytest
from dagster import SensorResult, build_sensor_context, materialize

from dicom_assets.assets import dicom_external_tables, dicom_instances
from dicom_assets.devtools.samples import encode, synthetic_instances, synthetic_study, upload
from dicom_assets.lake.window_sync import SYNC_MODE_TAG
from dicom_assets.resources import LakeResource
from dicom_assets.sensors import dicom_change_feed_sensor, parse_cursor
from dicom_assets.sql.duckdb_secret import emulator_url
from dicom_assets.wiring import build_resources
from dicom_assets_tests.conftest import run_requested


@pytest.fixture(params=["local", "azurite"])
def pipeline_env(request, orthanc, lake_env, monkeypatch) -> dict:
    """The same flow with the lake in a local folder and in an Azurite container (issue 5)."""
    env = lake_env if request.param == "local" else request.getfixturevalue("azurite_lake_env")
    monkeypatch.setenv("DICOM_SERVER_KIND", "orthanc")
    monkeypatch.setenv("DICOM_SERVER_URL", orthanc.dicomweb_url)
    monkeypatch.delenv("ORTHANC_URL", raising=False)  # derived from DICOM_SERVER_URL
    return env


def evaluate_sensor(resources: dict, cursor: str | None) -> SensorResult:
    with build_sensor_context(cursor=cursor, resources=resources) as context:
        result = dicom_change_feed_sensor(context)
    assert isinstance(result, SensorResult)
    return result


def lake_table(lake_url: str):
    """Every row of the lake's Delta table (local or Azure), read with delta-rs."""
    table = LakeResource(url=lake_url).table().open()
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    return table.to_pyarrow_table()


def warehouse(env: dict) -> duckdb.DuckDBPyConnection:
    """The DuckDB file from a plain connection: no project code, the views work as they are."""
    # On Azurite only, DuckDB's delta extension needs the emulator's URL in the environment.
    if "container" in env:
        os.environ["AZURITE_BLOB_STORAGE_URL"] = emulator_url(
            LakeResource(url=env["DICOM_LAKE_URL"])
        )
    return duckdb.connect(env["DICOM_DUCKDB_PATH"], read_only=True)


def test_sync_end_to_end(orthanc, pipeline_env, corpus_files):
    resources = build_resources()
    studies = [synthetic_study(index, series=3, instances_per_series=4) for index in range(2)]
    uploaded = [ds for study in studies for ds in synthetic_instances(study)]
    assert all(upload(orthanc.url, [encode(ds) for ds in uploaded]))
    ct_small = next(path for path in corpus_files if path.name == "CT_small.dcm")
    assert all(upload(orthanc.url, [ct_small.read_bytes()]))

    first = evaluate_sensor(resources, None)
    assert first.run_requests, "the sensor requested no run"
    assert {r.tags[SYNC_MODE_TAG] for r in first.run_requests} == {"incremental"}
    now = dt.datetime.now(dt.UTC)
    assert {r.partition_key for r in first.run_requests} <= {
        (now - dt.timedelta(hours=h)).strftime("%Y-%m-%d-%H:00") for h in (0, 1)
    }
    outcomes = run_requested(resources, first)

    table = lake_table(pipeline_env["DICOM_LAKE_URL"])
    assert table.num_rows == len(uploaded) + 1
    assert len(set(table["_sequence"].to_pylist())) == table.num_rows
    by_sop = {row["SOPInstanceUID"]: row for row in table.to_pylist()}
    for ds in uploaded:
        row = by_sop[ds.SOPInstanceUID]
        assert row["StudyInstanceUID"] == ds.StudyInstanceUID
        assert row["SeriesInstanceUID"] == ds.SeriesInstanceUID
        assert row["_action"] == "create"
        assert row["PatientName"]["Alphabetic"] == str(ds.PatientName)
        assert row["StudyDate"] == dt.date(2026, 11, 24)
        assert row["PixelSpacing"] == [0.703125, 0.703125]
        assert row["ImagePositionPatient"] == [-180.0, -180.0, float(ds.ImagePositionPatient[2])]
        assert row["ProcedureCodeSequence"][0]["CodeValue"] == "77477000"
        assert row["ProcedureCodeSequence"][0]["CodeMeaning"] == "Computerized axial tomography"
        assert row["InstanceNumber"] == ds.InstanceNumber
        assert ds.SOPInstanceUID in row["_metadata"]
    ct_row = next(
        row
        for row in by_sop.values()
        if row["Modality"] == "CT" and row["Manufacturer"] != "DICOM-ASSETS"
    )
    assert ct_row["Rows"] == 128 and ct_row["Columns"] == 128

    calls = sum(
        outcome.asset_materializations_for_node("dicom_instances")[0].metadata["http_calls"].value
        for outcome in outcomes
    )
    assert 0 < calls <= 40  # per series, not per instance

    views = materialize([dicom_external_tables], resources=resources)
    assert views.success
    with warehouse(pipeline_env) as connection:
        assert (
            connection.execute("SELECT count(*) FROM dicom.instances").fetchone()[0]
            == len(uploaded) + 1
        )
        assert (
            connection.execute("SELECT count(*) FROM dicom.current_instances").fetchone()[0]
            == len(uploaded) + 1
        )
        assert connection.execute("SELECT count(*) FROM dicom.series").fetchone()[0] == 7
        studies_row = connection.execute(
            "SELECT series, instances, modalities FROM dicom.studies WHERE StudyInstanceUID = ?",
            [studies[0].study_uid],
        ).fetchone()
        assert studies_row == (3, 12, "CT")
        per_modality = dict(
            connection.execute(
                "SELECT Modality, count(*) FROM dicom.current_instances GROUP BY 1"
            ).fetchall()
        )
        assert per_modality == {"CT": len(uploaded) + 1}

    # More uploads: only the window that got them runs again, incrementally.
    more = synthetic_study(9, series=1, instances_per_series=5)
    more_instances = list(synthetic_instances(more))
    assert all(upload(orthanc.url, [encode(ds) for ds in more_instances]))
    second = evaluate_sensor(resources, first.cursor)
    assert parse_cursor(second.cursor) > parse_cursor(first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key not in {r.run_key for r in first.run_requests}
    delta = run_requested(resources, second)[0]
    delta_metadata = delta.asset_materializations_for_node("dicom_instances")[0].metadata
    assert delta_metadata["rows"].value == 5
    table = lake_table(pipeline_env["DICOM_LAKE_URL"])
    assert table.num_rows == len(uploaded) + 1 + 5

    # Nothing new: no run.
    assert evaluate_sensor(resources, second.cursor).run_requests == []

    # A full re-materialization of the window gives the same rows, no duplicates.
    key = second.run_requests[0].partition_key
    before = sorted(
        table.filter(pads.field("_timestamp") >= _window_start(key))["_sequence"].to_pylist()
    )
    assert materialize([dicom_instances], partition_key=key, resources=resources).success
    after_table = lake_table(pipeline_env["DICOM_LAKE_URL"])
    after = sorted(
        after_table.filter(pads.field("_timestamp") >= _window_start(key))["_sequence"].to_pylist()
    )
    assert after == before
    assert len(set(after_table["_sequence"].to_pylist())) == after_table.num_rows


def _window_start(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=dt.UTC)
