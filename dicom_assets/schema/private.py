"""The ``_private`` column: private and unknown top-level elements as queryable text.

Each row gets a list of ``{creator, tag, vr, value}``: ``creator`` is the private creator that
reserved the element's block (null for unknown even-group tags), ``tag`` the 8-hex-digit key,
``vr`` as written, and ``value`` the values as text joined by backslash (PS3.5 style; numbers as
Arrow prints them, PN by its groups, sequences as JSON text, binary as its base64
``InlineBinary``, bulk data URIs as null). Private creator elements themselves are not listed:
their text is every entry's ``creator``.

Per tag, the batch's elements are converted by Arrow in one go; a tag whose elements Arrow
cannot convert (mixed types, sequences, names) is rendered element by element instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.schema.kinds import KINDS, kind_of_vr
from dicom_assets.schema.values import is_utf8
from dicom_assets.schema.vr import TagSpec

PRIVATE_ENTRY_TYPE = pa.struct(
    [("creator", pa.string()), ("tag", pa.string()), ("vr", pa.string()), ("value", pa.string())]
)
PRIVATE_TYPE = pa.list_(PRIVATE_ENTRY_TYPE)
EXACT_FLOAT_INT = 2.0**53
_CONVERT_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


def _float_text(value: float) -> str:
    return pa.array([value], pa.float64()).cast(pa.string())[0].as_py()


def _text(value: Any) -> str | None:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # a name: the only kind whose values are JSON objects
        return KINDS["pn"].private_text(value)
    if isinstance(value, (int, float)):
        # As the vectorised path prints them: through float64 while that is exact.
        if isinstance(value, int) and abs(value) >= EXACT_FLOAT_INT:
            return str(int(value))
        return _float_text(float(value))
    return None


def render_private_value(elem: Any, max_chars: int) -> str | None:
    """The element's values as one text, or None when it has none or it is too long."""
    if type(elem) is not dict:
        return None
    value = elem.get("Value")
    text: str | None = None
    if type(value) in (list, tuple):
        if elem.get("vr") == "SQ" or any(type(v) in (list, tuple) for v in value):
            try:
                text = orjson.dumps(value).decode()
            except (TypeError, orjson.JSONEncodeError):
                text = None
        else:
            parts = [_text(v) for v in value]
            text = None if any(p is None for p in parts) else "\\".join(parts)  # type: ignore[arg-type]
    elif isinstance(elem.get("InlineBinary"), str):
        text = elem["InlineBinary"]
    if text is None or len(text) > max_chars or not is_utf8(text):
        return None
    return text


def creator_of(elem: Any) -> str | None:
    """The text of a private creator element."""
    if type(elem) is dict and type(elem.get("Value")) in (list, tuple) and elem["Value"]:
        creator = elem["Value"][0]
        if isinstance(creator, str) and is_utf8(creator):
            return creator
    return None


def creator_key(spec: TagSpec) -> str | None:
    """The key of the creator element that reserves ``spec``'s block, if it has one."""
    group, element = spec.tag >> 16, spec.tag & 0xFFFF
    if spec.category != "private" or element < 0x1000:
        return None
    return f"{group:04X}00{element >> 8:02X}"


def is_creator_element(spec: TagSpec) -> bool:
    return spec.category == "private" and 0x0010 <= (spec.tag & 0xFFFF) <= 0x00FF


def raw_private_type(carrier: pa.DataType) -> pa.DataType:
    return pa.struct(
        [("vr", pa.string()), ("Value", pa.list_(carrier)), ("InlineBinary", pa.string())]
    )


def guess_carrier(first: Any) -> pa.DataType | None:
    """The Arrow carrier a private tag's values likely convert to, from one element's VR (its
    kind's ``private_carrier``; text for a VR the standard does not define)."""
    vr = first.get("vr") if type(first) is dict else None
    if not isinstance(vr, str):
        return None
    kind = kind_of_vr(vr)
    return kind.private_carrier if kind is not None else pa.string()


