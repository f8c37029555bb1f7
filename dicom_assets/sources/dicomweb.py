"""WADO-RS metadata answers as one DICOM JSON document per instance, kept as the bytes received.

Parsing an answer into Python dicts costs several times what converting it costs: the converter
reads JSON bytes natively (``native/_shredder.c``). So an answer is split into its instances'
byte ranges without being parsed, reading on the way only the four identifiers that match an
instance to its change (Orthanc's IDs hash them). Where the native splitter is not built or the
answer is not a plain array of strictly valid JSON objects, the answer is parsed and the documents
are dicts; the converter takes either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dicom_assets import native
from dicom_assets.sources.http import parse_json_answer

PATIENT_ID, STUDY_UID, SERIES_UID, SOP_UID = "00100020", "0020000D", "0020000E", "00080018"
IDENTIFIERS = (PATIENT_ID, STUDY_UID, SERIES_UID, SOP_UID)
DICOM_JSON = "application/dicom+json"


class MetadataAnswerError(ValueError):
    """A WADO-RS metadata answer that is not a JSON array (the run fails: a rerun retries)."""


@dataclass(frozen=True)
class InstanceDocument:
    """One instance's DICOM JSON (bytes as received, or a dict) and its four identifiers."""

    metadata: bytes | Any
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str


def first_text(dataset: Any, tag: str) -> str:
    """The first value of a top-level element when it is text, else ""."""
    element = dataset.get(tag) if isinstance(dataset, dict) else None
    values = element.get("Value") if isinstance(element, dict) else None
    if isinstance(values, list) and values and isinstance(values[0], str):
        return values[0]
    return ""


def document_of(dataset: Any) -> InstanceDocument:
    """A parsed dataset (a dict, or whatever the server sent) as a document."""
    return InstanceDocument(dataset, *(first_text(dataset, tag) for tag in IDENTIFIERS))


def documents_of(body: bytes, what: str) -> list[InstanceDocument]:
    """The instances of a WADO-RS metadata answer (``what`` names it in errors)."""
    split = native.split_array(body, IDENTIFIERS)
    if split is not None:
        return [InstanceDocument(payload, *identifiers) for payload, identifiers in split]
    try:
        datasets = parse_json_answer(body)
    except ValueError as error:
        raise MetadataAnswerError(f"WADO-RS metadata of {what} is not JSON: {error}") from None
    if not isinstance(datasets, list):
        raise MetadataAnswerError(f"WADO-RS metadata of {what} is not a JSON array")
    return [document_of(dataset) for dataset in datasets]
