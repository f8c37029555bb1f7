"""Arrow -> T-SQL types and the 1,020-column selection rule."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dicom_assets.schema.layout import HEAD_COLUMNS, TAIL_COLUMNS
from dicom_assets.sql.lake_schema import LakeColumn
from dicom_assets.sql.synapse.types import (
    UTF8_COLLATION,
    select_columns,
    string_size,
    tsql_type,
)
from dicom_assets_tests.sql.lake_files import PN


def _varchar(size: str) -> tuple[str, str]:
    return f"VARCHAR({size}) COLLATE {UTF8_COLLATION}", "varchar"


@pytest.mark.parametrize(
    "name, arrow_type, expected",
    [
        ("_sequence", pa.int64(), ("BIGINT", "bigint")),
        ("Rows", pa.int64(), ("BIGINT", "bigint")),
        ("SliceThickness", pa.float64(), ("FLOAT", "float")),
        ("StudyDate", pa.date32(), ("DATE", "date")),
        ("StudyTime", pa.string(), _varchar("15")),  # TM: HH:MM:SS.ffffff, ASCII
        ("AcquisitionDateTime", pa.timestamp("us", tz="UTC"), ("DATETIME2", "datetime2")),
        ("_timestamp", pa.timestamp("us", tz="UTC"), ("DATETIME2", "datetime2")),
        ("SOPInstanceUID", pa.string(), _varchar("256")),  # UI: 64 chars x 4 bytes
        ("Modality", pa.string(), _varchar("64")),  # CS: 16 chars
        ("StudyDescription", pa.large_string(), _varchar("256")),  # LO
        ("AccessionNumber", pa.string(), _varchar("64")),  # SH
        ("InstitutionAddress", pa.string(), _varchar("4096")),  # ST: 1024
        ("AdditionalPatientHistory", pa.string(), _varchar("MAX")),  # LT: 10240 x 4 > 8000
        ("RetrieveURL", pa.string(), _varchar("MAX")),  # UR: no maximum
        ("_action", pa.string(), _varchar("16")),
        ("_metadata", pa.string(), _varchar("MAX")),
        ("NotADicomKeyword", pa.string(), _varchar("MAX")),
        ("PatientName", PN, _varchar("MAX")),
        ("ImageType", pa.list_(pa.string()), _varchar("MAX")),
        ("PixelSpacing", pa.list_(pa.float64()), _varchar("MAX")),
        (
            "ProcedureCodeSequence",
            pa.list_(pa.struct([("CodeValue", pa.string())])),
            _varchar("MAX"),
        ),
        ("_private", pa.map_(pa.string(), pa.string()), _varchar("MAX")),
        ("Dict", pa.dictionary(pa.int32(), pa.string()), _varchar("MAX")),
        # Types the lake never writes (schema.portable) are left out, never guessed.
        ("StudyTime", pa.time64("us"), None),
        ("AcquisitionDateTime", pa.timestamp("us"), None),
        ("Unsigned", pa.uint64(), None),
        ("Half", pa.float16(), None),
        ("Nothing", pa.null(), None),
        ("Span", pa.duration("s"), None),
    ],
)
def test_type_mapping(name: str, arrow_type: pa.DataType, expected) -> None:
    assert tsql_type(name, arrow_type) == expected


def test_string_sizes_come_from_the_dictionary_vr() -> None:
    assert string_size("PatientID") == "256"  # LO
    assert string_size("PatientAge") == "16"  # AS: 4 chars
    assert string_size("TextValue") == "MAX"  # UT


def _lake(attributes: dict[str, int], rows: int = 100) -> list[LakeColumn]:
    fixed = [LakeColumn(name, pa.string(), rows) for name in HEAD_COLUMNS]
    fixed[0] = LakeColumn("_sequence", pa.int64(), rows)
    middle = [LakeColumn(name, pa.string(), count) for name, count in attributes.items()]
    trailing = [LakeColumn(name, pa.string(), rows) for name in TAIL_COLUMNS]
    return fixed + middle + trailing


def test_everything_fits_keeps_lake_order() -> None:
    selection = select_columns(_lake({"Modality": 90, "BodyPartExamined": 5}), 1020)
    assert [c.name for c in selection.columns] == [
        *HEAD_COLUMNS,
        "Modality",
        "BodyPartExamined",
        *TAIL_COLUMNS,
    ]
    assert selection.left_out == []


def test_most_present_attributes_win_ties_by_name() -> None:
    attributes = {"Zeta": 50, "Alpha": 10, "Beta": 50, "Gamma": 70, "Delta": 10}
    selection = select_columns(_lake(attributes), len(HEAD_COLUMNS) + len(TAIL_COLUMNS) + 3)
    # Gamma (70), then Beta and Zeta (50, by name); Alpha/Delta (10) are left out.
    assert [c.name for c in selection.columns] == [
        *HEAD_COLUMNS,
        "Zeta",
        "Beta",
        "Gamma",
        *TAIL_COLUMNS,
    ]
    assert selection.left_out == ["Alpha", "Delta"]


def test_wide_lake_is_capped_at_1020_with_contract_columns_kept() -> None:
    attributes = {f"Attribute{i:04d}": i for i in range(1, 1101)}  # 1,100 attributes
    selection = select_columns(_lake(attributes), 1020)
    names = [c.name for c in selection.columns]
    assert len(names) == 1020
    assert names[:6] == list(HEAD_COLUMNS) and names[-3:] == list(TAIL_COLUMNS)
    kept = names[6:-3]
    assert len(kept) == 1011
    # The 1,011 most present ones: Attribute0090 .. Attribute1100.
    assert kept == [f"Attribute{i:04d}" for i in range(90, 1101)]
    assert selection.left_out == [f"Attribute{i:04d}" for i in range(1, 90)]


def test_unusable_columns_are_left_out() -> None:
    lake = _lake({"Modality": 90, "modality": 80, "Bad\nName": 100})
    lake.insert(7, LakeColumn("AlwaysNull", pa.null(), 0))
    selection = select_columns(lake, 1020)
    names = [c.name for c in selection.columns]
    assert "Modality" in names
    assert selection.left_out == ["AlwaysNull", "modality", "Bad\nName"]


def test_missing_contract_columns_raise() -> None:
    lake = [c for c in _lake({}) if c.name != "_metadata"]
    with pytest.raises(ValueError, match="_metadata"):
        select_columns(lake, 1020)
    with pytest.raises(ValueError, match="contract columns"):
        select_columns([], 1020)


def test_optional_trailing_columns_may_be_absent() -> None:
    lake = [c for c in _lake({"Modality": 3}) if c.name not in ("_private", "_invalid")]
    names = [c.name for c in select_columns(lake, 1020).columns]
    assert names == [*HEAD_COLUMNS, "Modality", "_metadata"]


def test_every_column_the_lake_writer_produces_maps_to_tsql(tmp_path) -> None:
    """The real converter's output for recorded Azure change-feed entries (Parquet round trip)."""
    import json
    from pathlib import Path

    import fsspec

    from dicom_assets.schema.convert import convert_entries
    from dicom_assets.sources.azure.entry import entry_from_json
    from dicom_assets.sql.lake_schema import read_lake_schema
    from dicom_assets_tests.sql.lake_files import START, write_part

    page = Path(__file__).parents[2] / "data" / "azure" / "changefeed-v1-page.json"
    entries = [entry_from_json(raw) for raw in json.loads(page.read_text())]
    table = convert_entries(entries).table
    fs = fsspec.filesystem("file")
    root = str(tmp_path / "result" / "Dicom")
    write_part(fs, root, START, table)
    columns, total = read_lake_schema(fs, root)
    assert total == len(entries) and len(columns) == table.num_columns
    selection = select_columns(columns, 1020)
    assert selection.left_out == [c.name for c in columns if pa.types.is_null(c.arrow_type)]
    types = {c.name: c.sql_type for c in selection.columns}
    assert types["_private"] == types["_invalid"] == types["_metadata"] == _varchar("MAX")[0]
    assert types["_timestamp"] == "DATETIME2" and types["_sequence"] == "BIGINT"
    assert types["PatientName"] == _varchar("MAX")[0]  # PN struct -> JSON text
    assert types["SOPClassUID"] == _varchar("256")[0]
    assert types["StudyTime"] == _varchar("15")[0] and types["StudyDate"] == "DATE"
