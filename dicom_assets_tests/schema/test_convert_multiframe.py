"""Enhanced multi-frame objects: per-frame functional groups stay out of typed columns."""

from __future__ import annotations

import tracemalloc

import orjson
import pyarrow as pa

from dicom_assets.schema import ConversionOptions, convert_entries
from dicom_assets.schema.shredded import Shredded
from dicom_assets_tests.schema.feed_entries import entry_for

FRAMES = 3000


def enhanced_mr(frames: int) -> dict:
    """An enhanced MR's DICOM JSON with one functional-group item per frame (~1 KiB each)."""

    def sq(*items: dict) -> dict:
        return {"vr": "SQ", "Value": list(items)}

    per_frame = [
        {
            "00209111": sq(
                {
                    "00209156": {"vr": "US", "Value": [i + 1]},
                    "00189074": {"vr": "DT", "Value": [f"20261124101500.{i:06d}"]},
                    "00209157": {"vr": "UL", "Value": [1, i + 1]},
                }
            ),
            "00209113": sq({"00200032": {"vr": "DS", "Value": [-120.0, -120.0, i * 0.5]}}),
            "00209116": sq({"00200037": {"vr": "DS", "Value": [1, 0, 0, 0, 1, 0]}}),
            "00289110": sq(
                {
                    "00280030": {"vr": "DS", "Value": [0.47, 0.47]},
                    "00180050": {"vr": "DS", "Value": [0.5]},
                }
            ),
            "00289145": sq(
                {
                    "00281050": {"vr": "DS", "Value": [600]},
                    "00281051": {"vr": "DS", "Value": [1200]},
                }
            ),
            "00189226": sq({"00189082": {"vr": "FD", "Value": [float(i % 7)]}}),
        }
        for i in range(frames)
    ]
    return {
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.4.1"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00080060": {"vr": "CS", "Value": ["MR"]},
        "00280008": {"vr": "IS", "Value": [frames]},
        "52009229": sq({"00289110": sq({"00280030": {"vr": "DS", "Value": [0.47, 0.47]}})}),
        "52009230": {"vr": "SQ", "Value": per_frame},
        "7FE00010": {"vr": "OW", "BulkDataURI": "http://127.0.0.1/bulk/1"},
    }


def traced_peak(metadata: dict, options: ConversionOptions) -> tuple[pa.Table, int]:
    convert_entries([entry_for(enhanced_mr(2))], options)  # lazy imports are not the point
    tracemalloc.start()
    try:
        table = convert_entries([entry_for(metadata)], options).table
        return table, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_per_frame_groups_stay_in_metadata_within_bounded_memory():
    metadata = enhanced_mr(FRAMES)
    json_size = len(orjson.dumps(metadata))
    assert json_size > 1_500_000
    table, peak = traced_peak(metadata, ConversionOptions())
    assert "PerFrameFunctionalGroupsSequence" not in table.column_names
    assert table.column("SharedFunctionalGroupsSequence").to_pylist()[0] == [
        {"PixelMeasuresSequence": [{"PixelSpacing": [0.47, 0.47]}]}
    ]
    assert table.column("NumberOfFrames").to_pylist() == [FRAMES]
    typed_bytes = table.nbytes - table.column("_metadata").nbytes
    assert typed_bytes < 10_000  # the typed part of the row does not grow with frames
    # Python-side memory beyond the JSON text itself stays small (Arrow buffers: typed_bytes).
    assert peak < 3 * json_size

    typed_table, typed_peak = traced_peak(
        metadata, ConversionOptions(typed_sequence_exclusions=frozenset())
    )
    frames = typed_table.column("PerFrameFunctionalGroupsSequence").to_pylist()[0]
    assert len(frames) == FRAMES and frames[10]["PlanePositionSequence"] == [
        {"ImagePositionPatient": [-120.0, -120.0, 5.0]}
    ]
    assert typed_peak > peak  # what the switch saves


def test_item_cap_bounds_any_long_sequence():
    metadata = enhanced_mr(50)
    metadata["52009229"] = metadata.pop("52009230") | {}  # per-frame items under another name
    options = ConversionOptions(max_sequence_items=20)
    row = convert_entries([entry_for(metadata)], options).table.to_pylist()[0]
    assert row.get("SharedFunctionalGroupsSequence") is None and row["_invalid"] == []
    assert len(orjson.loads(row["_metadata"])["52009229"]["Value"]) == 50


def test_the_native_shredder_skips_per_frame_groups_too():
    metadata = enhanced_mr(FRAMES)
    payload = orjson.dumps(metadata)
    shredded = Shredded([payload], ConversionOptions())
    assert shredded.set_aside == []
    buffered = sum(
        len(b)
        for column in shredded.columns
        for value in column.values()
        for b in (value if isinstance(value, tuple) else (value,))
        if isinstance(b, bytes)
    )
    assert buffered < 5_000  # the typed part only: nothing per frame is buffered
    entry = entry_for(payload, uids=("1.2", "1.2.3", "1.2.3.4"))
    table = convert_entries([entry]).table
    assert "PerFrameFunctionalGroupsSequence" not in table.column_names
    assert table.column("NumberOfFrames").to_pylist() == [FRAMES]
    assert orjson.loads(table.column("_metadata")[0].as_py()) == metadata
