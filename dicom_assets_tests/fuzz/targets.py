"""One input of each fuzz target: the native code's entry points, each checked against the
Python reading of the same bytes.

Each target takes the fuzzer's bytes and raises ``AssertionError`` on a wrong answer (a crash,
an over-read or undefined behaviour is the sanitizers' to report). The atheris harness
(``fuzz.py``), the corpus replay (``replay.py``, run by ``make test``) and the tests share them.

- ``shred``: payloads (split at 0x1E) -> the shredder's columns as Arrow arrays, each valid.
- ``split_array`` / ``split_member``: a server answer cut natively, beside its parsed reading.
- ``temporal``: DA/TM/DT texts through the kernel and through the reference parsers; raw calls
  with arbitrary offsets must be refused, not read out of bounds.
- ``convert``: ``convert_entries`` natively and by the Python path: every cell (the sign of
  zero included), ``_invalid``, the quarantine and the reader counts.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from dicom_assets import native
from dicom_assets.schema import (
    ConversionOptions,
    convert_entries,
    kinds,
    native_buffers,
    shredded,
    temporal,
)
from dicom_assets.sources.dicomweb import IDENTIFIERS, first_text
from dicom_assets_tests.deid.fuzz_deid import deid
from dicom_assets_tests.schema.feed_entries import entry_for

SEPARATOR = b"\x1e"  # never valid in JSON: splits one input into several payloads
MAX_PAYLOADS = 6
UIDS = ("1.2.3", "1.2.3.4", "1.2.3.4.5")
OPTIONS = ConversionOptions()
PYTHON_PATH = ConversionOptions(native=False)


def payloads_of(data: bytes) -> list[bytes | None]:
    """The input as payloads; an empty one stands for an entry without metadata."""
    return [part or None for part in data.split(SEPARATOR)[:MAX_PAYLOADS]]


def shred(data: bytes) -> None:
    payloads = payloads_of(data)
    source = shredded.Shredded(payloads, OPTIONS)
    assert [i for i, _ in source.set_aside] == sorted(i for i, _ in source.set_aside)
    assert len(source.kept) + len(source.set_aside) == len(payloads)
    for _, reason in source.set_aside:
        assert isinstance(reason, str) and reason
    metadata = source.metadata_column()
    metadata.validate(full=True)
    for text, payload in zip(metadata.to_pylist(), source.payloads):
        assert (text is None) == (payload is None)
        if text is not None:
            assert orjson.loads(text) == orjson.loads(payload)
    for column in source.columns:
        arrays = [native_buffers.per_element(column, "vr")]
        if column["kind"] in (kinds.SHREDDER_CODES["TEXT"], shredded.SPAN):
            arrays.append(native_buffers.texts(column))
        if column["kind"] in (kinds.SHREDDER_CODES["NUMBER"], shredded.SPAN):
            arrays.append(native_buffers.numbers(column))
        if column["kind"] == shredded.SPAN:
            arrays.append(native_buffers.per_element(column, "ib"))
        for array in arrays:
            array.validate(full=True)
        rows = np.frombuffer(column["rows"], np.int32)
        parent = source.columns[column["parent"]]["n_values"] if column["parent"] >= 0 else source.n
        assert len(rows) == 0 or (rows.min() >= 0 and rows.max() < parent)  # rows or items
        offsets = np.frombuffer(column["val_off"], np.int32)
        assert offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
        assert offsets[-1] == column["n_values"]


def split_array(data: bytes) -> None:
    split = native._shredder.split_array(data, IDENTIFIERS)
    if isinstance(split, str):
        return
    parsed = orjson.loads(data)  # what the splitter accepts is JSON the Python path reads
    assert isinstance(parsed, list) and len(parsed) == len(split)
    for (payload, identifiers), dataset in zip(split, parsed):
        assert orjson.loads(payload) == dataset
        assert identifiers == tuple(first_text(dataset, tag) for tag in IDENTIFIERS)


def split_member(data: bytes) -> None:
    split = native._shredder.split_member(data, "metadata")
    if isinstance(split, str):
        return
    parsed = orjson.loads(data)
    assert isinstance(parsed, list) and len(parsed) == len(split)
    for (rest, value), entry in zip(split, parsed):
        assert isinstance(entry, dict)
        read = orjson.loads(rest)
        metadata = entry.get("metadata")
        if isinstance(metadata, dict):
            assert read == {**entry, "metadata": None}
            assert (orjson.loads(value) if value is not None else {}) == metadata
        else:
            assert value is None and read == entry


def temporal_kernel(data: bytes) -> None:
    if not data:
        return
    kind = ["date", "time", "datetime"][data[0] % 3]
    texts = [t.decode("utf-8", "replace") for t in data[1:].split(SEPARATOR)]
    strings = pa.array(texts, pa.string())
    for sliced in (strings, strings.slice(1)):
        fast, fast_bad = temporal.parse_temporal(sliced, kinds.KINDS[kind])
        slow, slow_bad = temporal.parse_distinct(sliced, kinds.KINDS[kind])
        fast.validate(full=True)
        assert fast.to_pylist() == slow.to_pylist() and fast_bad.tolist() == slow_bad.tolist()
    kernel = native._temporal
    if kernel is None or len(data) < 9:
        return
    # Raw calls with arbitrary counts, offsets and buffers: refused or read in bounds.
    count = int.from_bytes(data[1:5], "little", signed=True)
    offset = int.from_bytes(data[5:9], "little", signed=True) << (data[0] % 40)
    raw = np.frombuffer(data[9:], np.uint8).copy()  # exact size: no trailing NUL
    try:
        kernel.parse(data[0] % 4, count, offset, raw, raw)
    except (ValueError, OverflowError, MemoryError):
        pass


def _canon(value: Any) -> Any:
    """A value with the sign of zero (and NaN) made visible to ``==``."""
    if isinstance(value, float):
        return ("float", math.copysign(1.0, value), repr(value))
    if isinstance(value, dict):
        return {key: _canon(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    return value


def comparable(table: pa.Table) -> list[Any]:
    rows = table.to_pylist()
    for row in rows:
        if row.get("_metadata") is not None:
            row["_metadata"] = json.loads(row["_metadata"])
    return _canon(rows)


def assert_same(payloads: list[bytes | None]) -> None:
    """``convert_entries`` gives the same batch natively and by the Python path."""
    entries = [entry_for(p, sequence=i, uids=UIDS) for i, p in enumerate(payloads)]
    native = convert_entries(entries, OPTIONS)
    python = convert_entries(entries, PYTHON_PATH)
    native.table.validate(full=True)
    assert native.table.schema == python.table.schema
    assert comparable(native.table) == comparable(python.table)
    assert native.invalid_values == python.invalid_values
    assert [(q.entry.sequence, q.reason) for q in native.quarantined] == [
        (q.entry.sequence, q.reason) for q in python.quarantined
    ]
    assert sum(native.rows_by_reader.values()) == native.table.num_rows
    assert python.rows_by_reader == {"native": 0, "python": python.table.num_rows}


def convert(data: bytes) -> None:
    assert_same(payloads_of(data))


TARGETS = {
    "shred": shred,
    "split_array": split_array,
    "split_member": split_member,
    "temporal": temporal_kernel,
    "convert": convert,
    "deid": deid,
}
