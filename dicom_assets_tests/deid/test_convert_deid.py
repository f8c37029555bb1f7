"""The conversion with de-identification: both paths give the same rows, nothing leaks."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.schema import ConversionOptions, convert_entries
from dicom_assets_tests.deid.phi_corpus import dicom_json, found_needles, needles, phi_corpus
from dicom_assets_tests.schema.feed_entries import entry_for

KEY = "convert-key-" + "z" * 40


@pytest.fixture(scope="module")
def corpus():
    return phi_corpus(patients=2, studies=2, series=2, instances=2)


def _entries(corpus, as_bytes: bool):
    out = []
    for number, ds in enumerate(corpus.datasets, start=1):
        metadata = dicom_json(ds)
        uids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        out.append(entry_for(orjson.dumps(metadata) if as_bytes else metadata, number, uids=uids))
    return out


def _text(table: pa.Table) -> str:
    return "\n".join(repr(value) for column in table.columns for value in column.to_pylist())


@pytest.mark.parametrize("options", ["", "retain-longitudinal-modified-dates,clean-descriptors"])
def test_native_and_python_paths_give_the_same_rows(corpus, options):
    deid = Deidentifier(DeidSettings.parse("basic", options, KEY))
    native = convert_entries(_entries(corpus, True), ConversionOptions(deidentifier=deid))
    python = convert_entries(
        _entries(corpus, True), ConversionOptions(deidentifier=deid, native=False)
    )
    dicts = convert_entries(_entries(corpus, False), ConversionOptions(deidentifier=deid))
    assert native.table.num_rows == len(corpus.datasets)
    assert native.table.equals(python.table)
    assert native.table.to_pylist() == dicts.table.to_pylist()
    assert found_needles(_text(native.table), needles(corpus)) == set()
    plain = convert_entries(_entries(corpus, True))  # the scan does find them without deid
    assert found_needles(_text(plain.table), needles(corpus)) >= corpus.phi


def test_row_uids_are_the_pseudonyms_of_the_metadata(corpus):
    deid = Deidentifier(DeidSettings.parse("basic", "", KEY))
    table = convert_entries(_entries(corpus, True), ConversionOptions(deidentifier=deid)).table
    for row, ds in zip(table.to_pylist(), corpus.datasets, strict=True):
        assert row["SOPInstanceUID"] == deid.pseudonyms.uid(ds.SOPInstanceUID)
        assert row["StudyInstanceUID"] == deid.pseudonyms.uid(ds.StudyInstanceUID)
        assert orjson.loads(row["_metadata"])["00080018"]["Value"] == [row["SOPInstanceUID"]]
        assert row["PatientIdentityRemoved"] == "YES"
        assert row["Modality"] == "CT"


def test_unreadable_metadata_is_quarantined_as_a_keyed_digest():
    deid = Deidentifier(DeidSettings.parse("basic", "", KEY))
    secret = b'{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Quixlander^Secret"}]'  # cut
    entry = entry_for(secret, 1, uids=("1.2.3.4.5", "1.2.3.4.6", "1.2.3.4.7"))
    batch = convert_entries([entry], ConversionOptions(deidentifier=deid))
    assert batch.table.num_rows == 0 and len(batch.quarantined) == 1
    item = batch.quarantined[0]
    shown = f"{item.reason} {item.raw_payload} {item.entry!r}"
    assert "Quixlander" not in shown and "1.2.3.4.5" not in shown
    assert "keyed digest" in item.raw_payload
