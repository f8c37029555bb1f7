import datetime as dt

import pytest

from dicom_assets.schema.kinds import TIME_TEXT_LENGTH
from dicom_assets.schema.values import (
    INVALID,
    parse_date,
    parse_datetime,
    parse_float,
    parse_int,
    parse_pn,
    parse_str,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261124", dt.date(2026, 11, 24)),
        ("2026.11.24", dt.date(2026, 11, 24)),
        ("", None),
        (" ", None),
        ("20261341", INVALID),
        ("2026112", INVALID),
        (20261124, INVALID),
        # Spark 3 refuses dates before the Gregorian switch in files it did not write: invalid.
        ("15821015", dt.date(1582, 10, 15)),
        ("15821014", INVALID),
        ("11111111", INVALID),
        ("00010101", INVALID),
        ("99991231", dt.date(9999, 12, 31)),
    ],
)
def test_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07", "07:00:00.000000"),
        ("0730", "07:30:00.000000"),
        ("073015", "07:30:15.000000"),
        ("073015.5", "07:30:15.500000"),
        ("073015.123456", "07:30:15.123456"),
        ("073015.", "07:30:15.000000"),
        ("07:30:15", "07:30:15.000000"),
        ("235960", "23:59:59.000000"),
        ("235959.999999", "23:59:59.999999"),
        ("", None),
        ("2400", INVALID),
        ("0760", INVALID),
        ("073015.1234567", INVALID),
        ("7", INVALID),
    ],
)
def test_time_is_fixed_width_text(text, expected):
    assert parse_time(text) == expected


def test_time_text_reads_back_as_the_same_time():
    text = parse_time("073015.25")
    assert len(text) == TIME_TEXT_LENGTH
    assert dt.time.fromisoformat(text) == dt.time(7, 30, 15, 250000)


UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("20261124103000.25", dt.datetime(2026, 11, 24, 10, 30, 0, 250000, tzinfo=UTC)),
        ("20261124103000+0100", dt.datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),  # offsets -> UTC
        ("20261124103000-0230", dt.datetime(2026, 11, 24, 13, 0, tzinfo=UTC)),
        ("20261324", INVALID),
        ("abc", INVALID),
        # Spark 3 refuses instants before 1900-01-01T00:00Z in files it did not write: invalid.
        ("1900", dt.datetime(1900, 1, 1, tzinfo=UTC)),
        ("18991231235959.999999", INVALID),
        ("19000101003000+0100", INVALID),
        ("18991231233000-0100", dt.datetime(1900, 1, 1, 0, 30, tzinfo=UTC)),
        ("99991231235959-0100", INVALID),
    ],  # past year 9999 once in UTC
)
def test_datetime(text, expected):
    assert parse_datetime(text) == expected


def test_datetime_without_offset_is_its_wall_clock_labelled_utc():
    value = parse_datetime("20261124103000")
    assert value.tzinfo is UTC and (value.hour, value.minute) == (10, 30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("  42 ", 42),
        ("5.0", 5),
        (5.0, 5),
        ("5.5", INVALID),
        (True, 1),
        (2**63, INVALID),
        ("99999999999999999999", INVALID),
        ("1,5", INVALID),
        ("", None),
    ],
)
def test_int(value, expected):
    assert parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        (2, 2.0),
        ("1.5", 1.5),
        (" -1e3", -1000.0),
        ("1,5", INVALID),
        ("abc", INVALID),
        (False, 0.0),
        ("", None),
        ("1e999", INVALID),
    ],
)
def test_float(value, expected):
    assert parse_float(value) == expected


def test_pn_forms():
    assert parse_pn({"Alphabetic": "Doe^John"}) == {
        "Alphabetic": "Doe^John",
        "Ideographic": None,
        "Phonetic": None,
    }
    assert parse_pn("Yamada^Tarou=山田^太郎=やまだ^たろう")["Ideographic"] == "山田^太郎"
    assert parse_pn("a=b=c=d") is INVALID  # too many groups
    assert parse_pn({"Alphabetic": "a^b^c^d^e^f"}) is INVALID  # too many components
    assert parse_pn({"Nickname": "x"}) is None  # unknown keys are ignored
    assert parse_pn(7) is INVALID
    assert parse_pn({}) is None
    assert parse_pn({"Alphabetic": "Wang^XiaoDong", "Phonetic": ""}) == {
        "Alphabetic": "Wang^XiaoDong",
        "Ideographic": None,
        "Phonetic": None,
    }


def test_str_rejects_what_parquet_cannot_store():
    assert parse_str("ÄÖ") == "ÄÖ"
    assert parse_str("CT ") == "CT" and parse_str("1.2\x00") == "1.2" and parse_str(" ") is None
    assert parse_str("\udc80") is INVALID
    assert parse_str(5) is INVALID
