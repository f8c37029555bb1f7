"""The native pass against the reference: the same bytes, or None (then the reference runs).

Hypothesis writes DICOM JSON-like payloads with what servers send and what they should not:
tags the table lists, private and unknown tags, every action's VRs, nested sequences, escaped
and non-ASCII strings, dates valid and not, numbers in forms orjson rewrites, BulkDataURIs,
unsorted keys, whitespace, broken JSON. For each: the native output is None or exactly
``orjson.dumps`` of the reference's result.
"""

from __future__ import annotations

import json
import math
import random
import struct

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_assets.deid import Deidentifier, DeidSettings, native
from dicom_assets_tests.deid.phi_corpus import dicom_json, phi_corpus

pytestmark = pytest.mark.skipif(not native.available(), reason="native pass not built")

KEY = "native-key-" + "n" * 40
TAGS = [
    "00080016", "00080018", "00080020", "00080021", "0008002A", "00080030", "00080050",
    "00080060", "00080070", "00080080", "00081030", "00081032", "00081115", "00081155",
    "00082112", "00100010", "00100020", "00100030", "00101002", "00110010", "00111010",
    "00180060", "0020000D", "0020000E", "00200052", "00280030", "0040A730", "50000010",
    "60003000", "00089999", "7FE00010", "00120062", "00190010", "00191023",
]  # fmt: skip
VRS = ["UI", "DA", "DT", "TM", "PN", "LO", "SH", "CS", "DS", "IS", "US", "FD", "OB", "SQ", "AS"]
TEXT = st.one_of(
    st.sampled_from(["20190314", "20190314101530.25", "19000229", "00000101", "2019031", "",
                     "1.2.840.10008.1", "Quixlander^Marguerite", "ab\\\"c", "é日本", "٢٠١٩٠٣١٤",
                     "GEMS_ACQU_01"]),
    st.text(max_size=12),
)  # fmt: skip
NUMBER = st.one_of(
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1.50", "1e5", "-0", "0.00001", "120.0", "1E2", "007"]),
)


def _values(depth: int):
    scalar = st.one_of(TEXT, NUMBER, st.none(), st.just({"Alphabetic": "Doe^J"}))
    if depth >= 2:
        return st.lists(scalar, max_size=3)
    item = _dataset(depth + 1)
    return st.one_of(st.lists(scalar, max_size=3), st.lists(item, max_size=2), scalar)


def _element(depth: int):
    return st.fixed_dictionaries(
        {"vr": st.sampled_from(VRS)},
        optional={
            "Value": _values(depth),
            "BulkDataURI": st.just("http://127.0.0.1/bulk/1.2.3"),
            "InlineBinary": st.just("AAAA"),
        },
    )


def _dataset(depth: int = 0):
    return st.dictionaries(st.sampled_from(TAGS), _element(depth), max_size=8)


def _encode(dataset: dict, sort: bool, spaced: bool) -> bytes:
    if sort:
        dataset = dict(sorted(dataset.items()))

    def render(value) -> str:  # numbers given as text stay as written (non-canonical forms)
        if isinstance(value, dict):
            sep = ", " if spaced else ","
            return "{" + sep.join(f"{json.dumps(k)}:{render(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ",".join(render(v) for v in value) + "]"
        if isinstance(value, str) and value in ("1.50", "1e5", "-0", "0.00001", "120.0", "1E2"):
            return value
        return json.dumps(value, ensure_ascii=False)

    return render(dataset).encode()


def _check(deid: Deidentifier, payloads: list[bytes]) -> int:
    reasons: list[str] = []
    outputs = deid.native.payloads(payloads, reasons)
    taken = 0
    for payload, output in zip(payloads, outputs, strict=True):
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            assert output is None
            continue
        if output is None or not isinstance(parsed, dict):
            assert output is None or isinstance(parsed, dict)
            continue
        assert output == orjson.dumps(deid.dataset(parsed)), payload
        taken += 1
    assert len(reasons) == len(payloads) - taken
    return taken


@pytest.mark.parametrize(
    "options", ["", "retain-longitudinal-modified-dates", "retain-uids", "retain-safe-private"]
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=_dataset(), sort=st.booleans(), spaced=st.booleans(), cut=st.integers(0, 40))
def test_native_equals_the_reference(options, dataset, sort, spaced, cut):
    deid = Deidentifier(DeidSettings.parse("basic", options, KEY))
    payload = _encode(dataset, sort, spaced)
    _check(deid, [payload, payload[: max(0, len(payload) - cut)]])


def test_the_corpus_is_taken_natively_and_exactly():
    deid = Deidentifier(DeidSettings.parse("basic", "retain-longitudinal-modified-dates", KEY))
    payloads = [orjson.dumps(dicom_json(ds)) for ds in phi_corpus().datasets]
    assert _check(deid, payloads) == len(payloads)


def test_safe_private_payloads_naming_a_listed_creator_take_the_reference():
    deid = Deidentifier(DeidSettings.parse("basic", "retain-safe-private", KEY))

    def nested(creator: str) -> bytes:
        item = {"00190010": {"vr": "LO", "Value": [creator]}, "00191023": {"vr": "DS"}}
        return orjson.dumps({"00081115": {"vr": "SQ", "Value": [item]}})

    plain = orjson.dumps({"00080060": {"vr": "CS", "Value": ["CT"]}})
    escaped = nested("GEMS_ACQU_01").replace(b"GEMS", b"\\u0047EMS")  # JSON spelling it
    payloads = [plain, nested("ACME_ACQU_01"), nested(" GEMS_ACQU_01"), escaped]
    reasons: list[str] = []
    outputs = deid.native.payloads(payloads, reasons)
    for payload, output in zip(payloads[:2], outputs[:2], strict=True):
        assert output == orjson.dumps(deid.dataset(orjson.loads(payload)))  # natively, exactly
    assert b"00190010" not in outputs[1]  # an unlisted creator's block: removed
    assert outputs[2:] == [None, None] and len(reasons) == 2
    kept = deid.dataset(orjson.loads(payloads[2]))["00081115"]["Value"][0]
    assert set(kept) == {"00190010", "00191023"}  # the reference keeps the listed element


def test_cleaning_profiles_always_take_the_reference():
    deid = Deidentifier(DeidSettings.parse("basic", "clean-descriptors", KEY))
    assert not deid.native.usable


def test_numbers_copied_as_written_are_the_ones_orjson_writes_so():
    deid = Deidentifier(DeidSettings.parse("basic", "", KEY))
    rng = random.Random(5)
    values = [struct.unpack("d", rng.randbytes(8))[0] for _ in range(1000)]
    values += [round(rng.uniform(-1e6, 1e6), rng.randint(0, 12)) for _ in range(1000)]
    values += [rng.uniform(0, 1) * 10 ** rng.randint(-8, 17) for _ in range(1000)]
    texts = [repr(v) for v in values if math.isfinite(v)]
    texts += [str(rng.randint(-(10**15), 10**15)) for _ in range(500)]
    payloads = [b'{"00180050":{"vr":"DS","Value":[' + t.encode() + b"]}}" for t in texts]
    assert _check(deid, payloads) > len(payloads) // 4
