"""Schema evolution: partitions written from different attribute sets read together.

A column's type comes from the dictionary, so it is the same in every file; files differ only
in which columns and which sequence-item fields they have. DuckDB (``union_by_name``) and
Spark (``mergeSchema``) merge both, nested struct fields included, and read nulls where a file
lacks a column or field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from dicom_assets.lake.parquet_options import parquet_write_options
from dicom_assets.schema import convert_entries
from dicom_assets_tests.schema.feed_entries import entry_for

OLD = {  # an older vendor: no Manufacturer; its image references carry the SOP class
    "00080018": {"vr": "UI", "Value": ["1.1"]},
    "00080020": {"vr": "DA", "Value": ["20260101"]},
    "00080030": {"vr": "TM", "Value": ["101500.5"]},
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Old^Vendor"}]},
    "00280030": {"vr": "DS", "Value": [0.5, 0.5]},
    "00081140": {
        "vr": "SQ",
        "Value": [
            {
                "00081150": {"vr": "UI", "Value": ["1.2.840.1"]},
                "00081155": {"vr": "UI", "Value": ["1.1.1"]},
            }
        ],
    },
}
NEW = {  # a newer one: Manufacturer and frame numbers, no PixelSpacing, no SOP class
    "00080018": {"vr": "UI", "Value": ["2.2"]},
    "00080020": {"vr": "DA", "Value": ["20260102"]},
    "00080030": {"vr": "TM", "Value": ["0915"]},
    "00080070": {"vr": "LO", "Value": ["ACME"]},
    "00081140": {
        "vr": "SQ",
        "Value": [
            {
                "00081155": {"vr": "UI", "Value": ["2.2.2"]},
                "00081160": {"vr": "IS", "Value": [1, 2]},
            }
        ],
    },
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lake") / "result" / "Dicom" / "2026" / "11" / "25"
    for hour, (metadata, sequence) in {"10": (OLD, 1), "11": (NEW, 2)}.items():
        folder = root / hour
        folder.mkdir(parents=True)
        table = convert_entries([entry_for(metadata, sequence)]).table
        pq.write_table(
            table,
            folder / f"part-{sequence}-{sequence}.parquet",
            **parquet_write_options(table.schema),
        )
    return root.parents[4]


def test_duckdb_reads_both_partitions_by_name(lake):
    glob = f"{lake}/result/Dicom/**/*.parquet"
    relation = duckdb.sql(
        f"SELECT * FROM read_parquet('{glob}', union_by_name=true) ORDER BY _sequence"
    )
    types = dict(zip(relation.columns, map(str, relation.types)))
    assert types["StudyDate"] == "DATE" and types["StudyTime"] == "VARCHAR"
    assert types["PixelSpacing"] == "DOUBLE[]" and types["Manufacturer"] == "VARCHAR"
    assert types["ReferencedImageSequence"] == (
        "STRUCT(ReferencedSOPClassUID VARCHAR, ReferencedSOPInstanceUID VARCHAR, "
        "ReferencedFrameNumber BIGINT[])[]"
    )
    rows = [dict(zip(relation.columns, row)) for row in relation.fetchall()]
    assert [r["Manufacturer"] for r in rows] == [None, "ACME"]
    assert [r["PixelSpacing"] for r in rows] == [[0.5, 0.5], None]
    assert rows[0]["ReferencedImageSequence"] == [
        {
            "ReferencedSOPClassUID": "1.2.840.1",
            "ReferencedSOPInstanceUID": "1.1.1",
            "ReferencedFrameNumber": None,
        }
    ]
    assert rows[1]["ReferencedImageSequence"][0]["ReferencedFrameNumber"] == [1, 2]
    assert [r["StudyTime"] for r in rows] == ["10:15:00.500000", "09:15:00.000000"]
    # TM is text (docs/schema.md); it casts to a time as written.
    times = duckdb.sql(
        f"SELECT CAST(StudyTime AS TIME) FROM read_parquet('{glob}', "
        "union_by_name=true) ORDER BY _sequence"
    ).fetchall()
    assert times == [(dt.time(10, 15, 0, 500000),), (dt.time(9, 15),)]


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql")
    session = (
        pyspark.SparkSession.builder.master("local[2]")
        .appName("dicom-assets-schema")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_merges_schemas(lake, spark):
    frame = (
        spark.read.option("mergeSchema", "true")
        .option("recursiveFileLookup", "true")
        .parquet(str(lake / "result" / "Dicom"))
    )
    types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    assert types["StudyDate"] == "date" and types["_timestamp"] == "timestamp"
    assert types["StudyTime"] == "string"
    assert types["PixelSpacing"] == "array<double>" and types["Manufacturer"] == "string"
    assert types["ReferencedImageSequence"] == (
        "array<struct<ReferencedSOPClassUID:string,ReferencedSOPInstanceUID:string,"
        "ReferencedFrameNumber:array<bigint>>>"
    )
    rows = [r.asDict(recursive=True) for r in frame.orderBy("_sequence").collect()]
    assert [r["Manufacturer"] for r in rows] == [None, "ACME"]
    assert [r["PatientName"] for r in rows] == [
        {"Alphabetic": "Old^Vendor", "Ideographic": None, "Phonetic": None},
        None,
    ]
    assert rows[1]["ReferencedImageSequence"] == [
        {
            "ReferencedSOPClassUID": None,
            "ReferencedSOPInstanceUID": "2.2.2",
            "ReferencedFrameNumber": [1, 2],
        }
    ]
    assert [r["StudyTime"] for r in rows] == ["10:15:00.500000", "09:15:00.000000"]
