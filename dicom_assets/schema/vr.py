"""Which Arrow type a DICOM attribute gets: decided by the data dictionary, never by the data.

Every tag key of the DICOM JSON model resolves once (cached) to a :class:`TagSpec`: its keyword,
its dictionary VR and VM, the value *kind* that drives parsing, and the Arrow value type (the
kinds and their types: :mod:`kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
from pydicom.datadict import DicomDictionary, RepeatersDictionary, mask_match

from dicom_assets.schema.kinds import ACCEPTED_VRS, KIND_TYPES, VR_KINDS

# The three UIDs are fixed columns of every row, filled from the change-feed entry.
IDENTITY_KEYS: dict[str, str] = {
    "0020000D": "StudyInstanceUID",
    "0020000E": "SeriesInstanceUID",
    "00080018": "SOPInstanceUID",
}


@dataclass(frozen=True)
class TagSpec:
    """How one tag of the DICOM JSON model is typed.

    ``category`` is ``"typed"`` (gets a column / struct field), ``"bulk"`` (binary: only in
    ``_metadata``), ``"private"`` (odd group), ``"unknown"`` (even group, not in the dictionary)
    or ``"invalid"`` (the key is not 8 hex digits).
    """

    key: str
    tag: int
    category: str
    keyword: str = ""
    dictionary_vr: str = ""
    vm: str = ""
    kind: str = ""

    @property
    def multi(self) -> bool:
        """A list column: the dictionary VM allows more than one value."""
        return self.vm != "1"

    @property
    def accepted_vrs(self) -> frozenset[str]:
        alternatives = frozenset(self.dictionary_vr.split(" or "))
        return ACCEPTED_VRS.get(self.kind, frozenset()) | alternatives

    def value_type(self) -> pa.DataType:
        """Arrow type of a non-sequence column (sequences are typed by what the batch holds)."""
        base = KIND_TYPES[self.kind]
        return pa.list_(base) if self.multi else base


def kind_for_dictionary_vr(dictionary_vr: str) -> str:
    """The kind of a dictionary VR; alternatives ("US or SS", "US or SS or OW") take the first
    non-binary alternative, and all integer alternatives share int64, so the choice is stable."""
    alternatives = dictionary_vr.split(" or ")
    for vr in alternatives:
        kind = VR_KINDS.get(vr, "bulk")
        if kind != "bulk":
            return kind
    return "bulk"


def _dictionary_entry(tag: int) -> tuple[str, str, str] | None:
    """(VR, VM, keyword) of a standard tag, repeating groups included at their base group only."""
    entry = DicomDictionary.get(tag)
    if entry is None:
        mask = mask_match(tag)
        if mask is None:
            return None
        # Only the base of a repeating group (e.g. overlay group 6000) owns the keyword's column;
        # 6002, 6004... would collide with it and go to _private instead.
        if tag != int(mask.replace("x", "0"), 16):
            return None
        entry = RepeatersDictionary[mask]
    vr, vm, _name, _retired, keyword = entry
    if not keyword:
        return None
    return vr, vm, keyword


@lru_cache(maxsize=65536)
def spec_for_key(key: str) -> TagSpec:
    """Resolve a DICOM JSON key (``"00100010"``, any case) to its spec. Never raises."""
    if not isinstance(key, str) or len(key) != 8:
        return TagSpec(key=str(key)[:64], tag=-1, category="invalid")
    try:
        tag = int(key, 16)
    except ValueError:
        return TagSpec(key=key[:64], tag=-1, category="invalid")
    if key.startswith(("+", "-")) or "_" in key:  # int() accepts these; DICOM keys do not
        return TagSpec(key=key, tag=-1, category="invalid")
    normalized = f"{tag:08X}"
    if (tag >> 16) % 2 == 1:
        return TagSpec(key=normalized, tag=tag, category="private")
    entry = _dictionary_entry(tag)
    if entry is None:
        return TagSpec(key=normalized, tag=tag, category="unknown")
    vr, vm, keyword = entry
    kind = kind_for_dictionary_vr(vr)
    category = "bulk" if kind == "bulk" else "typed"
    return TagSpec(
        key=normalized,
        tag=tag,
        category=category,
        keyword=keyword,
        dictionary_vr=vr,
        vm=vm,
        kind=kind,
    )
