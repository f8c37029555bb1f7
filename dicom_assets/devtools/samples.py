"""Sample DICOM: pydicom's bundled real-world files and synthetic multi-series studies."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dicom_assets.sources.http import CountingSession

PRIVATE_CREATOR = "DICOM-ASSETS SAMPLE"


def pydicom_corpus() -> list[Path]:
    """pydicom's bundled test files that are DICOM files (Orthanc decides which it accepts).

    Read from the installed package folder: ``get_testdata_files`` would try to download the
    larger files from the internet.
    """
    paths = []
    for path in sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm")):
        try:
            pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001, S112 - deliberately broken files of the corpus
            continue
        paths.append(path)
    return sorted(paths)


@dataclass(frozen=True)
class SyntheticStudy:
    patient_id: str
    study_uid: str
    series_uids: tuple[str, ...]
    instances_per_series: int
    modality: str = "CT"
    seed: str | None = None

    @property
    def instance_count(self) -> int:
        return len(self.series_uids) * self.instances_per_series


def _uid(seed: str | None, *parts: object) -> str:
    """A random UID, or a stable one derived from ``seed`` (so re-loading stores nothing new)."""
    if seed is None:
        return generate_uid()
    return generate_uid(entropy_srcs=[seed, *map(str, parts)])


def synthetic_study(
    index: int,
    series: int = 3,
    instances_per_series: int = 4,
    modality: str = "CT",
    seed: str | None = None,
) -> SyntheticStudy:
    return SyntheticStudy(
        patient_id=f"SYN{index:05d}",
        study_uid=_uid(seed, "study", index),
        series_uids=tuple(_uid(seed, "series", index, number) for number in range(series)),
        instances_per_series=instances_per_series,
        modality=modality,
        seed=seed,
    )


def synthetic_instance(study: SyntheticStudy, series_index: int, number: int) -> Dataset:
    """A small, realistic instance: PN, dates, multi-valued DS, a nested sequence, a private tag."""
    ds = Dataset()
    ds.SOPClassUID = (
        "1.2.840.10008.5.1.4.1.1.2" if study.modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
    )
    ds.SOPInstanceUID = _uid(study.seed, "instance", study.series_uids[series_index], number)
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = study.series_uids[series_index]
    ds.PatientID = study.patient_id
    ds.PatientName = f"Doe^Jane^Q^Dr^{study.patient_id[-2:]}"
    ds.PatientBirthDate = "19700412"
    ds.PatientSex = "F"
    ds.StudyDate = "20261124"
    ds.StudyTime = "101530.250000"
    ds.AccessionNumber = f"ACC{study.patient_id[-5:]}"
    ds.StudyDescription = "Synthetic study"
    ds.SeriesDescription = f"Series {series_index + 1}"
    ds.Modality = study.modality
    ds.Manufacturer = "DICOM-ASSETS"
    ds.SeriesNumber = series_index + 1
    ds.InstanceNumber = number + 1
    ds.SliceThickness = "1.25"
    ds.PixelSpacing = ["0.703125", "0.703125"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.ImagePositionPatient = ["-180", "-180", f"{number * 1.25:.2f}"]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    code = Dataset()
    code.CodeValue = "77477000"
    code.CodingSchemeDesignator = "SCT"
    code.CodeMeaning = "Computerized axial tomography"
    ds.ProcedureCodeSequence = Sequence([code])
    ds.add_new(0x00190010, "LO", PRIVATE_CREATOR)
    ds.add_new(0x00191001, "LO", f"private-{number}")
    return with_tiny_image(ds)


def with_tiny_image(ds: Dataset) -> Dataset:
    """``ds`` with a 4×4 12-bit monochrome image and the file meta of its SOP class and
    instance: the least a DICOM server stores as an image."""
    ds.Rows, ds.Columns = 4, 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes(32)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def synthetic_instances(study: SyntheticStudy) -> Iterator[Dataset]:
    for series_index in range(len(study.series_uids)):
        for number in range(study.instances_per_series):
            yield synthetic_instance(study, series_index, number)


def encode(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def upload(orthanc_url: str, payloads: Iterable[bytes], workers: int = 8) -> list[dict | None]:
    """POST each file to Orthanc; ``None`` for a file Orthanc refuses (kept in order).

    Orthanc closes a keep-alive connection after a short idle time; a POST that lands on one just
    closed fails with ``RemoteDisconnected``. Storing a file again is harmless (Orthanc answers
    ``AlreadyStored`` and records no second change), so the product's retrying session is used:
    connection failures and transient answers are retried; a file Orthanc cannot read is
    answered 400 or 404 and not retried.
    """
    session = CountingSession(total_retries=3, backoff_factor=0.2, pool_size=workers)

    def post(payload: bytes) -> dict | None:
        response = session.post(f"{orthanc_url.rstrip('/')}/instances", data=payload, timeout=60)
        return response.json() if response.ok else None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(post, payloads))


def storable_groups(paths: list[Path]) -> list[list[tuple[Path, Dataset]]]:
    """Groups of files (in order, with their datasets) that Orthanc can hold together: pydicom's
    corpus reuses SOP Instance UIDs across files (codec variants of one image) and study/series
    UIDs across patients (WADO-RS by UID then answers 404), so a test stores one group at a time."""
    groups: list[tuple[list, set, dict]] = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        sop = str(ds.get("SOPInstanceUID", ""))
        owner = (str(ds.get("PatientID", "")), str(ds.get("StudyInstanceUID", "")))
        study_series = (str(ds.get("StudyInstanceUID", "")), str(ds.get("SeriesInstanceUID", "")))
        for members, sops, owners in groups:
            if sop not in sops and all(owners.get(uid, owner) == owner for uid in study_series):
                break
        else:
            members, sops, owners = [], set(), {}
            groups.append((members, sops, owners))
        members.append((path, ds))
        sops.add(sop)
        owners.update(dict.fromkeys(study_series, owner))
    return [members for members, _, _ in groups]
