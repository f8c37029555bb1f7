"""The portable-type rule: what a lake table may hold, at any depth."""

import pyarrow as pa
import pytest

from dicom_assets.schema.kinds import KIND_TYPES
from dicom_assets.schema.portable import NotPortable, check_portable, non_portable_fields


def test_the_lake_types_are_portable():
    schema = pa.schema(
        [
            ("a", pa.int64()),
            ("b", pa.list_(pa.float64())),
            ("c", KIND_TYPES["pn"]),
            (
                "d",
                pa.list_(
                    pa.struct(
                        [
                            ("e", pa.date32()),
                            ("f", pa.timestamp("us", tz="UTC")),
                            ("g", pa.list_(pa.string())),
                        ]
                    )
                ),
            ),
        ]
    )
    check_portable(schema)


@pytest.mark.parametrize(
    "bad",
    [
        pa.time64("us"),
        pa.time32("ms"),
        pa.timestamp("us"),
        pa.timestamp("ns", tz="UTC"),
        pa.uint16(),
        pa.uint64(),
        pa.float16(),
        pa.duration("us"),
        pa.null(),
        pa.struct([]),
    ],
)
def test_refused_types_are_named_at_any_depth(bad):
    schema = pa.schema(
        [
            ("ok", pa.string()),
            ("Seq", pa.list_(pa.struct([("Inner", pa.list_(pa.struct([("x", bad)])))]))),
        ]
    )
    found = non_portable_fields(schema)
    assert len(found) == 1 and found[0].startswith("Seq[].Inner[]")
    with pytest.raises(NotPortable, match=r"Seq\[\]\.Inner\[\]"):
        check_portable(schema)
