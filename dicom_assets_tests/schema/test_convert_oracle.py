"""Correct by oracle: pydicom's whole corpus through a real Orthanc, compared with pydicom.

Every file of pydicom's bundled corpus (test files and character-set files) that Orthanc accepts
is stored, read back as DICOM JSON over WADO-RS as the Orthanc source reads it (each answer split
into per-instance JSON bytes) and converted in one batch by the native shredder; every top-level
standard attribute of the file must then hold in its column what pydicom reads from the file itself,
converted by the VR table (sequences item by item, names by group).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pydicom.data
import pytest
import requests

from dicom_assets.devtools.samples import storable_groups, upload
from dicom_assets.schema import ConversionOptions, convert_entries
from dicom_assets.schema.portable import non_portable_fields
from dicom_assets.schema.shredded import Shredded
from dicom_assets.schema.vr import spec_for_key
from dicom_assets.sources.dicomweb import DICOM_JSON, InstanceDocument, documents_of
from dicom_assets_tests.schema.feed_entries import entry_for
from dicom_assets_tests.schema.pydicom_oracle import UNCONVERTIBLE, expected_value, typed_keys

DATA = Path(pydicom.data.__file__).parent

# Where Orthanc's own DICOM JSON differs from the file (not a converter matter), by file and
# keyword ("*": the whole file). Each is checked below to still differ, so a fixed server shows.
SERVER_DEVIATIONS = {
    # DCMTK decodes the backslash of ISO 2022 IR 13 (JIS X 0201) as a Yen sign: multi-valued
    # attributes arrive as one value ("ORIGINAL¥PRIMARY"), DS lists as unparsable text.
    ("J2K_pixelrep_mismatch.dcm", "*"): "ISO 2022 IR 13 backslash read as ¥",
    # Orthanc's metadata of these RLE files lacks attributes and keeps padding spaces.
    ("rtdose_rle.dcm", "*"): "partial WADO-RS metadata",
    ("rtdose_rle_1frame.dcm", "*"): "partial WADO-RS metadata",
    # The empty first value of SpecificCharacterSet ("\\ISO 2022 IR 87") is dropped.
    ("chrH31.dcm", "SpecificCharacterSet"): "empty first value dropped",
    ("chrI2.dcm", "SpecificCharacterSet"): "empty first value dropped",
    ("chrJapMulti.dcm", "SpecificCharacterSet"): "empty first value dropped",
    ("chrKoreanMulti.dcm", "SpecificCharacterSet"): "empty first value dropped",
    # JIS X 0208 after JIS X 0201 / ASCII in ISO 2022 is left undecoded (escape bytes remain).
    ("chrH32.dcm", "PatientName"): "ISO 2022 IR 13 + IR 87 not decoded",
    ("chrJapMultiExplicitIR6.dcm", "PatientName"): "ISO 2022 IR 87 not decoded",
    ("chrJapMultiExplicitIR6.dcm", "OtherPatientNames"): "ISO 2022 IR 87 not decoded",
    ("chrJapMultiExplicitIR6.dcm", "AdditionalPatientHistory"): "ISO 2022 IR 87 not decoded",
}


def deviation(file_name: str, keyword: str) -> bool:
    return (file_name, "*") in SERVER_DEVIATIONS or (file_name, keyword) in SERVER_DEVIATIONS


def corpus() -> list[Path]:
    """pydicom's bundled DICOM files that pydicom itself can read."""
    paths = sorted((DATA / "test_files").rglob("*.dcm")) + sorted(
        (DATA / "charset_files").glob("*.dcm")
    )
    readable = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001, S112 - deliberately broken files of the corpus
            continue
        readable.append(path)
    return readable


def same(expected: Any, got: Any, path: str, problems: list[str]) -> None:
    """Append to ``problems`` every difference between expected and converted values."""
    if expected is UNCONVERTIBLE:  # inside a sequence (top-level ones are checked in compare)
        if got is not None:
            problems.append(f"{path}: not of its VR, got {got!r:.80}")
    elif isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (e, g) in enumerate(zip(expected, got)):
            same(e, g, f"{path}[{index}]", problems)
    elif isinstance(expected, dict) and isinstance(got, dict):
        for key in expected.keys() | {k for k, v in got.items() if v is not None}:
            same(expected.get(key), got.get(key), f"{path}.{key}", problems)
    elif isinstance(expected, float) and isinstance(got, float):
        if not _same_float(expected, got):
            problems.append(f"{path}: {expected!r} != {got!r}")
    elif expected != got and not (expected == [] and got is None):
        # (an empty sequence has no column when no item in the batch has a typed field)
        problems.append(f"{path}: {expected!r:.200} != {got!r:.200}")


