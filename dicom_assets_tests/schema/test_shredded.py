"""The native shredder (metadata as JSON bytes) gives the same tables as the Python path."""

import json
import os

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_assets.native import available
from dicom_assets.schema import ConversionOptions, convert_entries
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets.schema.row_head import metadata_json
from dicom_assets.schema.shredded import Shredded
from dicom_assets_tests.schema.feed_entries import entry_for
from dicom_assets_tests.schema.json_spellings import spelled
from dicom_assets_tests.schema.json_strategies import PAYLOADS, PLAUSIBLE

UIDS = ("1.2.3", "1.2.3.4", "1.2.3.4.5")
PYTHON_PATH = ConversionOptions(native=False)
# Under the sanitizers (fuzz/test_sanitized.py) each example costs several times more.
EXAMPLES = 300 // (4 if os.environ.get("DICOM_ASSETS_SANITIZED") else 1)


def as_bytes(payload, indent: bool = False) -> bytes | None:
    if payload is None:
        return None
    if indent:
        return json.dumps(payload, indent=1, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return metadata_json(payload)


def comparable(table: pa.Table) -> list[dict]:
    rows = table.to_pylist()
    for row in rows:
        if row["_metadata"] is not None:
            row["_metadata"] = json.loads(row["_metadata"])
    return rows


def assert_same_as_python_path(payloads: list[bytes | None]) -> None:
    entries = [entry_for(p, sequence=i, uids=UIDS) for i, p in enumerate(payloads)]
    native = convert_entries(entries)
    python = convert_entries(entries, PYTHON_PATH)
    assert native.table.schema == python.table.schema
    assert comparable(native.table) == comparable(python.table)
    assert native.invalid_values == python.invalid_values
    assert [(q.entry.sequence, q.reason) for q in native.quarantined] == [
        (q.entry.sequence, q.reason) for q in python.quarantined
    ]
    pq.write_table(native.table, pa.BufferOutputStream())
    assert non_portable_fields(native.table.schema) == []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PLAUSIBLE | st.none(), max_size=8), st.booleans())
def test_plausible_json_converts_as_the_python_path(payloads, indent):
    assert_same_as_python_path([as_bytes(p, indent) for p in payloads])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_spelling_of_plausible_json_converts_as_the_python_path(data):
    # Escaped names and texts, exponents, "-0", whitespace: one meaning on both paths.
    payloads = data.draw(st.lists(PLAUSIBLE | st.none(), max_size=6))
    assert_same_as_python_path([None if p is None else data.draw(spelled(p)) for p in payloads])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PAYLOADS, max_size=6))
def test_hostile_json_converts_as_the_python_path(payloads):
    encoded = []
    for payload in payloads:
        try:
            encoded.append(as_bytes(payload))
        except (ValueError, TypeError, RecursionError):
            continue
    assert_same_as_python_path(encoded)


def test_the_shredder_is_built():
    # The install compiles it (scripts/bootstrap.sh provides gcc): never skip these tests quietly.
    assert available()


def test_realistic_instances_take_the_native_path(synthetic_metadata, pydicom_metadata):
    # Not a fallback in disguise: every realistic payload is read natively.
    for metadata in [*synthetic_metadata, *pydicom_metadata]:
        assert Shredded([orjson.dumps(metadata)], ConversionOptions()).set_aside == []
    assert_same_as_python_path([orjson.dumps(m) for m in synthetic_metadata])
    assert_same_as_python_path([orjson.dumps(m) for m in pydicom_metadata])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"00100010": {"vr": "PN"', "expected ',' or '}'"),
        (b'{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "\\ud800"}]}}', "lone surrogate"),
        (b'{"0010001a": {"vr": "LO", "Value": ["x"]}}', "8 upper-case hex"),
        (b'{"00100020": {"vr": "LO"}, "00100020": {"vr": "LO"}}', "duplicate tag key"),
        (b'{"00180050": {"vr": "DS", "Value": ["Infinity"]}}', "not a number"),
        (b'{"00180050": {"vr": "DS", "Value": ["\\u00a02"]}}', "not ASCII"),
        (b'{"00180050": {"vr": "DS", "Value": ["2\xd9\xa3"]}}', "not ASCII"),
        (b'{"00100010": {"vr": "PN", "Value": ["Doe^J"]}}', "not an object"),
        (b'{"00200013": {"vr": "IS", "Value": ["9007199254740993"]}}', "exact range"),
        (b'{"00200013": {"vr": "IS", "Value": [9007199254740993]}}', "exact range"),
        (b'{"00080060": {"vr": "CS", "Value": ["\xff"]}}', "invalid UTF-8"),
        (b"[]", "not a JSON object"),
    ],
)
def test_what_the_shredder_leaves_to_the_python_path(payload, reason):
    plain = b'{"00080060": {"vr": "CS", "Value": ["CT"]}}'
    source = Shredded([plain, payload, plain], ConversionOptions())
    assert [index for index, _ in source.set_aside] == [1]
    assert reason in source.set_aside[0][1]
    assert source.kept == [0, 2] and source.n == 2  # the others stay native
    assert_same_as_python_path([plain, payload, plain])
    batch = convert_entries(
        [entry_for(p, sequence=i, uids=UIDS) for i, p in enumerate([plain, payload, plain])]
    )
    assert batch.rows_by_reader["native"] == 2
    assert batch.rows_by_reader["python"] == batch.table.num_rows - 2


