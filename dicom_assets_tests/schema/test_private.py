import duckdb
import pyarrow as pa
import pydicom
from pydicom.data import get_testdata_file

from dicom_assets.schema import convert_entries
from dicom_assets.schema.private import render_private_value
from dicom_assets_tests.schema.feed_entries import entry_for


def test_private_entries_with_creator():
    md = {
        "00291010": {"vr": "LO", "Value": ["SIEMENS CSA HEADER"]},
        "00291008": {"vr": "CS", "Value": ["IMAGE NUM 4"]},
        "00291108": {"vr": "CS", "Value": ["A", "B"]},
        "00431001": {"vr": "SS", "Value": [5]},
        "00291120": {"vr": "OB", "InlineBinary": "AAEC"},
        "00080000": {"vr": "UL", "Value": [12]},
    }
    md["00290011"] = {"vr": "LO", "Value": ["SIEMENS MEDCOM HEADER"]}
    md["00290010"] = {"vr": "LO", "Value": ["SIEMENS CSA HEADER"]}
    row = convert_entries([entry_for(md)]).table.to_pylist()[0]
    assert row["_private"] == [
        {"creator": None, "tag": "00080000", "vr": "UL", "value": "12"},
        {"creator": "SIEMENS CSA HEADER", "tag": "00291008", "vr": "CS", "value": "IMAGE NUM 4"},
        {
            "creator": "SIEMENS CSA HEADER",
            "tag": "00291010",
            "vr": "LO",
            "value": "SIEMENS CSA HEADER",
        },
        {"creator": "SIEMENS MEDCOM HEADER", "tag": "00291108", "vr": "CS", "value": "A\\B"},
        {"creator": "SIEMENS MEDCOM HEADER", "tag": "00291120", "vr": "OB", "value": "AAEC"},
        {"creator": None, "tag": "00431001", "vr": "SS", "value": "5"},
    ]


def test_rendering_of_pn_sequence_and_long_values():
    assert render_private_value({"vr": "PN", "Value": [{"Alphabetic": "A^B"}]}, 100) == "A^B"
    assert render_private_value({"vr": "SQ", "Value": [{"00100010": {"vr": "PN"}}]}, 100) == (
        '[{"00100010":{"vr":"PN"}}]'
    )
    assert render_private_value({"vr": "OB", "InlineBinary": "A" * 101}, 100) is None
    assert render_private_value({"vr": "UN", "BulkDataURI": "http://x"}, 100) is None


def test_duckdb_finds_a_vendors_private_value():
    md = pydicom.dcmread(get_testdata_file("CT_small.dcm")).to_json_dict()
    rows = convert_entries([entry_for(md)]).table
    found = duckdb.sql(
        """
        SELECT SOPInstanceUID, p.value
        FROM (SELECT SOPInstanceUID, unnest(_private) AS p FROM rows)
        WHERE p.creator = 'GEMS_IDEN_01' AND p.tag LIKE '0009__04'
        """
    ).fetchall()
    assert found == [("1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322", "HiSpeed CT/i")]
    assert pa.types.is_list(rows.schema.field("_private").type)
