"""Readers of the lake as users run them, on a lake made by a real sync of pydicom's test files
(Orthanc -> sensor -> dicom_instances): polars, DuckDB from a plain connection in another
process and from the DuckDB CLI, pyarrow through delta-rs. (Spark 3.5: its own test.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from dagster import materialize

from dicom_assets.assets import dicom_external_tables
from dicom_assets.definitions import build_resources
from dicom_assets.devtools.samples import upload
from dicom_assets.resources import LakeResource
from dicom_assets_tests.sources.orthanc.test_reconcile import sync


@pytest.fixture
def synced_corpus(orthanc, orthanc_env, corpus_files) -> dict:
    answers = upload(orthanc.url, [path.read_bytes() for path in corpus_files])
    held = {answer["ID"] for answer in answers if answer is not None}
    assert len(held) > 20
    resources = build_resources()
    sync(resources, None)
    assert materialize([dicom_external_tables], resources=resources).success
    lake = LakeResource(url=orthanc_env["DICOM_LAKE_URL"])
    sops = lake.table().open().to_pyarrow_table(columns=["SOPInstanceUID"])["SOPInstanceUID"]
    assert len(sops) == len(held)
    return {
        **orthanc_env,
        "rows": len(sops),
        "instances": len(set(sops.to_pylist())),
        "uri": lake.table().uri,
    }


def test_every_reader_reads_a_synced_lake_as_written(synced_corpus):
    """One sync (of ~40 real files), then each reader in turn."""
    polars_reads_one_schema_with_nested_fields(synced_corpus)
    duckdb_views_work_from_a_plain_connection_and_the_cli(synced_corpus)
    pyarrow_reads_the_table_as_written(synced_corpus)


def polars_reads_one_schema_with_nested_fields(synced_corpus):
    frame = pl.scan_delta(synced_corpus["uri"]).collect()
    assert frame.height == synced_corpus["rows"]
    schema = frame.schema
    assert schema["PatientName"] == pl.Struct(
        {"Alphabetic": pl.String, "Ideographic": pl.String, "Phonetic": pl.String}
    )
    # Column sets differ between files: every column is there, null where a file lacked it.
    assert frame["Rows"].null_count() < frame.height
    assert frame["PatientBirthDate"].dtype == pl.Date
    assert isinstance(schema["ContentSequence"], pl.List)
    assert not any(isinstance(dtype, pl.Time) for dtype in schema.values())


PLAIN = """
import duckdb, sys
connection = duckdb.connect(sys.argv[1], read_only=True)
print(connection.sql("SELECT count(*) FROM dicom.current_instances").fetchone()[0])
print(connection.sql("SELECT count(*) FROM dicom.studies").fetchone()[0])
"""


def run_outside_the_project(command: list[str]) -> list[str]:
    """Run ``command`` in another process, outside the project (from ``/``, no ``DICOM_``
    setting): the words it printed."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DICOM_")}
    return subprocess.run(
        command, capture_output=True, text=True, env=clean, cwd="/", timeout=120, check=True
    ).stdout.split()


def duckdb_views_work_from_a_plain_connection_and_the_cli(synced_corpus):
    database = synced_corpus["DICOM_DUCKDB_PATH"]
    # Another process, no project code, nothing registered: only the DuckDB file.
    out = run_outside_the_project([sys.executable, "-c", PLAIN, database])
    assert int(out[0]) == synced_corpus["instances"] and int(out[1]) > 0
    cli = Path(sys.executable).parent / "duckdb"
    count, version = run_outside_the_project(
        [
            str(cli),
            "-readonly",
            "-csv",
            "-noheader",
            database,
            "-c",
            "SELECT count(*) FROM dicom.instances; SELECT version();",
        ]
    )
    assert int(count) == synced_corpus["rows"]
    import duckdb

    assert version.lstrip("v") == duckdb.__version__  # the CLI of the pinned version


def pyarrow_reads_the_table_as_written(synced_corpus):
    table = LakeResource(url=synced_corpus["DICOM_LAKE_URL"]).table().open()
    data = table.to_pyarrow_table()
    assert data.num_rows == synced_corpus["rows"]
    assert pa.types.is_timestamp(data.schema.field("_timestamp").type)
    assert data.schema.field("_timestamp").type.tz is not None
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