def _same_float(expected: float, got: float) -> bool:
    # FL is float32 in the file; Orthanc prints it with fewer digits than float64 holds.
    return (
        math.isclose(expected, got, rel_tol=1e-7)
        or expected == got
        or (math.isnan(expected) and math.isnan(got))
    )


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> list[tuple[Path, pydicom.Dataset, dict[str, Any]]]:
    """(file, pydicom's reading, converted row) for every corpus file Orthanc accepts."""
    from dicom_assets.devtools.orthanc_server import OrthancServer

    stored: list[tuple[Path, pydicom.Dataset, InstanceDocument]] = []
    with OrthancServer(tmp_path_factory.mktemp("orthanc-oracle")) as orthanc:
        for group in storable_groups(corpus()):
            answers = upload(orthanc.url, [path.read_bytes() for path, _ in group], workers=4)
            by_sop: dict[str, InstanceDocument] = {}
            for study, series in {
                (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
                for (_, ds), answer in zip(group, answers)
                if answer
            }:
                resource = f"studies/{study}/series/{series}"
                answer = requests.get(
                    f"{orthanc.dicomweb_url}/{resource}/metadata",
                    headers={"Accept": DICOM_JSON},
                    timeout=60,
                )
                answer.raise_for_status()
                for document in documents_of(answer.content, resource):
                    by_sop[document.sop_uid] = document
            for (path, ds), answer in zip(group, answers):
                if answer is not None:
                    assert answer["Status"] == "Success", (path.name, answer)
                    stored.append((path, ds, by_sop[str(ds.SOPInstanceUID)]))
                    requests.delete(f"{orthanc.url}/instances/{answer['ID']}", timeout=30)
    documents = [document for _, _, document in stored]
    assert all(isinstance(d.metadata, bytes) for d in documents)
    assert Shredded([d.metadata for d in documents], ConversionOptions()).set_aside == []
    # One batch for the whole corpus: columns and sequence structs are the union of all files.
    batch = convert_entries(
        [
            entry_for(d.metadata, i, uids=(d.study_uid, d.series_uid, d.sop_uid))
            for i, d in enumerate(documents)
        ]
    )
    assert batch.quarantined == []
    assert non_portable_fields(batch.table.schema) == []  # every reader reads every column
    rows = batch.table.to_pylist()
    return [(path, ds, row) for (path, ds, _), row in zip(stored, rows)]


def compare(synced) -> tuple[dict[tuple[str, str], list[str]], int]:
    """Differences by (file, keyword) between the rows and pydicom, and the count compared."""
    exclusions = ConversionOptions().typed_sequence_exclusions
    problems: dict[tuple[str, str], list[str]] = {}
    compared = 0
    for path, ds, row in synced:
        for key in typed_keys(ds, top_level=True, exclusions=exclusions):
            keyword = spec_for_key(key).keyword
            expected = expected_value(ds[int(key, 16)], exclusions)
            got = row.get(keyword)
            found: list[str] = []
            if expected is UNCONVERTIBLE:
                if got is not None or keyword not in row["_invalid"]:
                    found.append(f"{path.name}:{keyword}: not of its VR, got {got!r:.80}")
            else:
                same(expected, got, f"{path.name}:{keyword}", found)
            if found:
                problems[(path.name, keyword)] = found
            compared += 1
    return problems, compared


def test_every_top_level_attribute_matches_pydicom(synced):
    problems, compared = compare(synced)
    unexpected = [
        p
        for (name, keyword), found in problems.items()
        if not deviation(name, keyword)
        for p in found
    ]
    assert unexpected == [], "\n".join(unexpected)
    assert len(synced) >= 70 and compared >= 3000


def test_known_server_deviations_are_still_there(synced):
    problems, _ = compare(synced)
    for name, keyword in SERVER_DEVIATIONS:
        assert any(n == name and (keyword in ("*", k)) for n, k in problems), (name, keyword)
    row = next(row for path, _, row in synced if path.name == "J2K_pixelrep_mismatch.dcm")
    assert row["ImageType"] == ["ORIGINAL¥PRIMARY¥AXIAL¥NORMAL"]
    assert row["PixelSpacing"] is None and "PixelSpacing" in row["_invalid"]


def test_character_sets_come_out_as_unicode(synced):
    names = {path.name: row for path, _, row in synced if path.parent.name == "charset_files"}
    assert len(names) >= 15
    assert names["chrH31.dcm"]["PatientName"]["Ideographic"] == "山田^太郎"
    assert names["chrGerm.dcm"]["PatientName"]["Alphabetic"] == "Äneas^Rüdiger"
    assert names["chrRuss.dcm"]["PatientName"]["Alphabetic"] == "Люкceмбypг"
    assert names["chrX1.dcm"]["PatientName"]["Alphabetic"] == "Wang^XiaoDong"
    assert names["chrX1.dcm"]["PatientName"]["Ideographic"] == "王^小東"


def test_dates_spark_3_cannot_read_are_invalid(synced):
    rows = {path.name: row for path, _, row in synced}
    overlay = rows["examples_overlay.dcm"]  # PatientBirthDate 11111111
    assert overlay["PatientBirthDate"] is None and "PatientBirthDate" in overlay["_invalid"]
    assert json.loads(overlay["_metadata"])["00100030"]["Value"] == ["11111111"]
    assert rows["chrJapMulti.dcm"]["PatientBirthDate"] == dt.date(1800, 1, 1)


def test_oracle_reads_pydicom_values_independently():
    # Guards the oracle itself: a broken oracle would let wrong conversions pass.
    ds = pydicom.Dataset()
    ds.StudyDate, ds.StudyTime, ds.PixelSpacing = "20260102", "1230", ["0.5", "0.25"]
    assert expected_value(ds["StudyDate"], frozenset()) == dt.date(2026, 1, 2)
    assert expected_value(ds["StudyTime"], frozenset()) == "12:30:00.000000"
    assert expected_value(ds["PixelSpacing"], frozenset()) == [0.5, 0.25]
    ds.StudyDate = "20261341"
    assert expected_value(ds["StudyDate"], frozenset()) is UNCONVERTIBLE
    ds.StudyDate, ds.AcquisitionDateTime = "11111111", "20260102123000+0100"
    assert expected_value(ds["StudyDate"], frozenset()) is UNCONVERTIBLE
    assert expected_value(ds["AcquisitionDateTime"], frozenset()) == dt.datetime(
        2026, 1, 2, 11, 30, tzinfo=dt.UTC
    )
    ds.AcquisitionDateTime = "18991231"
    assert expected_value(ds["AcquisitionDateTime"], frozenset()) is UNCONVERTIBLE
