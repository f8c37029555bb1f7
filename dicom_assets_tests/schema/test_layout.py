from dicom_assets.schema import convert_entries
from dicom_assets.schema.layout import one_table
from dicom_assets_tests.conftest import ROW_HEAD
from dicom_assets_tests.schema.feed_entries import entry_for

UIDS = {"0020000D": {"vr": "UI", "Value": ["1.2"]}, "0020000E": {"vr": "UI", "Value": ["1.2.3"]}}


def _md(sop: str, **elements) -> dict:
    return {**UIDS, "00080018": {"vr": "UI", "Value": [sop]}, **elements}


def test_batches_with_different_attributes_become_one_table_in_tag_order():
    ct = convert_entries(
        [
            entry_for(
                _md(
                    "1.2.3.1",
                    **{
                        "00180050": {"vr": "DS", "Value": [1.25]},
                        "00081140": {
                            "vr": "SQ",
                            "Value": [{"00081150": {"vr": "UI", "Value": ["1.1"]}}],
                        },
                    },
                ),
                1,
            )
        ]
    ).table
    mr = convert_entries(
        [
            entry_for(
                _md(
                    "1.2.3.2",
                    **{
                        "00080070": {"vr": "LO", "Value": ["ACME"]},
                        "00081140": {
                            "vr": "SQ",
                            "Value": [{"00081155": {"vr": "UI", "Value": ["9.9"]}}],
                        },
                    },
                ),
                2,
            )
        ]
    ).table
    table = one_table([ct, mr])
    names = table.column_names
    assert names[:6] == ROW_HEAD
    assert names[6:9] == ["Manufacturer", "ReferencedImageSequence", "SliceThickness"]
    assert names[-3:] == ["_private", "_invalid", "_metadata"]
    rows = table.to_pylist()
    assert [r["SliceThickness"] for r in rows] == [1.25, None]
    assert [r["Manufacturer"] for r in rows] == [None, "ACME"]
    assert rows[0]["ReferencedImageSequence"] == [
        {"ReferencedSOPClassUID": "1.1", "ReferencedSOPInstanceUID": None}
    ]
    assert rows[1]["ReferencedImageSequence"] == [
        {"ReferencedSOPClassUID": None, "ReferencedSOPInstanceUID": "9.9"}
    ]


def test_one_table_of_one_is_that_table():
    table = convert_entries([entry_for(_md("1.2.3.1"), 1)]).table
    assert one_table([table]) is table
