"""What a lake column is, in words, for catalogs (the asset's column schema in the Dagster UI).

Attribute columns are described from the DICOM data dictionary as name, tag, VR and VM, e.g.
``Image Type (0008,0008) CS 2-n``: what a user browsing the catalog needs to find the attribute
in the standard. The change columns and the lossless tail have fixed descriptions.
"""

from __future__ import annotations

from functools import lru_cache

from pydicom.datadict import DicomDictionary, tag_for_keyword

FIXED = {
    "_sequence": "Change-feed sequence number of this change (Orthanc Seq / Azure sequence)",
    "_timestamp": "When the server logged the change (UTC); its hour is the row's partition",
    "_action": "create, update or delete",
    "_private": "Private and unknown tags: creator, tag, VR and value of each",
    "_invalid": "Keywords whose value did not parse as its VR (column null, original in _metadata)",
    "_metadata": "The instance's full DICOM JSON, as received: nothing is lost",
}
ALWAYS = "; always present, deletes included"


@lru_cache(maxsize=8192)
def column_description(name: str) -> str:
    """``"Image Type (0008,0008) CS 2-n"`` for a keyword column; '' for an unknown name."""
    if name in FIXED:
        return FIXED[name]
    tag = tag_for_keyword(name)
    if tag is None or tag not in DicomDictionary:
        return ""
    vr, vm, label, retired, _ = DicomDictionary[tag]
    text = f"{label} ({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr} {vm}"
    if retired:
        text += " (retired)"
    if name in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        text += ALWAYS
    return text
