"""PS3.15 Table E.1-1 as data: the action of the Basic Profile (and its options) for any tag.

The table ships as ``table_e1_1.json`` (see ``PROVENANCE.md``): one row per attribute with its
Basic Profile action and the option columns. :class:`Profile` turns it, for one set of options,
into one action letter per tag, the letters the de-identifier applies:

- ``K`` keep (sequences: their items are de-identified too), ``X`` remove, ``Z`` keep empty,
  ``D`` replace by a dummy value of the VR, ``U`` keyed UID pseudonym, ``P`` keyed patient
  pseudonym (PatientID, and PatientName which carries it), ``S`` shift dates by the patient's
  keyed number of days (``retain-longitudinal-modified-dates``; times are kept), ``C`` keep
  text cleaned of the instance's own identifiers (the other options' "clean" action), ``Q``
  a private tag under ``retain-safe-private``: decided with its creator, per dataset, by
  :func:`dicom_assets.deid.safe_private.private_actions` (Table E.3.10-1).

Compound actions of the table (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``) depend on the
IOD's attribute type, which a lake row does not have: the least informative choice that keeps
the attribute present is taken (any ``U`` -> ``U``; any ``Z`` -> ``Z``; ``X/D`` -> ``X``).
Tags the table does not list: private tags (odd groups, their creators included) are removed
unless ``retain-safe-private`` keeps those Table E.3.10-1 lists as safe (action ``Q``); public
tags in the DICOM dictionary are kept (the table lists every standard attribute that may
identify); public tags unknown to the dictionary are removed, since nothing says they are safe.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydicom.datadict import get_entry

OPTIONS = (
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-longitudinal-full-dates",
    "retain-longitudinal-modified-dates",
    "clean-descriptors",
    "retain-safe-private",
)
# Options the table has columns for but the product does not offer (no pixels, no graphics).
_UNOFFERED = {"clean-graphics", "clean-structured-content"}

PATIENT_ID = "00100020"
PATIENT_NAME = "00100010"
_PSEUDONYMIZED = {PATIENT_ID: "P", PATIENT_NAME: "P"}
_TABLE = Path(__file__).with_name("table_e1_1.json")


@cache
def table_rows() -> tuple[dict, ...]:
    return tuple(json.loads(_TABLE.read_text(encoding="utf-8")))


def _resolve(basic: str) -> str:
    if "U" in basic:
        return "U"
    if "Z" in basic:
        return "Z"
    if basic == "X/D":
        return "X"
    return basic


def _pattern(tag: str) -> tuple[int, int]:
    """``60XX4000`` -> (mask, value) over the 32-bit tag."""
    mask = value = 0
    for char in tag:
        mask, value = mask << 4, value << 4
        if char != "X":
            mask |= 0xF
            value |= int(char, 16)
    return mask, value


class Profile:
    """The Basic Profile's action per tag for one set of options (see the module docstring)."""

    def __init__(self, options: frozenset[str] = frozenset()) -> None:
        unknown = options - set(OPTIONS)
        if unknown:
            raise ValueError(f"unknown de-identification options: {', '.join(sorted(unknown))}")
        if {"retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"} <= options:
            raise ValueError(
                "retain-longitudinal-full-dates and retain-longitudinal-modified-dates exclude "
                "each other"
            )
        self.options = options
        self.exact: dict[str, str] = {}
        self.patterns: list[tuple[int, int, str]] = []
        for row in table_rows():
            action = self._action(row)
            if row["tag"] == "private":
                continue
            if "X" in row["tag"]:
                mask, value = _pattern(row["tag"])
                self.patterns.append((mask, value, action))
            else:
                self.exact[row["tag"]] = action
        self.exact.update(_PSEUDONYMIZED)
        self._cache: dict[str, str] = {}

    def _action(self, row: dict) -> str:
        action = _resolve(row["basic"])
        for option, letter in row.get("options", {}).items():
            if option in _UNOFFERED or option not in self.options:
                continue
            if option == "retain-longitudinal-modified-dates":
                action = "S"
            else:
                action = letter  # K or C
        return action

    def action(self, key: str) -> str:
        """The action letter for an 8-hex-digit tag key (``"00100010"``)."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._uncached(key)
        return found

    def _uncached(self, key: str) -> str:
        key = key.upper()
        if key in self.exact:
            return self.exact[key]
        try:
            tag = int(key, 16)
        except ValueError:
            return "X"
        if len(key) != 8:
            return "X"
        if (tag >> 16) & 1:  # private (creators too): safe ones are decided with their creator
            return "Q" if self.keeps_safe_private() else "X"
        for mask, value, action in self.patterns:
            if tag & mask == value:
                return action
        try:
            get_entry(tag)
        except KeyError:
            return "X"
        return "K"

    def keeps_safe_private(self) -> bool:
        return "retain-safe-private" in self.options
