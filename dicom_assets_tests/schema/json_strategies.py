"""Hypothesis strategies of DICOM JSON values: hostile (anything a server or a bug could send)
and plausible (every value of its VR's JSON type).

Shared by the converter's properties (test_properties.py) and the tests of the shredder, the
DICOMweb client and the Azure pages, so they live in a helper module rather than a test module.
"""

from hypothesis import strategies as st

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
