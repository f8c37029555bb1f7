import pyarrow as pa

from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.raw import collect_shape, raw_type
from dicom_assets.schema.shape import SequenceShape
from dicom_assets.schema.vr import spec_for_key

REFS = spec_for_key("00081140")


def item(**elements):
    return {key: {"vr": "UI", "Value": [value]} for key, value in elements.items()}


def test_shape_is_the_union_of_item_fields():
    shape = SequenceShape()
    collect_shape(
        [
            {"vr": "SQ", "Value": [item(**{"00081150": "1"})]},
            None,
            {"vr": "SQ", "Value": [item(**{"00081155": "2", "00091010": "p"})]},
        ],
        REFS,
        shape,
        1,
        ConversionOptions(),
    )
    assert sorted(shape.fields) == ["00081150", "00081155"] and shape.is_simple()
    value_type = raw_type(REFS, shape).field("Value").type.value_type
    assert [f.name for f in value_type] == ["00081150", "00081155"]
    assert value_type.field("00081150").type == pa.struct(
        [("vr", pa.string()), ("Value", pa.list_(pa.string()))]
    )


def test_odd_items_send_the_column_to_the_reference_reader():
    for value in (
        [None],
        [{"00081150": "not an element"}],
        [{"00081150": {"vr": "UI", "Value": "1.2"}}],
        [{"0008115a": {"vr": "UI"}}],
    ):
        shape = SequenceShape()
        collect_shape([{"vr": "SQ", "Value": value}], REFS, shape, 1, ConversionOptions())
        assert not shape.is_simple(), value


def test_refused_values_add_no_fields():
    shape = SequenceShape()
    collect_shape(
        [{"vr": "LO", "Value": [item(**{"00081150": "1"})]}], REFS, shape, 1, ConversionOptions()
    )
    assert shape.fields == {} and not shape.is_simple()
