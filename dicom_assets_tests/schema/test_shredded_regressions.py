"""What fuzzing found in the native reader (issue 14), each pinned: valid JSON means the same
natively and on the Python path, and no input reads or writes out of bounds (test_sanitized.py
runs this file again under AddressSanitizer and UndefinedBehaviorSanitizer)."""

import gc
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from dicom_assets import native
from dicom_assets.lake.sync_report import SyncReport
from dicom_assets.lake.window_sync import SyncMode
from dicom_assets.native import split_array, split_member
from dicom_assets.schema import ConversionOptions, convert_entries, shredded
from dicom_assets.schema.shredded import Shredded
from dicom_assets_tests.fuzz.targets import assert_same
from dicom_assets_tests.schema.feed_entries import entry_for

UIDS = ("1.2.3", "1.2.3.4", "1.2.3.4.5")
OPTIONS = ConversionOptions()


def _row(payload: bytes, options: ConversionOptions = OPTIONS) -> dict:
    return convert_entries([entry_for(payload, uids=UIDS)], options).table.to_pylist()[0]


def _exact(data: bytes) -> memoryview:
    return memoryview(np.frombuffer(data, np.uint8).copy())


@pytest.mark.parametrize(
    ("payload", "column", "expected"),
    [
        (rb'{"00100020":{"vr":"LO","V\u0061lue":["X"]}}', "PatientID", "X"),
        (rb'{"00100020":{"\u0076r":"LO","Value":["X"]}}', "PatientID", "X"),
        (rb'{"\u00300100020":{"vr":"LO","Value":["X"]}}', "PatientID", "X"),
        (
            rb'{"00100010":{"vr":"PN","Value":[{"Alph\u0061betic":"Doe^J"}]}}',
            "PatientName",
            {"Alphabetic": "Doe^J", "Ideographic": None, "Phonetic": None},
        ),
        (
            rb'{"00081140":{"vr":"SQ","Value":[{"0008115\u0030":{"vr":"UI","V\u0061lue":["1.2"]}}]}}',
            "ReferencedImageSequence",
            [{"ReferencedSOPClassUID": "1.2"}],
        ),
    ],
)
def test_escaped_member_names_are_read_natively_as_spelled(payload, column, expected):
    assert Shredded([payload], OPTIONS).set_aside == []  # read natively, not handed over
    assert _row(payload)[column] == expected
    assert_same([payload])


def test_escaped_private_members_and_creators_are_read_natively():
    payload = (
        rb'{"00090010":{"vr":"LO","V\u0061lue":["ACME"]},'
        rb'"00091010":{"\u0076r":"LO","V\u0061lue":["x"]}}'
    )
    assert Shredded([payload], OPTIONS).set_aside == []
    assert _row(payload)["_private"] == [
        {"creator": "ACME", "tag": "00091010", "vr": "LO", "value": "x"}
    ]
    assert_same([payload])


def test_a_plain_and_an_escaped_spelling_of_one_member_are_a_duplicate():
    payload = rb'{"00100020":{"vr":"LO","Value":["A"],"V\u0061lue":["B"]}}'
    assert "duplicate Value" in Shredded([payload], OPTIONS).set_aside[0][1]
    assert _row(payload)["PatientID"] == "B"  # the last member wins, as when parsed
    assert_same([payload])


def test_splitters_compare_decoded_keys_and_the_last_spelling_wins():
    body = (
        rb'[{"0020000D":{"vr":"UI","Value":["1"]},"\u0030020000D":{"vr":"UI",'
        rb'"V\u0061lue":["2"]}},{"\u0030020000E":{"vr":"UI","Value":["3"]}}]'
    )
    assert [ids for _, ids in split_array(body, ("0020000D", "0020000E"))] == [("2", ""), ("", "3")]
    page = rb'[{"m\u0065tadata":{"00100020":{"vr":"LO","Value":["X"]}},"sequence":1}]'
    [(rest, value)] = split_member(page, "metadata")
    assert orjson.loads(rest) == {"metadata": None, "sequence": 1}
    assert orjson.loads(value) == {"00100020": {"vr": "LO", "Value": ["X"]}}
    assert split_member(rb'[{"metadata":{"a":1},"m\u0065tadata":{"b":2}}]', "metadata") is None


