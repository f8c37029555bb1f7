import pyarrow.parquet as pq

from dicom_assets.lake.parquet_options import parquet_write_options
from dicom_assets.schema import convert_entries
from dicom_assets_tests.schema.feed_entries import entry_for


def _encodings(path):
    meta = pq.ParquetFile(path).metadata.row_group(0)
    return {
        meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)
    }


def test_options_write_a_readable_file_with_delta_encoded_clocks(tmp_path):
    table = convert_entries(
        [
            entry_for(
                {
                    "00080030": {"vr": "TM", "Value": ["101500"]},
                    "00100020": {"vr": "LO", "Value": ["P"]},
                    "0008002A": {"vr": "DT", "Value": [f"20261124101500.{i:06d}"]},
                },
                i,
            )
            for i in range(1, 50)
        ]
    ).table
    options = parquet_write_options(table.schema)
    assert "_metadata" not in options["use_dictionary"]
    pq.write_table(table, tmp_path / "t.parquet", **options)
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
    encodings = _encodings(tmp_path / "t.parquet")
    for column in ("_sequence", "_timestamp", "AcquisitionDateTime"):
        assert "DELTA_BINARY_PACKED" in encodings[column]
    assert "RLE_DICTIONARY" in encodings["StudyTime"]  # TM is text (docs/schema.md)
    assert not any("DICT" in e for e in encodings["_metadata"])


def test_nested_leaves_are_dictionary_encoded(tmp_path):
    """Options apply by leaf path: a sequence's fields and PN components get a dictionary too
    (keyed by top-level name they would silently get none)."""
    md = {
        "00081140": {
            "vr": "SQ",
            "Value": [{"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]}}],
        },
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
        "00200032": {"vr": "DS", "Value": [1.5, 2.5, 3.5]},
    }
    table = convert_entries([entry_for(md, i) for i in range(1, 200)]).table
    pq.write_table(table, tmp_path / "t.parquet", **parquet_write_options(table.schema))
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
    encodings = _encodings(tmp_path / "t.parquet")
    for leaf in (
        "ReferencedImageSequence.list.element.ReferencedSOPClassUID",
        "PatientName.Alphabetic",
        "ImagePositionPatient.list.element",
    ):
        assert "RLE_DICTIONARY" in encodings[leaf], (leaf, encodings[leaf])
