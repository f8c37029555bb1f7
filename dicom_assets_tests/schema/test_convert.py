import datetime as dt

import orjson
import pyarrow as pa
import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file

from dicom_assets.feed_entry import ChangeAction
from dicom_assets.schema import ConversionOptions, convert_entries
from dicom_assets_tests.conftest import ROW_HEAD
from dicom_assets_tests.schema.feed_entries import entry_for


def dataset_json(name: str) -> dict:
    return pydicom.dcmread(get_testdata_file(name)).to_json_dict()


@pytest.fixture(scope="module")
def ct() -> dict:
    return dataset_json("CT_small.dcm")


def test_columns_order_types_and_values(ct):
    batch = convert_entries([entry_for(ct)])
    table = batch.table
    names = table.column_names
    assert names[:6] == ROW_HEAD and names[-3:] == ["_private", "_invalid", "_metadata"]
    attributes = names[6:-3]
    tags = [pydicom.datadict.tag_for_keyword(k) for k in attributes]
    assert tags == sorted(tags) and len(set(attributes)) == len(attributes)
    assert not {"StudyInstanceUID", "PixelData"} & set(attributes)
    assert table.schema.field("_timestamp").type == pa.timestamp("us", tz="UTC")
    row = table.to_pylist()[0]
    assert row["StudyInstanceUID"] == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    assert row["PatientName"]["Alphabetic"] == "CompressedSamples^CT1"
    assert row["StudyDate"] == dt.date(2004, 1, 19)
    assert row["ImagePositionPatient"] == [-158.135803, -179.035797, -75.699997]
    assert row["OtherPatientIDsSequence"][1] == {"PatientID": "1234ABCD", "TypeOfPatientID": "TEXT"}
    assert row["Rows"] == 128 and row["_invalid"] == []
    assert orjson.loads(row["_metadata"]) == ct
    assert batch.quarantined == [] and batch.invalid_values == 0


def test_rows_in_input_order_with_deletes_and_missing_attributes(ct):
    sparse = {"00100020": {"vr": "LO", "Value": ["P2"]}, "00080018": {"vr": "UI", "Value": ["9.9"]}}
    delete = entry_for(None, 5, ChangeAction.DELETE, ("1", "2", "3"))
    batch = convert_entries([entry_for(ct, 7), delete, entry_for(sparse, 2)])
    rows = batch.table.to_pylist()
    assert [r["_sequence"] for r in rows] == [7, 5, 2]
    assert [r["_action"] for r in rows] == ["create", "delete", "create"]
    assert rows[1]["SOPInstanceUID"] == "3" and rows[2]["SOPInstanceUID"] == "9.9"
    assert rows[1]["_metadata"] is None and rows[1]["_invalid"] is None
    assert rows[1]["PatientID"] is None and rows[2]["PatientID"] == "P2"
    assert rows[2]["Rows"] is None and rows[0]["Rows"] == 128


def test_entry_uids_win_over_metadata(ct):
    row = convert_entries([entry_for(ct, uids=("s", "se", "i"))]).table.to_pylist()[0]
    assert (row["StudyInstanceUID"], row["SeriesInstanceUID"], row["SOPInstanceUID"]) == (
        "s",
        "se",
        "i",
    )


def test_invalid_values_listed_and_counted(ct):
    bad = dict(ct)
    bad["00080020"] = {"vr": "DA", "Value": ["20261341"]}
    bad["00280030"] = {"vr": "DS", "Value": ["1,5", "1"]}
    bad["00200013"] = {"vr": "IS", "Value": ["99999999999999999999"]}
    bad["00100010"] = {"vr": "PN", "Value": ["a=b=c=d"]}
    bad["00280010"] = {"vr": "LO", "Value": ["x"]}
    bad["00080050"] = {"vr": "SH", "Value": []}
    bad["zz"] = {"vr": "LO", "Value": ["?"]}
    batch = convert_entries([entry_for(bad)])
    row = batch.table.to_pylist()[0]
    assert row["_invalid"] == [
        "StudyDate",
        "AccessionNumber",
        "PatientName",
        "InstanceNumber",
        "Rows",
        "PixelSpacing",
        "zz",
    ]
    assert batch.invalid_values == 7
    assert row["StudyDate"] is row["PixelSpacing"] is row["Rows"] is None
    assert orjson.loads(row["_metadata"])["00080020"]["Value"] == ["20261341"]


def test_unreadable_entries_are_quarantined_not_rows(ct):
    entries = [
        entry_for([ct]),
        entry_for("{not json"),
        entry_for(ct, 3),
        object(),
        entry_for(orjson.dumps(ct).decode(), 4),
    ]
    batch = convert_entries(entries)
    assert batch.table.column("_sequence").to_pylist() == [3, 4]
    reasons = [q.reason for q in batch.quarantined]
    assert len(reasons) == 3 and "list" in reasons[0] and "JSON" in reasons[1]
    assert orjson.loads(batch.quarantined[0].raw_payload) == [ct]
    assert batch.quarantined[1].raw_payload == "{not json"


def test_empty_batch_has_the_fixed_columns():
    table = convert_entries([]).table
    assert table.num_rows == 0
    assert table.column_names == ROW_HEAD + ["_private", "_invalid", "_metadata"]


def test_excluded_sequences_stay_in_metadata_only():
    md = dataset_json("liver_1frame.dcm")
    assert "52009230" in md
    default = convert_entries([entry_for(md)]).table
    assert "PerFrameFunctionalGroupsSequence" not in default.column_names
    assert "SharedFunctionalGroupsSequence" in default.column_names
    typed = convert_entries(
        [entry_for(md)], ConversionOptions(typed_sequence_exclusions=frozenset())
    )
    frames = typed.table.column("PerFrameFunctionalGroupsSequence").to_pylist()[0]
    assert len(frames) == len(md["52009230"]["Value"]) >= 1
    assert "52009230" in orjson.loads(default.column("_metadata")[0].as_py())


def test_character_sets_survive(ct):
    md = pydicom.dcmread(get_charset_files("chrH31.dcm")[0]).to_json_dict()
    row = convert_entries([entry_for(md)]).table.to_pylist()[0]
    assert row["PatientName"]["Ideographic"] == "山田^太郎"
    assert row["PatientName"]["Phonetic"] == "やまだ^たろう"
