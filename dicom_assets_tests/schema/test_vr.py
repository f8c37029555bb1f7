import pyarrow as pa
from pydicom.datadict import DicomDictionary

from dicom_assets.schema.kinds import KIND_TYPES
from dicom_assets.schema.layout import HEAD_FIELDS, TAIL_FIELDS
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets.schema.vr import kind_for_dictionary_vr, spec_for_key


def test_dictionary_decides_type_and_list():
    assert spec_for_key("00100010").value_type() == KIND_TYPES["pn"]
    assert spec_for_key("00280030").value_type() == pa.list_(pa.float64())  # PixelSpacing VM 2
    assert spec_for_key("00280010").value_type() == pa.int64()  # Rows, US
    assert spec_for_key("00080020").value_type() == pa.date32()
    assert spec_for_key("00080030").value_type() == pa.string()  # TM: HH:MM:SS.ffffff
    assert spec_for_key("0008002A").value_type() == pa.timestamp("us", tz="UTC")
    assert spec_for_key("00080008").value_type() == pa.list_(pa.string())  # ImageType 2-n
    assert spec_for_key("00200013").value_type() == pa.int64()  # InstanceNumber, IS


def test_key_case_and_categories():
    assert spec_for_key("0020000d").keyword == "StudyInstanceUID"
    assert spec_for_key("7FE00010").category == "bulk"  # PixelData, OB or OW
    assert spec_for_key("00091001").category == "private"
    assert spec_for_key("00080000").category == "unknown"  # group length
    assert spec_for_key("zzzz0000").category == "invalid"
    assert spec_for_key("+0100010").category == "invalid"
    assert spec_for_key("0010").category == "invalid"


def test_alternative_vrs_rule():
    assert kind_for_dictionary_vr("US or SS") == "int"
    assert kind_for_dictionary_vr("US or SS or OW") == "int"
    assert kind_for_dictionary_vr("OB or OW") == "bulk"
    spec = spec_for_key("00280106")  # SmallestImagePixelValue, US or SS
    assert spec.kind == "int" and {"US", "SS"} <= spec.accepted_vrs


def test_repeating_groups_base_only():
    assert spec_for_key("60000010").keyword == "OverlayRows"
    assert spec_for_key("60020010").category == "unknown"  # would collide with group 6000


def test_every_column_type_of_the_dictionary_is_portable():
    """No TIME, zone-less timestamp, unsigned integer, float16 or duration, at any tag."""
    typed = [spec_for_key(f"{tag:08X}") for tag in DicomDictionary]
    types = {spec.value_type() for spec in typed if spec.category == "typed" and spec.kind != "seq"}
    assert pa.string() in types and pa.timestamp("us", tz="UTC") in types
    schema = pa.schema(
        [pa.field(f"c{i}", t) for i, t in enumerate(types)] + HEAD_FIELDS + TAIL_FIELDS
    )
    assert non_portable_fields(schema) == []