@pytest.mark.parametrize("value", [b'"abc"', b'""', b"7", b"{}"])
def test_a_private_value_that_is_not_an_array_renders_as_null_on_both_paths(value):
    payload = b'{"00091010":{"vr":"LO","Value":' + value + b"}}"
    entry = _row(payload)["_private"]
    assert entry == [{"creator": None, "tag": "00091010", "vr": "LO", "value": None}]
    assert_same([payload, b'{"00091010":{"vr":"LO","Value":["d","e"]}}'])


def test_negative_zero_follows_one_rule_on_both_paths():
    # A JSON integer -0 is the integer 0; the floats -0.0 and -0e0 keep their sign.
    payload = (
        b'{"00180050":{"vr":"DS","Value":[-0]},"00280030":{"vr":"DS","Value":[-0.0,-0e0]},'
        b'"00091011":{"vr":"DS","Value":[-0,-0.0]}}'
    )
    for options in (OPTIONS, ConversionOptions(native=False)):
        row = _row(payload, options)
        assert math.copysign(1.0, row["SliceThickness"]) == 1.0
        assert [math.copysign(1.0, v) for v in row["PixelSpacing"]] == [-1.0, -1.0]
        assert row["_private"][0]["value"] == "0\\-0"
    assert_same([payload])


@pytest.mark.parametrize(
    "body", [b'[{"0020000D":', b'[{"0020000D":{"Value":', b'[{"0020000D":{"Value":["1"', b"[{"]
)
def test_truncated_answers_are_refused_without_reading_past_their_end(body):
    assert isinstance(native._shredder.split_array(_exact(body), ("0020000D",)), str)
    member = body.replace(b"0020000D", b"metadata")
    assert isinstance(native._shredder.split_member(_exact(member), "metadata"), str)


@pytest.mark.parametrize(
    "payload",
    [b'{"00091010":', b'{"00091010":{', b'{"00100020":', b'{"00091010":{"vr":"LO","Value":["a"'],
)
def test_truncated_elements_are_set_aside(payload):
    [(index, reason)] = Shredded([payload], OPTIONS).set_aside
    assert index == 0 and ("end" in reason or "expected" in reason or "not an object" in reason)
    assert_same([payload])


def test_an_empty_first_string_is_read():  # memcpy(NULL, src, 0) before: undefined behaviour
    payload = b'{"00100020":{"vr":"LO","Value":[""]},"00091010":{"vr":"LO","Value":[""]}}'
    assert Shredded([payload], OPTIONS).set_aside == []
    assert_same([payload])


