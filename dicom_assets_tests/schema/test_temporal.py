"""The native date/time kernel agrees with the reference parsers on every text."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicom_assets import native
from dicom_assets.schema import kinds, temporal
from dicom_assets.schema.kinds import PARSERS
from dicom_assets.schema.values import INVALID

KINDS = ("date", "time", "datetime")
# Texts near the plain forms: digits, with now and then a dot, colon, sign, space or NUL.
NEAR_PLAIN = st.text(st.sampled_from("0123456789" * 6 + ".:+- \x00٣"), max_size=22)
PLAIN_DATES = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
    lambda d: d.strftime("%Y%m%d").zfill(8)
)
PLAIN_TIMES = st.builds(
    lambda t, width, digits: (
        t.strftime("%H%M%S")[:width]
        + ("." + f"{t.microsecond:06d}"[:digits] if width == 6 and digits else "")
    ),
    st.times(),
    st.sampled_from([2, 4, 6]),
    st.integers(0, 6),
)


def reference(texts: list[str | None], kind: str) -> tuple[list, list[bool]]:
    parsed = [None if t is None else PARSERS[kind](t) for t in texts]
    return [None if p is INVALID else p for p in parsed], [p is INVALID for p in parsed]


def assert_agrees(texts: list[str | None], kind: str, array: pa.Array | None = None) -> None:
    typed, bad = temporal.parse_temporal(
        array if array is not None else pa.array(texts, pa.string()), kinds.KINDS[kind]
    )
    expected, expected_bad = reference(texts, kind)
    assert typed.type == pa.array(expected, kinds.KIND_TYPES[kind]).type
    assert typed.to_pylist() == expected, texts
    assert bad.tolist() == expected_bad, texts


def test_types_are_the_lake_types():
    texts = ["20261124", "101530.5", "20261124101530"]
    for kind, arrow_type in [
        ("date", pa.date32()),
        ("time", pa.string()),
        ("datetime", pa.timestamp("us", tz="UTC")),
    ]:
        assert temporal.parse_temporal(pa.array(texts), kinds.KINDS[kind])[0].type == arrow_type


def test_the_kernel_is_built():
    # The install compiles it (scripts/bootstrap.sh provides gcc): never test the fallback only.
    assert native.temporal_available()


@pytest.mark.parametrize("kind", KINDS)
def test_notable_texts(kind):
    texts = [
        "20240229",
        "20230229",
        "00010101",
        "00000101",
        "99991231",
        "20261341",
        "2026112",
        "235959",
        "240000",
        "235960",
        "0730",
        "07",
        "073015.1",
        "073015.123456",
        "073015.1234567",
        "073015.",
        "07:30:15",
        " 073015",
        "20261124073015.25",
        "20261124073015+0100",
        "2026112407",
        "202611240760",
        "",
        None,
        "2026",
        "19700101000000.000001",
        "00010101000000",
        # The earliest values Spark 3 reads (values.EARLIEST_*), and just before them.
        "15821015",
        "15821014",
        "11111111",
        "19000101",
        "18991231235959.999999",
        "19000101000000",
        "18991231",
    ]
    assert_agrees(texts, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_a_sliced_array_reads_its_own_texts(kind):
    texts = ["19991231", "20000101", "101530", "20261124101530", None, "x"]
    array = pa.array(["junk", *texts, "20261124"], pa.string()).slice(1, len(texts))
    assert_agrees(texts, kind, array)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(NEAR_PLAIN, PLAIN_DATES, PLAIN_TIMES, st.none()), max_size=30),
    st.sampled_from(KINDS),
)
def test_random_texts_agree_with_the_reference_parsers(texts, kind):
    assert_agrees(texts, kind)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(PLAIN_DATES, st.one_of(st.just(""), PLAIN_TIMES)), min_size=1, max_size=20)
)
def test_plain_datetimes_agree_with_the_reference_parser(parts):
    assert_agrees([date + time for date, time in parts], "datetime")