def _vectorised_texts(elements: list[Any], max_chars: int) -> tuple[pa.Array, pa.Array]:
    """(vr, value text) of one tag's elements via Arrow; raises when Arrow cannot convert."""
    for carrier in (pa.string(), pa.float64()):
        try:
            raw = pa.array(elements, raw_private_type(carrier))
        except _CONVERT_ERRORS:
            continue
        return texts_from_raw(raw, max_chars)
    raise ValueError("not convertible")


def texts_from_raw(raw: pa.StructArray, max_chars: int) -> tuple[pa.Array, pa.Array]:
    """(vr, value text) from a tag's raw private column."""
    values = raw.field("Value")
    child = values.values
    if child.type == pa.float64():
        finite = pc.fill_null(child, 0.0).to_numpy(zero_copy_only=False)
        if np.any(np.abs(finite[np.isfinite(finite)]) >= EXACT_FLOAT_INT):
            raise ValueError("integers beyond float64's exact range")
        child = child.cast(pa.string())
    if raw.field("vr").null_count < len(raw) and pc.any(pc.equal(raw.field("vr"), "SQ")).as_py():
        raise ValueError("sequences are rendered as JSON")
    joined_lists = pa.ListArray.from_arrays(
        values.offsets, pc.fill_null(child, ""), mask=values.is_null()
    )
    text = pc.binary_join(joined_lists, "\\")
    text = pc.coalesce(text, raw.field("InlineBinary"))
    text = pc.if_else(pc.greater(pc.utf8_length(text), max_chars), None, text)
    return raw.field("vr"), text


def creator_column(creators: list[Any] | None, n: int) -> pa.Array:
    """The creator text per row from the creator element of each row (None: no creator)."""
    if creators is None:
        return pa.nulls(n, pa.string())
    return pa.array([creator_of(c) for c in creators], pa.string())


def private_tag_columns(
    elements: Callable[[], list[Any]],
    creator: pa.Array,
    max_chars: int,
    vectorised: bool = True,
    raw: pa.StructArray | None = None,
) -> tuple[np.ndarray, pa.Array, pa.Array, pa.Array]:
    """(present, creator, vr, value) of one private/unknown tag over the batch's rows.

    ``raw``: the tag's elements already converted by Arrow, if they were; ``elements`` gives
    the Python elements (one per row, None where absent) when they are needed after all.
    """
    if vectorised and raw is not None:
        try:
            vr, value = texts_from_raw(raw, max_chars)
            return raw.is_valid().to_numpy(zero_copy_only=False), creator, vr, value
        except (ValueError, *_CONVERT_ERRORS):
            pass
    rows = elements()
    present = np.fromiter((e is not None for e in rows), dtype=bool, count=len(rows))
    try:
        if not vectorised:
            raise ValueError("reference rendering asked for")
        vr, value = _vectorised_texts(rows, max_chars)
    except (ValueError, *_CONVERT_ERRORS):
        vr = pa.array(
            [
                e.get("vr")
                if type(e) is dict and isinstance(e.get("vr"), str) and is_utf8(e["vr"])
                else None
                for e in rows
            ],
            pa.string(),
        )
        value = pa.array([render_private_value(e, max_chars) for e in rows], pa.string())
    return present, creator, vr, value


def assemble_private(
    columns: list[tuple[str, np.ndarray, pa.Array, pa.Array, pa.Array]], has_metadata: np.ndarray
) -> pa.Array:
    """The ``_private`` list per row from per-tag columns (ordered by tag)."""
    n = len(has_metadata)
    if not columns:
        offsets = np.zeros(n + 1, dtype=np.int32)
        empty = pa.array([], PRIVATE_ENTRY_TYPE)
        return pa.ListArray.from_arrays(pa.array(offsets), empty, mask=pa.array(~has_metadata))
    entries = pa.concat_arrays(
        [
            pa.StructArray.from_arrays(
                [creator, pa.array([key] * n, pa.string()), vr, value],
                fields=list(PRIVATE_ENTRY_TYPE),
            )
            for key, _, creator, vr, value in columns
        ]
    )
    present = np.stack([c[1] for c in columns])  # tags x rows
    order = (np.arange(len(columns))[None, :] * n + np.arange(n)[:, None]).ravel()  # row-major
    keep = order[present.T.ravel()]
    counts = present.sum(axis=0)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets), entries.take(pa.array(keep)), mask=pa.array(~has_metadata)
    )
