"""A synthetic corpus with patient data everywhere, and the list of every value that must go.

Patients x studies x series x instances, made with pydicom: names, IDs, other IDs, birth dates,
addresses, phone numbers, physicians, operators, institution, station, accession number,
study ID, descriptions, free text in private tags, a PN and IDs two sequences deep, and UIDs
referenced across instances (each instance points at the one before it in its series).
Values are distinctive so that a scan for them cannot hit by chance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_assets.devtools.samples import with_tiny_image

ROOT = "1.2.826.0.1.3680043.8.498.4477"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SURNAMES = ("Quixlander", "Vorhabenova", "Pemberthwaite")
GIVEN = ("Marguerite", "Ottokar", "Seraphine")


@dataclass
class PhiCorpus:
    datasets: list[Dataset] = field(default_factory=list)
    phi: set[str] = field(default_factory=set)  # text that must appear nowhere
    dates: set[dt.date] = field(default_factory=set)  # dates that must appear nowhere
    uids: set[str] = field(default_factory=set)  # original UIDs (must appear nowhere)


def _uid(*parts: int) -> str:
    return ".".join([ROOT, *map(str, parts)])


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _instance(corpus: PhiCorpus, p: int, s: int, r: int, n: int) -> Dataset:
    surname, given = SURNAMES[p], GIVEN[p]
    patient_id = f"QXPID{p}-48{p}0017"
    study_uid, series_uid = _uid(1, p, s), _uid(2, p, s, r)
    sop_uid = _uid(3, p, s, r, n)
    study_date = dt.date(2019, 3, 14) + dt.timedelta(days=97 * s + 11 * p)
    birth = dt.date(1947 + p, 11, 3)
    texts = {
        "address": f"{42 + p} Wrenfield Lane, Ambleside LA{p}2",
        "phone": f"+44 1539 77{p}123",
        "referring": f"Vantongeren^Bartholomew{p}",
        "performing": f"Ostrowiecka^Teodora{p}",
        "operator": f"Hallgrimsdottir^Ingibjorg{p}",
        "requesting": f"Fitzwarren^Aloysius{p}",
        "institution": f"Kestrel County Hospital {p}",
        "inst_address": f"{p} Harbour Road, Kestrelton",
        "station": f"KCH-CT-ROOM-{p}{s}",
        "accession": f"ACCQX{p}{s}90314",
        "study_id": f"QXST{p}{s}9",
        "other_id": f"QXOTHER-{p}5120",
        "nested_id": f"QXNESTED-{p}9911",
        "issuer": f"Kestrel Issuer {p}",
        "study_desc": f"CT chest for {given} {surname} follow-up",
        "series_desc": f"{surname} axial lung {r}",
        "private_text": f"Patient {surname} said hello; call {p}-7781",
        "serial": f"SN-QX-{p}0042",
    }
    corpus.phi |= set(texts.values()) | {surname, given, patient_id}
    for name in ("referring", "performing", "operator", "requesting"):  # PN components too
        corpus.phi |= set(texts[name].split("^"))
    corpus.dates |= {study_date, birth}
    corpus.uids |= {study_uid, series_uid, sop_uid, _uid(4, p, s)}

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE, sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.FrameOfReferenceUID = _uid(4, p, s)
    ds.PatientName, ds.PatientID = f"{surname}^{given}", patient_id
    ds.PatientBirthDate, ds.PatientSex = birth.strftime("%Y%m%d"), "F"
    ds.OtherPatientIDs = texts["other_id"]
    ds.PatientAddress, ds.PatientTelephoneNumbers = texts["address"], texts["phone"]
    ds.ReferringPhysicianName = texts["referring"]
    ds.PerformingPhysicianName = texts["performing"]
    ds.OperatorsName = texts["operator"]
    ds.InstitutionName, ds.InstitutionAddress = texts["institution"], texts["inst_address"]
    ds.StationName, ds.DeviceSerialNumber = texts["station"], texts["serial"]
    ds.AccessionNumber, ds.StudyID = texts["accession"], texts["study_id"]
    ds.StudyDescription, ds.SeriesDescription = texts["study_desc"], texts["series_desc"]
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.AcquisitionDateTime = study_date.strftime("%Y%m%d") + "101530.250000"
    ds.StudyTime = "101530.250000"
    ds.Modality, ds.Manufacturer, ds.ManufacturerModelName = "CT", "DICOM-ASSETS", "QX-9000"
    ds.BodyPartExamined, ds.KVP, ds.SliceThickness = "CHEST", "120", "1.25"
    ds.SeriesNumber, ds.InstanceNumber = r + 1, n + 1
    ds.PixelSpacing = ["0.703125", "0.703125"]
    ds.ImagePositionPatient = ["-180", "-180", f"{n * 1.25:.2f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.ProcedureCodeSequence = Sequence([_code("77477000", "SCT", "Computerized axial tomography")])
    other = Dataset()
    other.PatientID, other.IssuerOfPatientID = texts["nested_id"], texts["issuer"]
    ds.OtherPatientIDsSequence = Sequence([other])
    # Two sequences deep, in sequences the profile keeps: a PN, IDs and a UID reference.
    inner = Dataset()
    inner.OperatorsName = texts["operator"]
    inner.PatientID = patient_id
    inner.AccessionNumber = texts["accession"]
    inner.SeriesInstanceUID = series_uid
    request = Dataset()
    request.StudyInstanceUID = study_uid
    request.RequestingPhysician = texts["requesting"]
    request.AccessionNumber = texts["accession"]
    request.ReferencedSeriesSequence = Sequence([inner])
    ds.ReferencedRequestSequence = Sequence([request])
    if n > 0:  # a reference to the instance before this one
        source = Dataset()
        source.ReferencedSOPClassUID = CT_IMAGE
        source.ReferencedSOPInstanceUID = _uid(3, p, s, r, n - 1)
        ds.SourceImageSequence = Sequence([source])
    ds.add_new(0x00110010, "LO", "QX PRIVATE NOTES")
    ds.add_new(0x00111010, "LO", texts["private_text"])
    ds.add_new(0x00111011, "UT", f"notes about {patient_id}")
    return with_tiny_image(ds)  # its SOP class and instance are CT_IMAGE, sop_uid (above)


def phi_corpus(
    patients: int = 3, studies: int = 2, series: int = 2, instances: int = 3
) -> PhiCorpus:
    corpus = PhiCorpus()
    for p in range(patients):
        for s in range(studies):
            for r in range(series):
                for n in range(instances):
                    corpus.datasets.append(_instance(corpus, p, s, r, n))
    return corpus


def needles(corpus: PhiCorpus) -> set[str]:
    """Every original value as text, in each form a reader might render it."""
    out = set(corpus.phi) | set(corpus.uids)
    for day in corpus.dates:
        out |= {day.strftime("%Y%m%d"), day.isoformat()}
    return out


def _sorted(value):
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value, key=lambda k: (k != "vr", k))}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def dicom_json(dataset: Dataset) -> dict:
    """DICOM JSON as a DICOMweb server answers: attributes in tag order (pydicom keeps them in
    the order they were set), binary values as BulkDataURIs."""
    return _sorted(
        dataset.to_json_dict(
            bulk_data_threshold=64,
            bulk_data_element_handler=lambda elem: (
                f"http://127.0.0.1/bulk/{dataset.SOPInstanceUID}"
            ),
        )
    )


def found_needles(text: str, wanted: set[str]) -> set[str]:
    return {needle for needle in wanted if needle in text}
