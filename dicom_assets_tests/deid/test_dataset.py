"""De-identifying DICOM JSON with the reference implementation, on the PHI corpus."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets_tests.deid.phi_corpus import dicom_json, found_needles, needles, phi_corpus

KEY = "test-key-" + "x" * 40


def deidentifier(options: str = "", key: str = KEY) -> Deidentifier:
    return Deidentifier(DeidSettings.parse("basic", options, key))


@pytest.fixture(scope="module")
def corpus():
    return phi_corpus()


@pytest.fixture(scope="module")
def originals(corpus):
    return [dicom_json(ds) for ds in corpus.datasets]


def test_no_original_value_survives(corpus, originals):
    deid = deidentifier()
    text = b"\n".join(orjson.dumps(deid.dataset(item)) for item in originals).decode()
    assert found_needles(text, needles(corpus)) == set()
    # the originals did hold them all (the scan can fail)
    original_text = b"\n".join(orjson.dumps(item) for item in originals).decode()
    iso_dates = {day.isoformat() for day in corpus.dates}  # only typed columns render these
    assert found_needles(original_text, needles(corpus)) == needles(corpus) - iso_dates


def test_what_must_survive_and_the_marks(originals):
    out = deidentifier().dataset(originals[1])
    assert out["00080060"]["Value"] == ["CT"]  # Modality
    assert out["00280030"]["Value"] == [0.703125, 0.703125]  # PixelSpacing
    assert out["00180060"]["Value"] == [120]  # KVP
    assert out["00080070"]["Value"] == ["DICOM-ASSETS"]
    assert out["00081032"]["Value"][0]["00080100"]["Value"] == ["77477000"]
    assert out["00080016"]["Value"] == ["1.2.840.10008.5.1.4.1.1.2"]
    assert out["00120062"]["Value"] == ["YES"]
    codes = [item["00080100"]["Value"][0] for item in out["00120064"]["Value"]]
    assert codes == ["113100"]
    assert out["00280303"]["Value"] == ["REMOVED"]
    assert out["00080020"] == {"vr": "DA"}  # StudyDate: Z
    assert "00100030" in out and "Value" not in out["00100030"]
    assert "00111010" not in out and "00110010" not in out  # private text removed
    assert "BulkDataURI" not in orjson.dumps(out).decode()


def test_references_map_like_the_uids_they_point_to(originals):
    deid = deidentifier()
    out = [deid.dataset(item) for item in originals]
    sops = {item["00080018"]["Value"][0] for item in out}
    for item in out:
        if "00082112" in item:
            referenced = item["00082112"]["Value"][0]["00081155"]["Value"][0]
            assert referenced in sops and referenced.startswith("2.25.")
        request = item["0040A370"]["Value"][0]
        assert request["0020000D"] == item["0020000D"]
        inner = request["00081115"]["Value"][0]  # two sequences deep
        assert inner["0020000E"] == item["0020000E"]
        assert inner["00100020"] == item["00100020"]  # the same patient pseudonym
        assert inner["00081070"] == {"vr": "PN"}  # OperatorsName emptied at depth 2


def test_same_key_same_pseudonyms_other_key_disjoint(originals):
    first = [deidentifier().dataset(item)["00080018"]["Value"][0] for item in originals]
    again = [deidentifier().dataset(item)["00080018"]["Value"][0] for item in originals]
    other = [
        deidentifier(key="another-key-" + "y" * 40).dataset(item)["00080018"]["Value"][0]
        for item in originals
    ]
    assert first == again
    assert not set(first) & set(other)


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text[:8], "%Y%m%d").date()


def test_modified_dates_keep_intervals_within_a_patient(corpus, originals):
    deid = deidentifier("retain-longitudinal-modified-dates")
    out = [deid.dataset(item) for item in originals]
    by_patient: dict[str, list[tuple[dict, dict]]] = {}
    for before, after in zip(originals, out, strict=True):
        by_patient.setdefault(after["00100020"]["Value"][0], []).append((before, after))
    assert len(by_patient) == 3
    shifts = set()
    for pairs in by_patient.values():
        patient_shifts = set()
        for before, after in pairs:
            for tag in ("00080020", "00080021", "0008002A"):  # birth date: Z even so
                shift = _date(before[tag]["Value"][0]) - _date(after[tag]["Value"][0])
                patient_shifts.add(shift)
            assert after["0008002A"]["Value"][0][8:] == before["0008002A"]["Value"][0][8:]
            assert after["00080030"] == before["00080030"]  # times kept
            assert after["00280303"]["Value"] == ["MODIFIED"]
        assert len(patient_shifts) == 1
        (shift,) = patient_shifts
        assert dt.timedelta(days=1) <= shift <= dt.timedelta(days=3650)
        shifts.add(shift)
    assert len(shifts) > 1  # per patient, not one global shift
    text = b"\n".join(orjson.dumps(item) for item in out).decode()
    dates = {d.strftime("%Y%m%d") for d in corpus.dates}
    assert found_needles(text, dates) == set()


def test_clean_descriptors_keeps_descriptions_without_the_patient(originals):
    out = deidentifier("clean-descriptors").dataset(originals[0])
    description = out["00081030"]["Value"][0]
    assert description.startswith("CT chest for") and "Quixlander" not in description
    assert "Marguerite" not in description
    codes = [item["00080100"]["Value"][0] for item in out["00120064"]["Value"]]
    assert codes == ["113100", "113105"]


def test_retain_uids_keeps_them(originals):
    out = deidentifier("retain-uids").dataset(originals[0])
    assert out["0020000D"] == originals[0]["0020000D"]


def test_odd_input_never_raises_and_drops_what_it_cannot_judge():
    odd = {
        "00100010": "not an element",
        "00100020": {"vr": "LO", "Value": [12]},
        "0020000D": {"vr": "UI", "Value": [None, "1.2.3"]},
        "00081115": {"vr": "SQ", "Value": ["not an item", {"0020000E": {"vr": "UI"}}]},
        "00080020": {"vr": "DA", "Value": "20200101"},
        "zz": {"vr": "LO", "Value": ["x"]},
        "00080060": {"Value": ["CT"]},
    }
    out = deidentifier("retain-longitudinal-modified-dates").dataset(odd)
    assert "zz" not in out and "00080060" not in out
    assert out["0020000D"]["Value"][0] is None
    assert out["0020000D"]["Value"][1].startswith("2.25.")
    assert out["00081115"]["Value"][0] is None