def test_numbers_are_read_the_same_in_a_decimal_comma_locale(tmp_path: Path):
    locales = tmp_path / "locales"
    locales.mkdir()
    subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", str(locales / "de_DE.UTF-8")],
        capture_output=True,
        check=False,
    )  # exit status 1: warnings only
    assert (locales / "de_DE.UTF-8" / "LC_NUMERIC").exists()
    script = (
        "import os\n"
        "if os.environ.get('DICOM_ASSETS_SANITIZED'):\n"
        "    from dicom_assets_tests.fuzz import sanitizer; sanitizer.install()\n"
        "import locale; locale.setlocale(locale.LC_NUMERIC, 'de_DE.UTF-8')\n"
        "assert locale.localeconv()['decimal_point'] == ','\n"
        "from dicom_assets_tests.schema.test_shredded_regressions import _row\n"
        'payload = b\'{"00280030":{"vr":"DS","Value":[1.5e-30,0.30000000000000004]}}\'\n'
        "print(repr(_row(payload)['PixelSpacing']))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "LOCPATH": str(locales)},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "[1.5e-30, 0.30000000000000004]"


def test_the_temporal_kernel_refuses_offsets_whose_bounds_overflow():
    kernel = native._temporal
    offsets = np.zeros(4, np.int32)
    for offset in (2**61, 2**62 - 1, 3):
        with pytest.raises(ValueError, match="too short"):
            kernel.parse(0, 1, offset, offsets, b"")
    _, slow = kernel.parse(0, 1, 2, offsets, b"")  # the last offsets pair: in bounds
    assert slow == b"\x01"


def test_shred_holds_its_payloads_while_kind_of_runs():
    text = b'{"00100020":{"vr":"LO","Value":["abcdefgh"]},"00100021":{"vr":"LO","Value":["ij"]}}'
    payloads = [bytes(bytearray(text))]
    kinds = shredded._kind_of(OPTIONS)
    garbage = []

    def kind_of(key: str, depth: int) -> int:
        payloads.clear()  # frees the caller's reference to the payload being read
        gc.collect()
        garbage.extend(bytes(bytearray(b"\xff" * len(text))) for _ in range(64))
        return kinds(key, depth)

    columns, metadata, _, set_aside = native._shredder.shred(payloads, kind_of)
    assert set_aside == [] and metadata == text
    texts = {c["key"]: c["s_data"] for c in columns}
    assert texts == {"00100020": b"abcdefgh", "00100021": b"ij"}
    with pytest.raises(ValueError, match="unknown kind"):
        native._shredder.shred([text], lambda key, depth: 9)


def test_batches_are_shredded_in_parts_under_the_offset_bound(monkeypatch):
    payloads = [
        orjson.dumps(
            {
                "00100020": {"vr": "LO", "Value": [f"P{i}"]},
                "00180050": {"vr": "DS", "Value": [i + 0.5]},
            }
        )
        for i in range(7)
    ]
    # Set aside: a duplicate key (the Python path reads the last one).
    payloads[3] = b'{"00180050":{"vr":"DS","Value":[0]},"00180050":{"vr":"DS","Value":[3.5]}}'
    monkeypatch.setattr(native, "SHRED_BATCH_BYTES", 2 * len(payloads[0]))
    batch = convert_entries([entry_for(p, sequence=i, uids=UIDS) for i, p in enumerate(payloads)])
    assert batch.rows_by_reader == {"native": 6, "python": 1}
    assert batch.table.column("SliceThickness").to_pylist() == [i + 0.5 for i in range(7)]
    assert_same(payloads)


def test_the_shredder_refuses_a_batch_over_2_gib():
    # One object three times: 2.1 GB of payloads, 700 MB of memory.
    big = b" " * 750_000_000
    with pytest.raises(ValueError, match="2 GiB"):
        native._shredder.shred([big, big, big], shredded._kind_of(OPTIONS))


def test_one_odd_instance_leaves_the_rest_of_the_batch_native():
    payloads = [
        orjson.dumps(
            {"00100020": {"vr": "LO", "Value": [f"P{i}"]}, "00280010": {"vr": "US", "Value": [512]}}
        )
        for i in range(100)
    ]
    payloads[41] = (
        # A number text with a non-ASCII space: the Python path strips it, the shredder defers
        b'{"00100020":{"vr":"LO","Value":["P41"]},"00280010":{"vr":"US","Value":["\u00a0512"]}}'
    )
    entries = [entry_for(p, sequence=i, uids=UIDS) for i, p in enumerate(payloads)]
    batch = convert_entries(entries)
    assert batch.rows_by_reader == {"native": 99, "python": 1}
    assert batch.table.column("PatientID").to_pylist() == [f"P{i}" for i in range(100)]
    assert_same(payloads)
    report = SyncReport(mode=SyncMode.INCREMENTAL, after_sequence=0)
    report.add_batch(batch)
    report.add_batch(convert_entries(entries[:10], ConversionOptions(native=False)))
    metadata = report.metadata("/lake/window")
    assert metadata["rows_native"].value == 99 and metadata["rows_python"].value == 11


@pytest.mark.parametrize("nested", [False, True])
def test_parts_merge_as_one_conversion_when_only_the_odd_part_types_a_sequence(nested):
    # Found by the convert fuzz target: a part converted alone leaves out a sequence (or an
    # item field) whose items carry no typed attribute there; one conversion gives it [].
    empty = {"00400008": {"vr": "SQ"}, "00400009": {"vr": "SH", "Value": ["SPS1"]}}
    typed = {"00400008": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["C"]}}]}}
    if nested:
        plain = {"00400275": {"vr": "SQ", "Value": [empty]}}
        odd = {"00400275": {"vr": "SQ", "Value": [typed]}}
    else:
        plain, odd = empty, typed
    odd["00180050"] = {"vr": "DS", "Value": ["\u00a01.5"]}  # a non-ASCII space: set aside
    payloads = [orjson.dumps(plain), orjson.dumps(odd), orjson.dumps(plain)]
    assert [i for i, _ in Shredded(payloads, OPTIONS).set_aside] == [1]
    assert_same(payloads)
