import pyarrow.parquet as pq

from dicom_assets.schema import convert_entries
from dicom_assets.schema.parquet import parquet_write_options
from dicom_assets_tests.schema.feed_entries import entry_for


def test_options_write_a_readable_file_with_delta_encoded_clocks(tmp_path):
    md = {"00080030": {"vr": "TM", "Value": ["101500"]}, "00100020": {"vr": "LO", "Value": ["P"]}}
    table = convert_entries([entry_for(md, i) for i in range(1, 50)]).table
    options = parquet_write_options(table.schema)
    assert "_metadata" not in options["use_dictionary"]
    pq.write_table(table, tmp_path / "t.parquet", **options)
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings
                 for i in range(meta.num_columns)}
    for column in ("_sequence", "_timestamp", "StudyTime"):
        assert "DELTA_BINARY_PACKED" in encodings[column]
