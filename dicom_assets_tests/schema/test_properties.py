"""Random and hostile DICOM JSON: the converter never raises and never loses an instance."""

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_assets.schema import ConversionOptions, ConvertedBatch, convert_entries
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets_tests.schema.feed_entries import entry_for

# Keys: real tags of every kind (typed, sequence, bulk, private, unknown) and garbage.
KEYS = st.sampled_from(
    [
        "00100010",
        "00080020",
        "00080030",
        "0008002A",
        "00280030",
        "00280010",
        "00200013",
        "00080008",
        "00081140",
        "0040A730",
        "52009230",
        "7FE00010",
        "00091001",
        "00090010",
        "00080000",
        "60000010",
        "0020000D",
        "00080018",
        "0020000e",
        "00181020",
        "00280106",
    ]
) | st.text(max_size=10)
VRS = (
    st.sampled_from(
        [
            "PN",
            "DA",
            "TM",
            "DT",
            "DS",
            "IS",
            "US",
            "SS",
            "LO",
            "CS",
            "UI",
            "SQ",
            "OB",
            "UN",
            "FD",
            "AT",
            "XX",
        ]
    )
    | st.none()
    | st.integers()
)
# IS/DS written as JSON strings (valid DICOM JSON): the native path reads the ones the Python
# path reads as numbers, and hands it the rest (non-ASCII digits or spaces, "NaN", overflows...).
NUMBER_TEXTS = st.sampled_from(
    [
        "1.5",
        " 2 ",
        "1e3",
        "+5",
        "-.5",
        "5.",
        "007",
        "-0",
        "-0.0",
        "1E-400",
        "1e999",
        "9007199254740993",
        "123456789012345678e-3",
        "\t4\n",
        "\x1c4\x0b",
        "\xa04",
        "\u0664",
        "1_000",
        "0x10",
        "-Infinity",  # ("NaN" too, but NaN != NaN in the tables' comparison)
        "1,5",
        ".",
        "e5",
        "5e",
        "+-5",
        "",
        "  ",
    ]
) | st.tuples(
    st.sampled_from(["", " ", "\t"]),
    st.integers(-(2**60), 2**60) | st.floats(allow_nan=False),
    st.sampled_from(["", " "]),
).map(lambda parts: f"{parts[0]}{parts[1]!r}{parts[2]}")
SCALARS = (
    NUMBER_TEXTS
    | st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["20261341", "1,5", "20260101", "123000.5", "a=b=c=d", "\udc80"])
)
PN_VALUES = st.dictionaries(
    st.sampled_from(["Alphabetic", "Ideographic", "Phonetic", "x"]),
    st.none() | st.text(max_size=12),
    max_size=3,
)


def elements(items: st.SearchStrategy) -> st.SearchStrategy:
    value = st.lists(SCALARS | PN_VALUES | items, max_size=4) | SCALARS
    return (
        st.fixed_dictionaries(
            {"vr": VRS}, optional={"Value": value, "InlineBinary": SCALARS, "BulkDataURI": SCALARS}
        )
        | SCALARS
    )


DATASETS = st.recursive(
    st.dictionaries(KEYS, elements(st.nothing()), max_size=6),
    lambda inner: st.dictionaries(KEYS, elements(inner), max_size=6),
    max_leaves=30,
)
PAYLOADS = DATASETS | st.none() | SCALARS | st.lists(DATASETS, max_size=2)


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


# Plausible DICOM JSON: every value has its VR's JSON type, so the vectorised path takes it;
# texts include invalid dates, times, numbers and names, and empty values.
TEXTS = st.sampled_from(
    [
        "20261124",
        "20261341",
        "2026.11.24",
        "",
        " ",
        "CT ",
        "1.2.3\x00",
        "101530.25",
        "2460",
        "07:30",
        "a^b^c^d^e^f",
        "Ünïcode^名前",
        "0.5",
        "20261124101530+0100",
        "2026",
        "x" * 20,
        # before the earliest date / instant Spark 3 reads: invalid
        "11111111",
        "15821014",
        "15821015",
        "18991231235959.999999",
        "19000101003000+0100",
    ]
) | st.text(max_size=8)
NUMBERS = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False)
    | st.sampled_from(
        [
            0,
            1,
            5.0,
            1.5,
            2**53,
            -(2**53) - 1,
            65535,
            -0.0,
            0.0,
            1.5e-30,
            1e22,
            1e23,
            0.30000000000000004,
            123456789012345.5,
        ]
    )
)
TEXT_TAGS = [
    "00080020",
    "00080030",
    "0008002A",
    "00080060",
    "00080008",
    "00181020",
    "00100020",
    "00080018",
    "00200052",
    "00091010",
    "00431001",
    "00080000",
]
NUMBER_TAGS = [
    "00280030",
    "00280010",
    "00200013",
    "00180050",
    "00280106",
    "00200032",
    "00431002",
    "00091011",
]


