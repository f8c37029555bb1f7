"""WADO-RS answers split into per-instance JSON bytes: the same documents as parsing them."""

import dataclasses
import json

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dicom_assets import native
from dicom_assets.schema import convert_entries
from dicom_assets.sources.dicomweb import (
    IDENTIFIERS,
    MetadataAnswerError,
    document_of,
    documents_of,
)
from dicom_assets_tests.schema.feed_entries import entry_for
from dicom_assets_tests.schema.json_strategies import DATASETS, PLAUSIBLE

UID = st.text(st.sampled_from("0123456789."), min_size=1, max_size=20)
IDENTIFIED = st.fixed_dictionaries(
    {
        tag: st.fixed_dictionaries(
            {"vr": st.just("UI"), "Value": st.lists(UID | st.integers(), max_size=2)}
        )
        for tag in IDENTIFIERS
    }
)
INSTANCES = st.lists(
    st.one_of(
        PLAUSIBLE,
        DATASETS,
        st.tuples(IDENTIFIED, PLAUSIBLE).map(lambda pair: {**pair[1], **pair[0]}),
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INSTANCES, st.booleans())
def test_split_answers_hold_the_parsed_documents(instances, indent):
    try:
        body = json.dumps(
            instances, indent=1 if indent else None, ensure_ascii=False, allow_nan=False
        ).encode("utf-8", "surrogatepass")
    except ValueError:  # NaN / Infinity: no server's JSON
        assume(False)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:  # lone surrogates: not JSON text, for either reader
        assert native.split_array(body, IDENTIFIERS) is None
        return
    documents = documents_of(body, "a series")
    assert all(isinstance(d.metadata, bytes) for d in documents)
    assert [dataclasses.replace(d, metadata=json.loads(d.metadata)) for d in documents] == [
        document_of(dataset) for dataset in json.loads(body)
    ]


def test_identifiers_are_read_from_the_bytes():
    body = (
        b'[{"0020000D": {"vr": "UI", "Value": ["1.2"]}, "00100020": {"vr": "LO", "Value": []},'
        b' "0020000E": {"vr": "UI", "Value": [3, "x"]}, "00080018": {"vr": "UI", "Value": '
        b'["1.2.\\u0033"]}, "00080018": {"vr": "UI", "Value": ["1.2.4"]}}, {}]'
    )
    documents = documents_of(body, "a series")
    # A repeated key reads as a parsed dict reads it: the last one.
    assert [(d.patient_id, d.study_uid, d.series_uid, d.sop_uid) for d in documents] == [
        ("", "1.2", "", "1.2.4"),
        ("", "", "", ""),
    ]
    assert documents[1].metadata == b"{}"


@pytest.mark.parametrize("body", [b"", b"{}", b"[1, 2]", b'[{"a": 1}] x', b"[{]"])
def test_an_answer_that_is_not_an_array_of_objects_is_refused_or_parsed(body):
    try:
        documents = documents_of(body, "a series")
    except MetadataAnswerError as error:
        assert "WADO-RS metadata of a series" in str(error)
    else:  # valid JSON, not objects: parsed, kept for the converter to quarantine
        assert [d.metadata for d in documents] == orjson.loads(body)


def test_an_answer_with_a_lone_surrogate_is_parsed_and_its_instances_kept():
    # JSON allows the escape; orjson and the native splitter refuse it: the standard library
    # parses the answer, and the converter flags the odd value instead of the run failing.
    body = (
        b'[{"00080018": {"vr": "UI", "Value": ["1.2.3"]}, '
        b'"00100010": {"vr": "PN", "Value": [{"Alphabetic": "\\ud800"}]}}, '
        b'{"00080018": {"vr": "UI", "Value": ["1.2.4"]}, "99999999": 12345678901234567890123}]'
    )
    documents = documents_of(body, "a series")
    assert [d.sop_uid for d in documents] == ["1.2.3", "1.2.4"]
    assert documents[0].metadata["00100010"]["Value"][0]["Alphabetic"] == "\ud800"
    batch = convert_entries([entry_for(d.metadata, i) for i, d in enumerate(documents)])
    assert batch.table.num_rows + len(batch.quarantined) == 2
    assert batch.table.column("SOPInstanceUID").to_pylist()[0] == "1.2.3"
    assert batch.table.column("_invalid").to_pylist()[0] == ["PatientName"]
