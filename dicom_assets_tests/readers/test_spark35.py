"""Spark 3.5 reads every row and every column of a lake made by a real sync, with default
settings (what Synapse Spark pools, Fabric runtime 1.3 and most Databricks clusters run).

Spark runs in its own pinned environment (``.venv-spark35``, ``spark35-requirements.txt``, made
by ``scripts/bootstrap.sh --with-test-tools``); the project's own pyspark is 4.x. Spark's Delta
reader needs Maven jars that cannot be fetched here, so Spark reads the table's data files as
Parquet, which is what its Delta reader does underneath.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pydicom

from dicom_assets.resources import LakeResource

HERE = Path(__file__).parent
SPARK35_PYTHON = HERE.parents[1] / ".venv-spark35" / "bin" / "python"


def lake_data_files(lake_url: str) -> list[str]:
    """The Delta table's active data files (from its log), as Spark's Delta reader reads them."""
    from urllib.parse import unquote

    table = LakeResource(url=lake_url).table().open()
    return sorted(unquote(uri.removeprefix("file://")) for uri in table.file_uris())


def read_with_spark35(files: list[str], work: Path) -> dict:
    """Run ``spark35_read.py`` in the Spark 3.5 environment; its JSON result."""
    assert SPARK35_PYTHON.exists(), (
        f"{SPARK35_PYTHON} is missing: run scripts/bootstrap.sh --with-test-tools"
    )
    (work / "files.json").write_text(json.dumps(files))
    out = work / "spark.json"
    # TZ=UTC: Spark hands timestamps to Python as local wall-clock times.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYSPARK", "SPARK_", "PYTHONPATH", "VIRTUAL_ENV"))
    }
    done = subprocess.run(
        [str(SPARK35_PYTHON), str(HERE / "spark35_read.py"), str(work / "files.json"), str(out)],
        env={**env, "TZ": "UTC", "PYSPARK_PYTHON": str(SPARK35_PYTHON)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = [line for line in done.stderr.splitlines() if "Exception" in line][:3]
    assert done.returncode == 0, "\n".join(errors) + "\n...\n" + done.stderr[-2000:]
    return json.loads(out.read_text())


def plain(value):
    """pyarrow's values as ``spark35_read.plain`` writes Spark's."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def test_spark35_reads_every_row_and_column_with_default_settings(corpus_lake, tmp_path):
    files = lake_data_files(corpus_lake.env["DICOM_LAKE_URL"])
    assert files
    spark = read_with_spark35(files, tmp_path)
    assert spark["spark"].startswith("3.5."), spark["spark"]

    # Every row, every column: what Spark decoded is what pyarrow reads from the same files.
    expected = {
        row["_sequence"]: plain(row) for path in files for row in pq.read_table(path).to_pylist()
    }
    got = {row["_sequence"]: row for row in spark["rows"]}
    assert len(got) == len(spark["rows"]) == len(expected) == len(corpus_lake.stored)
    differing = [seq for seq in expected if got.get(seq) != expected[seq]]
    assert differing == [], (expected[differing[0]], got.get(differing[0]))

    # mergeSchema merged every file's columns; no type Spark 3 refuses is left.
    columns = set().union(*(pq.read_schema(path).names for path in files))
    assert set(spark["schema"]) == columns
    assert spark["schema"]["StudyTime"] == "string" and spark["schema"]["StudyDate"] == "date"
    assert spark["schema"]["_timestamp"] == "timestamp"

    by_sop = {row["SOPInstanceUID"]: row for row in spark["rows"]}
    names = {path.name: path for path in corpus_lake.stored}

    # A TM nested two sequences deep (test-SR.dcm: ContentSequence > ContentSequence > Time).
    sr = by_sop[str(pydicom.dcmread(names["test-SR.dcm"], stop_before_pixels=True).SOPInstanceUID)]
    nested = [item for outer in sr["ContentSequence"] for item in outer.get("ContentSequence", [])]
    assert {"Time": "12:00:00.000000"}.items() <= next(i for i in nested if "Time" in i).items()
    assert any(i.get("DateTime") == "2000-12-06T12:00:00+00:00" for i in nested)

    # The 1111-11-11 birth date is null, listed in _invalid, and kept in _metadata.
    overlay_uid = str(
        pydicom.dcmread(names["examples_overlay.dcm"], stop_before_pixels=True).SOPInstanceUID
    )
    overlay = by_sop[overlay_uid]
    assert "PatientBirthDate" not in overlay and "PatientBirthDate" in overlay["_invalid"]
    assert json.loads(overlay["_metadata"])["00100030"]["Value"] == ["11111111"]

    # The docs' Spark recipes for TM text work in Spark 3.5.
    recipes = {row["_sequence"]: row for row in spark["recipes"]}
    for sequence, row in expected.items():
        if "StudyTime" not in row:
            continue
        recipe = recipes[sequence]
        time = dt.time.fromisoformat(row["StudyTime"])
        micros = ((time.hour * 60 + time.minute) * 60 + time.second) * 1_000_000 + time.microsecond
        assert recipe["micros_since_midnight"] == micros
        assert recipe["in_the_morning"] == ("08:00" <= row["StudyTime"] < "12:00")
        if "StudyDate" in row:
            assert (
                recipe["study_timestamp"]
                == dt.datetime.combine(
                    dt.date.fromisoformat(row["StudyDate"]), time, dt.UTC
                ).isoformat()
            )
    assert len(recipes) >= 10


def test_the_spark_environment_is_pinned():
    pins = (HERE / "spark35-requirements.txt").read_text()
    assert "pyspark==3.5." in pins and "--hash=sha256:" in pins
    version = subprocess.run(
        [str(SPARK35_PYTHON), "-c", "import pyspark; print(pyspark.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    assert f"pyspark=={version}" in pins, (version, sys.executable)
