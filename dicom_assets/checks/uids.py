"""DICOM UID syntax (PS3.5 §9.1), graded by how much a violation hurts the lake.

A UID is up to 64 characters of digits and dots: components of digits separated by single dots,
no component empty, none with a leading zero unless it is ``0`` itself.

Two grades, because users run this sync for years against data they cannot fix:

* ``broken`` (the check fails with ERROR): missing, empty, or characters other than digits and
  dots (a name, padding, garbage). Such a value does not identify an instance reliably, so
  ``dicom.current_instances`` (one row per ``SOPInstanceUID``) can be wrong.
* ``nonconformant`` (WARN): only the shape is off: a leading zero, an empty component, more than
  64 characters. Some modalities write such UIDs; they still identify their instance uniquely,
  and turning the asset red for data the hospital cannot change would teach people to ignore red.
"""

from __future__ import annotations

import re

MAX_UID_LENGTH = 64
_CHARACTERS = re.compile(r"^[0-9.]+$")
_COMPONENT = re.compile(r"^(0|[1-9][0-9]*)$")

BROKEN = "broken"
NONCONFORMANT = "nonconformant"


def uid_problem(value: str | None) -> tuple[str, str] | None:
    """``(grade, what is wrong)`` for a bad UID, ``None`` for a well-formed one."""
    if value is None:
        return BROKEN, "missing (null)"
    if value == "":
        return BROKEN, "empty"
    if not _CHARACTERS.match(value):
        return BROKEN, "characters other than digits and dots"
    if len(value) > MAX_UID_LENGTH:
        return NONCONFORMANT, f"longer than {MAX_UID_LENGTH} characters ({len(value)})"
    for component in value.split("."):
        if component == "":
            return NONCONFORMANT, "an empty component (leading, trailing or double dot)"
        if not _COMPONENT.match(component):
            return NONCONFORMANT, f"a component with a leading zero ({component})"
    return None
