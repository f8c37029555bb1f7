import pyarrow as pa
import pytest

from dicom_assets.schema.finish import Finisher
from dicom_assets.schema.finish_values import NeedsReference
from dicom_assets.schema.model import ConversionOptions
from dicom_assets.schema.raw import raw_type
from dicom_assets.schema.vr import spec_for_key

ROWS = spec_for_key("00280010")  # US, VM 1
SPACING = spec_for_key("00280030")  # DS, VM 2


def finish(elements, spec):
    invalid: list[tuple[int, str]] = []
    raw = pa.array(elements, raw_type(spec))
    return Finisher(ConversionOptions()).finish(raw, spec, spec.keyword, 0, None, invalid), invalid


def test_integers_travel_as_float64_so_fractions_are_seen_not_truncated():
    array, invalid = finish(
        [
            {"vr": "US", "Value": [512]},
            {"vr": "US", "Value": [1.5]},
            {"vr": "US", "Value": [5.0]},
            None,
            {"vr": "US"},
        ],
        ROWS,
    )
    assert array.type == pa.int64()
    assert array.to_pylist() == [512, None, 5, None, None]
    assert invalid == [(1, "Rows")]


def test_integers_beyond_exact_float_go_to_the_reference_reader():
    with pytest.raises(NeedsReference):
        finish([{"vr": "US", "Value": [2**53]}], ROWS)


def test_lists_empty_values_and_wrong_vr():
    array, invalid = finish(
        [
            {"vr": "DS", "Value": [0.5, None]},
            {"vr": "DS", "Value": []},
            {"vr": "DA", "Value": [1.0]},
            {"Value": [2, 3]},
        ],
        SPACING,
    )
    assert array.to_pylist() == [[0.5, None], None, None, [2.0, 3.0]]
    assert invalid == [(1, "PixelSpacing"), (2, "PixelSpacing")]
