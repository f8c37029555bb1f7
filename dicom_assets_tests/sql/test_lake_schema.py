"""read_lake_schema on real Parquet files: local folders, a memory filesystem and Azurite (abfs)."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dicom_assets.sql.lake_schema import LakeColumn, parquet_files, read_lake_schema
from dicom_assets_tests.conftest import ROW_HEAD
from dicom_assets_tests.sql.lake_files import CODE_ITEM, PN, START, part_table, write_part

ROWS_A = [
    {"action": "create", "study": "1.1", "series": "1.1.1", "sop": f"1.1.1.{i}", "modality": "CT"}
    for i in range(5)
]
ROWS_B = [
    {"action": "update", "study": "1.1", "series": "1.1.1", "sop": "1.1.1.0", "modality": "CT"},
    {"action": "delete", "study": "1.1", "series": "1.1.1", "sop": "1.1.1.1"},
    {"action": "create", "study": "2.2", "series": "2.2.1", "sop": "2.2.1.0", "modality": "MR"},
]


def _extra_a() -> dict[str, pa.Array]:
    return {
        # PN struct: one null struct, one struct whose Alphabetic is null (still present).
        "PatientName": pa.array(
            [
                {"Alphabetic": "Doe^J"},
                None,
                {"Alphabetic": None, "Ideographic": "x"},
                {"Alphabetic": "Roe^R"},
                {"Alphabetic": "Poe^P"},
            ],
            PN,
        ),
        # Multi-valued CS: a null list, an empty list (present) and a list holding a null.
        "ImageType": pa.array(
            [["ORIGINAL", "PRIMARY"], None, [], [None], ["DERIVED"]], pa.list_(pa.string())
        ),
        "StudyDate": pa.array([START.date()] * 3 + [None, None], pa.date32()),
        # A sequence: null in two rows, an item with only nulls in one.
        "ProcedureCodeSequence": pa.array(
            [[{"CodeValue": "1", "CodeMeaning": "a"}], None, [{"CodeValue": None}], None, []],
            pa.list_(CODE_ITEM),
        ),
    }


def _extra_b() -> dict[str, pa.Array]:
    return {
        "PatientName": pa.array([{"Alphabetic": "Doe^J"}, None, {"Alphabetic": "Zed^Z"}], PN),
        "SliceThickness": pa.array([1.5, None, 2.0], pa.float64()),  # a column only B has
    }


EXPECTED_PRESENT = {
    "_sequence": 8,
    "_timestamp": 8,
    "_action": 8,
    "StudyInstanceUID": 8,
    "SeriesInstanceUID": 8,
    "SOPInstanceUID": 8,
    "Modality": 7,
    "PatientName": 6,
    "ImageType": 4,
    "StudyDate": 3,
    "ProcedureCodeSequence": 3,
    "_private": 0,
    "_invalid": 0,
    "_metadata": 7,
    "SliceThickness": 2,
}


def _write_lake(fs: fsspec.AbstractFileSystem, root: str, **options) -> None:
    hour = START.replace(minute=0)
    write_part(fs, root, hour, part_table(1, ROWS_A, _extra_a()), **options)
    write_part(fs, root, hour.replace(hour=11), part_table(6, ROWS_B, _extra_b()), **options)


def _check(columns: list[LakeColumn], total: int) -> None:
    assert total == 8
    assert {c.name: c.rows_present for c in columns} == EXPECTED_PRESENT
    names = [c.name for c in columns]
    # Unified order: first file's columns, then columns new in later files.
    assert names[:7] == [*ROW_HEAD, "Modality"]
    assert names[-1] == "SliceThickness"
    types = {c.name: c.arrow_type for c in columns}
    assert types["_timestamp"] == pa.timestamp("us", tz="UTC")
    assert types["PatientName"] == PN
    assert types["ProcedureCodeSequence"] == pa.list_(CODE_ITEM)
    assert types["StudyDate"] == pa.date32()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"row_group_size": 2},  # counts summed over row groups
        {"write_statistics": False},  # no statistics: columns are read instead
    ],
    ids=["one-row-group", "row-groups", "no-statistics"],
)
def test_local_lake_schema_and_row_counts(tmp_path: Path, options: dict) -> None:
    fs = fsspec.filesystem("file")
    root = str(tmp_path / "lake" / "result" / "Dicom")
    _write_lake(fs, root, **options)
    _check(*read_lake_schema(fs, root))


def test_other_files_are_ignored(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    lake = tmp_path / "lake"
    root = str(lake / "result" / "Dicom")
    _write_lake(fs, root)
    stray = part_table(100, ROWS_B, {"Rows": pa.array([1, 2, 3], pa.int64())})
    # A quarantine sibling (prefix "Dicom"), a file being written, a marker file, a JSON file.
    quarantine = lake / "result" / "Dicom_Quarantine"
    quarantine.mkdir(parents=True)
    pq.write_table(stray, quarantine / "part-100-102.parquet")
    hidden = Path(root) / "2026" / "03" / "01" / "10"
    pq.write_table(stray, hidden / ".part-100-102.parquet")
    pq.write_table(stray, hidden / "_part-100-102.parquet")
    (hidden / "report.json").write_text("{}")
    assert len(parquet_files(fs, root)) == 2
    _check(*read_lake_schema(fs, root))


def test_missing_or_empty_root(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    assert read_lake_schema(fs, str(tmp_path / "nowhere")) == ([], 0)
    (tmp_path / "empty").mkdir()
    assert read_lake_schema(fs, str(tmp_path / "empty")) == ([], 0)


def test_conflicting_types_name_the_file(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    root = str(tmp_path / "result" / "Dicom")
    hour = START.replace(minute=0)
    write_part(fs, root, hour, part_table(1, ROWS_A, {"Rows": pa.array(range(5), pa.int64())}))
    bad = part_table(6, ROWS_B, {"Rows": pa.array(["a", "b", "c"], pa.string())})
    path = write_part(fs, root, hour.replace(hour=11), bad)
    with pytest.raises(ValueError, match="part-6-8.parquet"):
        read_lake_schema(fs, root)
    assert path.endswith("part-6-8.parquet")


def test_memory_filesystem_with_protocol_root() -> None:
    fs = fsspec.filesystem("memory")
    root = "memory://lake-under-test/result/Dicom"
    try:
        _write_lake(fs, "/lake-under-test/result/Dicom")
        _check(*read_lake_schema(fs, root))
    finally:
        fs.rm("/lake-under-test", recursive=True)


def test_abfs_lake_on_azurite(azurite_connection_string: str) -> None:
    fs = fsspec.filesystem("abfs", connection_string=azurite_connection_string)
    fs.mkdir("dicomlake")
    _write_lake(fs, "dicomlake/lake/result/Dicom")
    # A sibling whose name starts like the root must not be read.
    write_part(
        fs,
        "dicomlake/lake/result/Dicom_Quarantine",
        START,
        part_table(50, ROWS_B, {"Rows": pa.array([1, 2, 3], pa.int64())}),
    )
    _check(*read_lake_schema(fs, "abfs://dicomlake/lake/result/Dicom"))
