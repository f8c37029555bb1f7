"""Random and hostile DICOM JSON: the converter never raises and never loses an instance."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_assets.schema import ConversionOptions, ConvertedBatch, convert_entries
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets_tests.schema.feed_entries import entry_for
from dicom_assets_tests.schema.json_strategies import PAYLOADS, PLAUSIBLE


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PAYLOADS, max_size=6))
def test_never_raises_never_loses(payloads):
    entries = [entry_for(p, sequence=i) for i, p in enumerate(payloads)]
    batch = convert_entries(entries)
    table = batch.table
    rows = table.column("_sequence").to_pylist()
    quarantined = [q.entry.sequence for q in batch.quarantined]
    assert sorted(rows + quarantined) == list(range(len(payloads)))
    assert rows == sorted(rows)  # input order kept
    for q in batch.quarantined:
        assert q.reason and isinstance(q.raw_payload, str)
    table.validate(full=True)
    metadata = table.column("_metadata").to_pylist()
    for text, row in zip(metadata, rows):
        # Lone surrogates stay as \u escapes, which only a lenient parser (json) reads back.
        assert (text is None) == (entries[row].metadata is None)
        assert text is None or isinstance(json.loads(text), dict)
    assert batch.invalid_values == sum(len(i or []) for i in table.column("_invalid").to_pylist())
    # The batch is writable as Parquet (empty structs, bad UTF-8 and the like would fail here)
    # and every reader of the lake reads its types (no TIME, unsigned, zone-less timestamp...).
    pq.write_table(table, pa.BufferOutputStream())
    assert non_portable_fields(table.schema) == []


def test_absurd_nesting_is_bounded():
    item: dict = {"00080023": {"vr": "DA", "Value": ["20260102"]}}
    for _ in range(300):  # deeper than orjson's limit: serialised by the stdlib instead
        item = {"0040A730": {"vr": "SQ", "Value": [item]}}
    deeper = item
    for _ in range(5000):  # deeper than Python's recursion limit: quarantined, not raised
        deeper = {"0040A730": {"vr": "SQ", "Value": [deeper]}}
    batch = convert_entries([entry_for(item, 1), entry_for(deeper, 2)])
    assert batch.table.column("_sequence").to_pylist() == [1]
    assert json.loads(batch.table.column("_metadata")[0].as_py()) == item
    assert [q.entry.sequence for q in batch.quarantined] == [2]
    assert "JSON" in batch.quarantined[0].reason


def fast_and_reference(payloads: list) -> tuple[ConvertedBatch, ConvertedBatch]:
    """``payloads`` converted by the vectorised path and by the reference reader, which must
    give the same schema and the same rows: (vectorised, reference)."""
    entries = [entry_for(p, sequence=i) for i, p in enumerate(payloads)]
    fast = convert_entries(entries)
    reference = convert_entries(entries, ConversionOptions(vectorised=False))
    assert fast.table.schema == reference.table.schema
    assert fast.table.to_pylist() == reference.table.to_pylist()
    return fast, reference


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PAYLOADS, max_size=6))
def test_vectorised_path_equals_reference_reader(payloads):
    fast, reference = fast_and_reference(payloads)
    assert fast.invalid_values == reference.invalid_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PLAUSIBLE | st.none(), max_size=8))
def test_vectorised_path_equals_reference_on_plausible_json(payloads):
    # VRs are drawn regardless of the dictionary's: mismatches are part of the test.
    fast, _reference = fast_and_reference(payloads)
    pq.write_table(fast.table, pa.BufferOutputStream())