# IS/DS written as JSON strings (valid DICOM JSON, written by some servers): read natively, as
# the Python path reads such texts (stripped, blank = empty, float(text)'s value and sign).
@pytest.mark.parametrize(
    ("text", "ds", "is_"),
    [
        ("1.5", 1.5, None),
        (" 2 ", 2.0, 2),
        ("1e3", 1000.0, 1000),
        ("+5", 5.0, 5),
        (".5", 0.5, None),
        ("5.", 5.0, 5),
        ("007", 7.0, 7),
        ("-0", -0.0, 0),
        ("1E-400", 0.0, 0),
        ("0.30000000000000004", 0.30000000000000004, None),
        ("123456789012345678e-3", 123456789012345.678, None),
        ("\\t4\\n", 4.0, 4),
        ("\\u001c4", 4.0, 4),
        ("", None, None),
        ("   ", None, None),
    ],
)
def test_numbers_written_as_texts_are_read_natively(text, ds, is_):
    value = f'{{"vr": "DS", "Value": ["{text}"]}}'
    payload = (
        f'{{"00180050": {value}, "00200013": {value.replace("DS", "IS")},'
        f' "00280030": {{"vr": "DS", "Value": ["{text}", 1]}}}}'
    ).encode()
    assert Shredded([payload], ConversionOptions()).set_aside == []
    assert_same_as_python_path([payload])
    row = convert_entries([entry_for(payload, uids=UIDS)]).table.to_pylist()[0]
    assert row["SliceThickness"] == ds and str(row["SliceThickness"]) == str(ds)  # sign of 0
    assert row["InstanceNumber"] == is_
    assert row["PixelSpacing"] == [ds, 1.0]
    invalid = ["InstanceNumber"] if is_ is None and ds is not None else []
    assert row["_invalid"] == invalid


# Values invalid for every VR of their column's carrier: the element is null and listed in
# _invalid on the Python path; natively too, without handing the instance over.
@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        ("00180050", "DS", '"1,5"'),
        ("00180050", "DS", '"x"'),
        ("00180050", "DS", '"1e999"'),
        ("00180050", "DS", '"."'),
        ("00180050", "DS", '"NAN"'),
        ("00200013", "IS", '"5e"'),
        ("00280030", "DS", '{"a": 1}'),
        ("00280030", "DS", "[1]"),
        ("00100020", "LO", "5"),
        ("00080020", "DA", "true"),
        ("00080060", "CS", '{"x": "\\u00e9"}'),
    ],
)
def test_values_invalid_for_their_carrier_are_read_natively(tag, vr, value):
    payload = f'{{"{tag}": {{"vr": "{vr}", "Value": [{value}, null]}}}}'.encode()
    assert Shredded([payload], ConversionOptions()).set_aside == []
    assert_same_as_python_path([payload])
    row = convert_entries([entry_for(payload, uids=UIDS)]).table.to_pylist()[0]
    assert len(row["_invalid"]) == 1


def test_booleans_in_numeric_values_are_read_natively_as_one_and_zero():
    payload = (
        b'{"00280030": {"vr": "DS", "Value": [true, false]},'
        b' "00200013": {"vr": "IS", "Value": [true]}}'
    )
    assert Shredded([payload], ConversionOptions()).set_aside == []
    assert_same_as_python_path([payload])
    row = convert_entries([entry_for(payload, uids=UIDS)]).table.to_pylist()[0]
    assert row["PixelSpacing"] == [1.0, 0.0] and row["InstanceNumber"] == 1


def test_metadata_is_the_payload_without_insignificant_whitespace():
    payload = b'{ "00100010" : {\n "vr": "PN", "Value": [ {"Alphabetic": "Doe ^ John"} ] } }'
    entries = [entry_for(payload, uids=UIDS), entry_for(None, sequence=2, uids=UIDS)]
    table = convert_entries(entries).table
    assert table.column("_metadata").to_pylist() == [
        '{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Doe ^ John"}]}}',
        None,
    ]
    assert table.column("PatientName").to_pylist() == [
        {"Alphabetic": "Doe ^ John", "Ideographic": None, "Phonetic": None},
        None,
    ]


@pytest.mark.parametrize(
    "creator_value", [["ACME 1.0"], ["ACME  ", "second"], [], None, [None, "x"], [""], ["é\u00e8"]]
)
def test_private_creators_are_read_natively_as_the_python_path_reads_them(creator_value):
    other = {"00090010": {"vr": "LO", "Value": ["OTHER"]}, "00091001": {"vr": "LO", "Value": ["b"]}}
    odd = {
        "00090010": {"vr": "LO", **({} if creator_value is None else {"Value": creator_value})},
        "00091001": {"vr": "DS", "Value": [1.5]},
    }
    payloads = [orjson.dumps(other), orjson.dumps(odd), orjson.dumps({})]
    assert Shredded(payloads, ConversionOptions()).set_aside == []  # native, not a fallback
    assert_same_as_python_path(payloads)
    row = convert_entries([entry_for(payloads[1], uids=UIDS)]).table.to_pylist()[0]
    first = (creator_value or [None])[0]
    assert [entry["creator"] for entry in row["_private"]] == [first]
