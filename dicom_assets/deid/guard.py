"""One lake, one de-identification: a lake is never written with two keys, or with and without.

A de-identified lake records what wrote it (:func:`lake_fingerprint`: the profile, options and
a keyed fingerprint of the key, never the key) the first time it is written; every later writer
compares before writing and refuses a mismatch with :class:`LakeDeidentificationMismatch`. A
lake without a record holds identified data (or nothing yet).

Where the record lives is :func:`read_record` / :func:`write_record`'s business only (a
``_deidentification.json`` in the Delta table's folder: readers only read the files the
Delta log names, and vacuum leaves ``_`` files alone).
"""

from __future__ import annotations

import json
from typing import Any

from dicom_assets.deid.deidentifier import Deidentifier

RECORD_FILE = "_deidentification.json"
_OFF = {"profile": "off"}


class LakeDeidentificationMismatch(RuntimeError):
    """The lake was written with other de-identification settings than this run's."""


def lake_fingerprint(deidentifier: Deidentifier | None) -> dict[str, Any]:
    return deidentifier.fingerprint() if deidentifier is not None else dict(_OFF)


def _describe(record: dict[str, Any]) -> str:
    if record.get("profile") == "off":
        return "without de-identification (DICOM_DEIDENTIFY=off)"
    options = ", ".join(record.get("options") or []) or "no options"
    return f"DICOM_DEIDENTIFY=basic ({options}) and one particular DICOM_DEID_KEY"


def read_record(fs: Any, dicom_root: str) -> dict[str, Any] | None:
    try:
        with fs.open(f"{dicom_root}/{RECORD_FILE}", "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return None


def write_record(fs: Any, dicom_root: str, record: dict[str, Any]) -> None:
    fs.makedirs(dicom_root, exist_ok=True)
    with fs.open(f"{dicom_root}/{RECORD_FILE}", "wb") as handle:
        handle.write(json.dumps(record, sort_keys=True).encode())


def _holds_data(fs: Any, dicom_root: str) -> bool:
    """The lake was written before: the Delta table has a log (or, in a lake not yet migrated
    to Delta, there are window folders)."""
    try:
        names = [name.rsplit("/", 1)[-1] for name in fs.ls(dicom_root, detail=False)]
    except FileNotFoundError:
        return False
    return any(name == "_delta_log" or not name.startswith("_") for name in names)


def check_lake(fs: Any, dicom_root: str, deidentifier: Deidentifier | None) -> None:
    """Refuse to write a lake written with other de-identification settings; record them in a
    new lake. Only de-identified lakes carry a record: a lake without one was written without
    de-identification (or is empty), so identified lakes look exactly as before."""
    wanted = lake_fingerprint(deidentifier)
    found = read_record(fs, dicom_root)
    if found is None:
        if deidentifier is None:
            return
        if not _holds_data(fs, dicom_root):
            write_record(fs, dicom_root, wanted)
            return
        found = dict(_OFF)
    if found != wanted:
        same_profile = found.get("profile") == wanted.get("profile") == "basic" and (
            found.get("options") == wanted.get("options")
        )
        now = (
            "DICOM_DEIDENTIFY=basic with another DICOM_DEID_KEY"
            if same_profile
            else _describe(wanted)
        )
        raise LakeDeidentificationMismatch(
            f"the lake at {dicom_root} was written {_describe(found)}, but this run is "
            f"configured with {now}. One lake never mixes them: restore the settings it was "
            "written with, or start a new lake by pointing DICOM_LAKE_URL (and "
            "DICOM_DUCKDB_PATH) at a new, empty location."
        )
