import datetime as dt

import pyarrow as pa

from dicom_assets.schema.elements import ElementReader
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import spec_for_key

PIXEL_SPACING = spec_for_key("00280030")
ROWS = spec_for_key("00280010")
REF_IMAGES = spec_for_key("00081140")  # ReferencedImageSequence


def read(elem, spec, options=None, shape=None):
    invalid: list[str] = []
    value = ElementReader(options or ConversionOptions()).read(
        elem, spec, spec.keyword, 1, shape, invalid
    )
    return value, invalid


def test_multi_valued_and_nulls_inside():
    assert read({"vr": "DS", "Value": [0.5, "0.25"]}, PIXEL_SPACING) == ([0.5, 0.25], [])
    # PS3.18 writes an empty value inside a multi-valued attribute as null.
    assert read({"vr": "DS", "Value": [0.5, None]}, PIXEL_SPACING) == ([0.5, None], [])


def test_invalid_values_are_nulled_and_named():
    for elem in (
        {"vr": "DS", "Value": ["1,5", 2]},  # one bad value nulls the attribute
        {"vr": "DS", "Value": []},  # empty Value
        {"vr": "DS", "Value": "0.5"},  # Value not a list
        {"vr": "DA", "Value": ["20261124"]},  # VR of another kind
        "0.5",
    ):
        assert read(elem, PIXEL_SPACING) == (None, ["PixelSpacing"])
    assert read({"vr": "US", "Value": [1, 2]}, ROWS) == (None, ["Rows"])  # VM 1 with 2 values


def test_compatible_vr_and_absent_value():
    assert read({"vr": "SS", "Value": [512]}, ROWS) == (512, [])
    assert read({"vr": "US"}, ROWS) == (None, [])
    assert read({"vr": "US", "Value": [None]}, ROWS) == (None, [])


def test_sequence_items_typed_and_shape_widened():
    elem = {
        "vr": "SQ",
        "Value": [
            {"00081150": {"vr": "UI", "Value": ["1.2.3"]}},
            {
                "00081155": {"vr": "UI", "Value": ["1.2.4"]},
                "00091010": {"vr": "LO", "Value": ["x"]},
                "00081160": {"vr": "IS", "Value": ["1", 2]},
            },
        ],
    }
    shape = SequenceShape()
    value, invalid = read(elem, REF_IMAGES, shape=shape)
    assert invalid == []
    assert value == [
        {"ReferencedSOPClassUID": "1.2.3"},
        {"ReferencedSOPInstanceUID": "1.2.4", "ReferencedFrameNumber": [1, 2]},
    ]
    assert shape.arrow_type() == pa.list_(
        pa.struct(
            [
                ("ReferencedSOPClassUID", pa.string()),
                ("ReferencedSOPInstanceUID", pa.string()),
                ("ReferencedFrameNumber", pa.list_(pa.int64())),
            ]
        )
    )


def nested(depth: int) -> dict:
    """A ContentSequence nested ``depth`` levels deep, a date at every level."""
    item = {"00080023": {"vr": "DA", "Value": ["20260102"]}}
    for _ in range(depth - 1):
        item = {
            "00080023": {"vr": "DA", "Value": ["20260102"]},
            "0040A730": {"vr": "SQ", "Value": [item]},
        }
    return {"vr": "SQ", "Value": [item]}


def test_depth_cap_and_invalid_paths():
    content = spec_for_key("0040A730")
    shape = SequenceShape()
    value, _ = read(nested(4), content, ConversionOptions(max_sequence_depth=2), shape)
    assert value == [
        {
            "ContentDate": dt.date(2026, 1, 2),
            "ContentSequence": [{"ContentDate": dt.date(2026, 1, 2)}],
        }
    ]
    inner = shape.arrow_type().value_type.field("ContentSequence").type.value_type
    assert inner.names == ["ContentDate"]

    bad = nested(3)
    bad["Value"][0]["0040A730"]["Value"][0]["00080023"]["Value"] = ["20261341"]
    _, invalid = read(bad, content, shape=SequenceShape())
    assert invalid == ["ContentSequence.ContentSequence.ContentDate"]


def test_exclusions_and_item_cap():
    per_frame = spec_for_key("52009230")
    assert not ElementReader(ConversionOptions()).types_sequence(per_frame, 1)
    items = {"vr": "SQ", "Value": [{"00081150": {"vr": "UI", "Value": ["1"]}}] * 3}
    assert read(items, REF_IMAGES, ConversionOptions(max_sequence_items=2), SequenceShape()) == (
        None,
        [],
    )
    assert read({"vr": "SQ", "Value": [1]}, REF_IMAGES, shape=SequenceShape()) == (
        None,
        ["ReferencedImageSequence"],
    )
