"""A real sync with DICOM_DEIDENTIFY=basic: Orthanc -> sensor -> runs -> lake -> DuckDB.

Then everything the product wrote is scanned for every original value: each Parquet column and
``_metadata`` decoded, every other lake file, every object of the DuckDB file (and its bytes),
and every file of Dagster's storage folder (event log, runs, schedules, compute logs).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest
import requests
from dagster import DagsterInstance, build_sensor_context, materialize

from dicom_assets.assets import dicom_external_tables, dicom_instances
from dicom_assets.definitions import build_resources
from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.devtools.samples import encode, upload
from dicom_assets.sensors import dicom_change_feed_sensor
from dicom_assets_tests.checks.lake_sync import run_window_checks
from dicom_assets_tests.deid.phi_corpus import found_needles, needles, phi_corpus

KEY = "sync-test-key-" + "q" * 40
OTHER_KEY = "other-test-key-" + "w" * 40


@pytest.fixture
def deid_env(orthanc_env, monkeypatch):
    monkeypatch.setenv("DICOM_DEIDENTIFY", "basic")
    monkeypatch.setenv("DICOM_DEID_KEY", KEY)
    monkeypatch.delenv("DICOM_DEID_OPTIONS", raising=False)
    monkeypatch.setenv("DICOM_RECONCILE_INTERVAL_SECONDS", "0")
    return orthanc_env


def _tick(instance, resources, cursor):
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return dicom_change_feed_sensor(context)


def _sync(instance, resources, requests_):
    for request in requests_:
        outcome = materialize(
            [dicom_instances],
            partition_key=request.partition_key,
            resources=resources,
            instance=instance,
            tags=request.tags,
        )
        assert outcome.success


def _lake_rows(lake: str) -> list[dict]:
    files = sorted(Path(lake, "result", "Dicom").rglob("*.parquet"))
    return [row for path in files for row in pq.read_table(path).to_pylist()]


def _written_text(env: dict, dagster_home: Path) -> dict[str, str]:
    """Everything the product wrote, as text, by where it was found."""
    found: dict[str, str] = {}
    for path in sorted(Path(env["DICOM_LAKE_URL"]).rglob("*")):
        if path.is_file():
            if path.suffix == ".parquet":
                table = pq.read_table(path)  # every column decoded, nested ones too
                found[str(path)] = repr(table.to_pylist())
            else:
                found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    duckdb_path = Path(env["DICOM_DUCKDB_PATH"])
    found[str(duckdb_path)] = duckdb_path.read_bytes().decode("utf-8", "replace")
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        objects = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
        assert objects
        for schema, name in objects:
            rows = connection.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            found[f"duckdb {schema}.{name}"] = repr(rows)
    for path in sorted(dagster_home.rglob("*")):
        if path.is_file():
            found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return found


def test_nothing_of_the_patients_lands_anywhere(orthanc, deid_env, tmp_path):
    corpus = phi_corpus()
    answers = upload(orthanc.url, [encode(ds) for ds in corpus.datasets])
    assert all(answers)
    wanted = needles(corpus) | {answer["ID"] for answer in answers}  # Orthanc IDs hash PHI
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = DagsterInstance.local_temp(str(home))
    resources = build_resources()

    first = _tick(instance, resources, None)
    assert first.run_requests
    _sync(instance, resources, first.run_requests)
    for request in first.run_requests:  # the window checks' metadata is scanned too
        checks = run_window_checks(resources, instance, request.partition_key)
        assert checks["identity"].passed  # pseudonyms are well-formed UIDs
    assert materialize([dicom_external_tables], resources=resources, instance=instance).success

    # Orthanc's deletes are reconciled on the pseudonymous identities.
    deleted = corpus.datasets[0]
    assert requests.delete(f"{orthanc.url}/instances/{answers[0]['ID']}", timeout=10).ok
    second = _tick(instance, resources, first.cursor)
    _sync(instance, resources, second.run_requests)  # Orthanc's stable-series changes, if any
    deid = Deidentifier(DeidSettings.parse("basic", "", KEY))
    rows = _lake_rows(deid_env["DICOM_LAKE_URL"])
    deletes = [row for row in rows if row["_action"] == "delete"]
    assert [row["SOPInstanceUID"] for row in deletes] == [
        deid.pseudonyms.uid(deleted.SOPInstanceUID)
    ]
    assert materialize([dicom_external_tables], resources=resources, instance=instance).success

    written = _written_text(deid_env, home)
    instance.dispose()
    leaks = {where: found_needles(text, wanted) for where, text in written.items()}
    assert {where: hits for where, hits in leaks.items() if hits} == {}
    # The scan can fail: Dagster's storage does hold the studies preview (pseudonyms only) ...
    study = deid.pseudonyms.uid(corpus.datasets[-1].StudyInstanceUID)
    assert any(study in text for where, text in written.items() if where.startswith(str(home)))
    # ... and the corpus's values are in what was uploaded.
    uploaded = "".join(
        repr(orjson.loads(orjson.dumps(ds.to_json_dict()))) for ds in corpus.datasets
    )
    assert found_needles(uploaded, corpus.phi) == corpus.phi

    # What must survive.
    creates = [row for row in rows if row["_action"] == "create"]
    assert len(creates) == len(corpus.datasets)
    sops = {row["SOPInstanceUID"] for row in creates}
    assert sops == {deid.pseudonyms.uid(ds.SOPInstanceUID) for ds in corpus.datasets}
    for row in creates:
        assert row["Modality"] == "CT" and row["Manufacturer"] == "DICOM-ASSETS"
        assert row["PixelSpacing"] == [0.703125, 0.703125] and row["KVP"] == 120
        assert row["Rows"] == 4 and row["BodyPartExamined"] == "CHEST"
        assert row["ProcedureCodeSequence"][0]["CodeValue"] == "77477000"
        assert row["PatientIdentityRemoved"] == "YES"
        assert row["PatientID"].startswith("PSEUDO-")
        metadata = orjson.loads(row["_metadata"])
        assert metadata["0020000D"]["Value"] == [row["StudyInstanceUID"]]
        if row.get("SourceImageSequence"):
            assert row["SourceImageSequence"][0]["ReferencedSOPInstanceUID"] in sops
    with duckdb.connect(deid_env["DICOM_DUCKDB_PATH"], read_only=True) as connection:
        current = connection.execute("SELECT count(*) FROM dicom.current_instances").fetchone()[0]
    assert current == len(corpus.datasets) - 1


def test_two_lakes_one_key_agree_another_key_is_disjoint(orthanc, deid_env, monkeypatch, tmp_path):
    corpus = phi_corpus(patients=2, studies=2, series=1, instances=2)
    assert all(upload(orthanc.url, [encode(ds) for ds in corpus.datasets]))
    instance = DagsterInstance.ephemeral()
    lakes = {}
    plan = None
    for name, key, options in (
        ("a", KEY, ""),
        ("b", KEY, ""),
        ("c", OTHER_KEY, "retain-longitudinal-modified-dates"),
    ):
        monkeypatch.setenv("DICOM_LAKE_URL", str(tmp_path / name))
        monkeypatch.setenv("DICOM_DEID_KEY", key)
        monkeypatch.setenv("DICOM_DEID_OPTIONS", options)
        resources = build_resources()
        plan = plan or _tick(instance, resources, None).run_requests
        _sync(instance, resources, plan)
        lakes[name] = _lake_rows(str(tmp_path / name))
    a, b, c = ({row["SOPInstanceUID"] for row in rows} for rows in lakes.values())
    assert len(a) == len(corpus.datasets)
    assert a == b
    assert not a & c
    assert {row["StudyInstanceUID"] for row in lakes["a"]} == {
        row["StudyInstanceUID"] for row in lakes["b"]
    }
    # Modified dates: each patient's study dates keep their interval.
    studies: dict[str, set] = {}
    for row in lakes["c"]:
        studies.setdefault(row["PatientID"], set()).add(row["StudyDate"])
    originals: dict[str, set] = {}
    for ds in corpus.datasets:
        originals.setdefault(ds.PatientID, set()).add(ds.StudyDate)
    assert len(studies) == len(originals) == 2
    for dates in studies.values():
        early, late = sorted(dates)
        assert (late - early).days == 97  # as in the corpus: 97 days between studies

    # The same lake with another key is refused, with a way out.
    monkeypatch.setenv("DICOM_LAKE_URL", str(tmp_path / "a"))
    monkeypatch.setenv("DICOM_DEID_OPTIONS", "")
    outcome = materialize(
        [dicom_instances],
        partition_key=plan[0].partition_key,
        resources=build_resources(),
        instance=instance,
        raise_on_error=False,
    )
    assert not outcome.success
    message = str(outcome.get_step_failure_events()[0].event_specific_data.error)
    assert "another DICOM_DEID_KEY" in message and "DICOM_LAKE_URL" in message
    assert OTHER_KEY not in message
