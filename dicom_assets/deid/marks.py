"""The attributes that say an instance was de-identified, and how (PS3.15 E.1.1, CID 7050)."""

from __future__ import annotations

# CID 7050 "De-identification Method" codes (PS3.16), scheme DCM.
CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "clean-descriptors": ("113105", "Clean Descriptors Option"),
    "retain-longitudinal-full-dates": (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    "retain-longitudinal-modified-dates": (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    "retain-patient-characteristics": ("113108", "Retain Patient Characteristics Option"),
    "retain-device-identity": ("113109", "Retain Device Identity Option"),
    "retain-uids": ("113110", "Retain UIDs Option"),
    "retain-safe-private": ("113111", "Retain Safe Private Option"),
    "retain-institution-identity": ("113112", "Retain Institution Identity Option"),
}
PATIENT_IDENTITY_REMOVED = "00120062"
DEIDENTIFICATION_METHOD = "00120063"
DEIDENTIFICATION_METHOD_CODES = "00120064"
LONGITUDINAL_TEMPORAL_MODIFIED = "00280303"
METHOD_TEXT = "DICOM PS3.15 Basic Profile, keyed pseudonyms (dicom-assets)"


def _code(value: str, meaning: str) -> dict:
    return {
        "00080100": {"vr": "SH", "Value": [value]},
        "00080102": {"vr": "SH", "Value": ["DCM"]},
        "00080104": {"vr": "LO", "Value": [meaning]},
    }


def marks(options: frozenset[str]) -> dict[str, dict]:
    """The elements added to every de-identified instance (top level)."""
    applied = ["basic", *sorted(option for option in options if option in CODES)]
    if "retain-longitudinal-full-dates" in options:
        temporal = "UNMODIFIED"
    elif "retain-longitudinal-modified-dates" in options:
        temporal = "MODIFIED"
    else:
        temporal = "REMOVED"
    return {
        PATIENT_IDENTITY_REMOVED: {"vr": "CS", "Value": ["YES"]},
        DEIDENTIFICATION_METHOD: {"vr": "LO", "Value": [METHOD_TEXT]},
        DEIDENTIFICATION_METHOD_CODES: {
            "vr": "SQ",
            "Value": [_code(*CODES[name]) for name in applied],
        },
        LONGITUDINAL_TEMPORAL_MODIFIED: {"vr": "CS", "Value": [temporal]},
    }