def plausible(items: st.SearchStrategy) -> st.SearchStrategy:
    def element(vr: str | list[str], values: st.SearchStrategy) -> st.SearchStrategy:
        vrs = st.sampled_from([vr] if isinstance(vr, str) else vr)
        return st.fixed_dictionaries(
            {"vr": vrs}, optional={"Value": st.lists(st.none() | values, max_size=3)}
        )

    text = st.tuples(st.sampled_from(TEXT_TAGS), element(["DA", "TM", "DT", "CS", "LO"], TEXTS))
    number = st.tuples(
        st.sampled_from(NUMBER_TAGS), element(["DS", "US", "IS", "FD"], NUMBERS | NUMBER_TEXTS)
    )
    name = st.tuples(
        st.sampled_from(["00100010", "00081070", "00091012"]),
        element(
            "PN",
            (
                st.fixed_dictionaries(
                    {}, optional={g: TEXTS for g in ("Alphabetic", "Ideographic", "Phonetic")}
                )
            ),
        ),
    )
    sequence = st.tuples(
        st.sampled_from(["00081140", "0040A730", "00400275"]), element("SQ", items)
    )
    # What a server may write instead of an array: the Python path decides what it means.
    odd = st.tuples(
        st.sampled_from(TEXT_TAGS + NUMBER_TAGS),
        st.fixed_dictionaries(
            {"vr": st.sampled_from(["LO", "DS"]), "Value": TEXTS | NUMBERS | st.none()}
        ),
    )
    return st.lists(text | number | name | sequence | odd, max_size=8).map(dict)


PLAUSIBLE = st.recursive(plausible(st.nothing()), plausible, max_leaves=25)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PLAUSIBLE | st.none(), max_size=8))
def test_vectorised_path_equals_reference_on_plausible_json(payloads):
    # VRs are drawn regardless of the dictionary's: mismatches are part of the test.
    fast, _reference = fast_and_reference(payloads)
    pq.write_table(fast.table, pa.BufferOutputStream())


# Spellings of the same JSON: escaped characters in names and texts, numbers with exponents,
# "-0", whitespace between tokens. Both readers must give each spelling one meaning.
WHITESPACE = st.sampled_from(["", "", "", " ", "\n ", "\t", "\r\n"])


def _spelled_string(draw: st.DrawFn, text: str) -> str:
    """A JSON string of ``text``, some characters written as ``\\u`` escapes (either case)."""
    out = []
    for char in text:
        code = ord(char)
        must = char in '"\\' or code < 0x20 or 0xD800 <= code <= 0xDFFF
        if not must and draw(st.integers(0, 7)) != 0:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(f"\\u{code:04x}" if draw(st.booleans()) else f"\\u{code:04X}")
    return '"' + "".join(out) + '"'


def _spelled_number(draw: st.DrawFn, n: float) -> str:
    """A JSON number of ``n``: ``-0`` for an integer zero at times, exponents for decimals."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        raise TypeError(n)
    if isinstance(n, int):
        return "-0" if n == 0 and draw(st.booleans()) else str(n)
    text = repr(n)
    if not math.isfinite(n):
        return "null"  # as orjson writes them
    if "e" in text or not draw(st.booleans()):
        return text
    whole, _, fraction = text.partition(".")  # -12.5 -> -125e-1, exactly the same number
    sign = "-" if whole.startswith("-") else ""
    digits = (whole.lstrip("-") + fraction).lstrip("0") or "0"
    return f"{sign}{digits}{draw(st.sampled_from(['e', 'E']))}-{len(fraction)}"


def _spelled_value(draw: st.DrawFn, v: object) -> str:
    def ws() -> str:
        return draw(WHITESPACE)

    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, str):
        return _spelled_string(draw, v)
    if isinstance(v, (int, float)):
        return _spelled_number(draw, v)
    if isinstance(v, dict):
        members = [
            ws() + _spelled_string(draw, k) + ws() + ":" + ws() + _spelled_value(draw, x) + ws()
            for k, x in v.items()
        ]
        return "{" + ",".join(members) + "}"
    if isinstance(v, list):
        return "[" + ",".join(ws() + _spelled_value(draw, x) + ws() for x in v) + "]"
    raise TypeError(type(v))


@st.composite
def spelled(draw: st.DrawFn, value: object) -> bytes:
    """``value`` as JSON text, spelled differently at each drawing."""
    return (draw(WHITESPACE) + _spelled_value(draw, value) + draw(WHITESPACE)).encode("utf-8")
