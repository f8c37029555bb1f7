"""De-identifying one instance's DICOM JSON (a dict keyed by tag), at every sequence depth.

The reference implementation of the profile: every path (dict metadata, JSON bytes, the native
pass when it is built) must give what :func:`deidentify_dataset` gives. Actions are the letters
of :mod:`dicom_assets.deid.profile`; values are never logged or put into error messages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dicom_assets.deid.profile import PATIENT_ID, PATIENT_NAME, Profile
from dicom_assets.deid.pseudonyms import Pseudonyms
from dicom_assets.deid.safe_private import private_actions

_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN", "CS", "AE"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_DUMMY = {
    "PN": {"Alphabetic": "ANONYMIZED"},
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "IS": "0",
    "DS": "0",
    "AS": "000Y",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0,
    "FD": 0,
}
_DUMMY_TEXT = "ANONYMIZED"
# Values of the instance that "clean" actions cut out of kept text (C: clean-descriptors etc.).
_SCRUB_SOURCES = (
    "00100010",
    "00100020",
    "00101000",
    "00080050",
    "00100030",
    "00101040",
    "00102154",
    "00081060",
    "00080090",
    "00101001",
)
_MIN_SCRUB = 3


class InstanceContext:
    """What de-identifying one instance needs: the profile, the key, the patient's shift."""

    __slots__ = ("patient_id", "profile", "pseudonyms", "scrub", "shift")

    def __init__(
        self,
        profile: Profile,
        pseudonyms: Pseudonyms,
        patient_id: str,
        shift_dates: bool,
        scrub: re.Pattern | None,
    ) -> None:
        self.profile = profile
        self.pseudonyms = pseudonyms
        self.patient_id = patient_id
        self.shift = dt.timedelta(days=pseudonyms.shift_days(patient_id)) if shift_dates else None
        self.scrub = scrub


def _first_text(element: Any) -> str:
    if type(element) is dict and type(element.get("Value")) is list and element["Value"]:
        value = element["Value"][0]
        if isinstance(value, str):
            return value
    return ""


def _texts(element: Any) -> list[str]:
    if type(element) is not dict or type(element.get("Value")) is not list:
        return []
    texts = []
    for value in element["Value"]:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts.extend(v for v in value.values() if isinstance(v, str))
    return texts


def scrub_pattern(dataset: dict) -> re.Pattern | None:
    """A pattern matching the instance's own identifying values (names split into parts)."""
    terms: set[str] = set()
    for key in _SCRUB_SOURCES:
        for text in _texts(dataset.get(key)):
            terms.add(text.strip())
            terms.update(re.split(r"[\^=\s,]+", text))
    terms = {term for term in terms if len(term) >= _MIN_SCRUB}
    if not terms:
        return None
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(alternatives, re.IGNORECASE)


def context_for(dataset: dict, profile: Profile, pseudonyms: Pseudonyms) -> InstanceContext:
    options = profile.options
    cleans = bool(
        options
        & {
            "clean-descriptors",
            "retain-device-identity",
            "retain-patient-characteristics",
            "retain-institution-identity",
            "retain-safe-private",  # kept private text is cleaned (Table E.1-1: C)
        }
    )
    return InstanceContext(
        profile,
        pseudonyms,
        _first_text(dataset.get(PATIENT_ID)),
        "retain-longitudinal-modified-dates" in options,
        scrub_pattern(dataset) if cleans else None,
    )


def _shift_date(text: str, shift: dt.timedelta) -> str | None:
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) - shift
    except (ValueError, OverflowError):
        return None
    return f"{day.year:04d}{day.month:02d}{day.day:02d}{text[8:]}"


def _values(element: dict, vr: str, action: str, ctx: InstanceContext, key: str) -> list | None:
    """The new ``Value`` list of an element (None: no value)."""
    values = element.get("Value")
    if action == "P":
        if key == PATIENT_NAME:
            return [{"Alphabetic": ctx.pseudonyms.patient_id(ctx.patient_id)}]
        return [ctx.pseudonyms.patient_id(_first_text(element))]
    if type(values) is not list:
        return None
    if action == "U":
        return [ctx.pseudonyms.uid(v) if isinstance(v, str) else None for v in values]
    if action == "D":
        return [_DUMMY.get(vr, _DUMMY_TEXT)]
    if action == "S":
        shifted = [_shift_date(v, ctx.shift) if isinstance(v, str) else None for v in values]
        return shifted if any(v is not None for v in shifted) else None
    if action == "C" and ctx.scrub is not None and vr in _TEXT_VRS:
        return [_scrub(v, ctx.scrub) for v in values]
    return values


def _scrub(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return pattern.sub("***", value)
    if isinstance(value, dict):
        return {k: pattern.sub("***", v) if isinstance(v, str) else v for k, v in value.items()}
    return value


def _sequence(element: dict, action: str, ctx: InstanceContext) -> dict:
    """A sequence: emptied by Z and D, otherwise each item de-identified in turn."""
    items = element.get("Value")
    if action in ("Z", "D") or type(items) is not list:
        return {"vr": "SQ"}
    return {
        "vr": "SQ",
        "Value": [_walk(item, ctx) if type(item) is dict else None for item in items],
    }


def _element(key: str, element: Any, action: str, ctx: InstanceContext) -> dict | None:
    if type(element) is not dict:
        return None  # not a DICOM JSON element: nothing says it is safe
    vr = element.get("vr")
    if not isinstance(vr, str):
        return None
    if vr == "SQ":
        return _sequence(element, action, ctx)
    if action == "S" and vr not in ("DA", "DT"):
        action = "K" if vr == "TM" else "Z"
    if action == "D" and vr == "UI":
        action = "U"
    if action == "D" and vr in _BINARY_VRS or action == "Z":
        return {"vr": vr}
    if action == "K" and "BulkDataURI" not in element:
        return element
    out: dict[str, Any] = {"vr": vr}
    values = _values(element, vr, action, ctx, key)
    if values is not None:
        out["Value"] = values
    elif action == "K" and "InlineBinary" in element:
        out["InlineBinary"] = element["InlineBinary"]
    # BulkDataURI is dropped: it names the instance on its server by the original UIDs.
    return out


def _walk(dataset: dict, ctx: InstanceContext) -> dict:
    out = {}
    action_of = ctx.profile.action
    private: dict[str, str] | None = None  # this level's kept private tags, when it has any
    for key, element in dataset.items():
        action = action_of(key)
        if action == "Q":
            if private is None:
                private = private_actions(dataset, "retain-uids" in ctx.profile.options)
            action = private.get(key, "X")
        if action == "X":
            continue
        new = _element(key, element, action, ctx)
        if new is not None:
            out[key] = new
    return out


def deidentify_dataset(
    dataset: dict, profile: Profile, pseudonyms: Pseudonyms, marks: dict[str, dict]
) -> dict:
    """The de-identified copy of one instance's DICOM JSON, with the profile's marks added."""
    out = _walk(dataset, context_for(dataset, profile, pseudonyms))
    out.update(marks)
    return dict(sorted(out.items()))
