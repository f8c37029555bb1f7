"""A template's ``where``: equality on top-level attributes, all of which must hold.

Each condition names an attribute (keyword or tag) and one accepted value or a list of them,
written as in DICOM (``StudyDate: 20240131``, ``SliceThickness: 1.25``) and read by the lake's own
parsers, so a value compares equal exactly when the lake stores it equal. A multi-valued attribute
(``ImageType``) matches when any of its values is accepted; a person name compares its Alphabetic
group. Deletes carry no attributes and always pass, so that current views can drop the instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.custom.numpy_arrow import from_numpy
from dicom_assets.custom.paths import Name, Tag, parse_path
from dicom_assets.custom.resolve import PathError, spec_for_keyword
from dicom_assets.schema.kinds import KIND_TYPES, PARSERS
from dicom_assets.schema.values import INVALID
from dicom_assets.schema.vr import TagSpec, spec_for_key


@dataclass(frozen=True)
class Condition:
    keyword: str
    spec: TagSpec
    accepted: pa.Array  # typed like the column's values (PN: Alphabetic text)

    def matches(self, batch: pa.RecordBatch) -> np.ndarray:
        """One bool per row: the attribute holds an accepted value (absent: False)."""
        rows = batch.num_rows
        if self.keyword not in batch.schema.names:
            return np.zeros(rows, dtype=bool)
        values = batch.column(self.keyword)
        if self.spec.multi:
            owners = pc.list_parent_indices(values).to_numpy()
            flat = pc.list_flatten(values)
            hits = pc.fill_null(pc.is_in(self._comparable(flat), value_set=self.accepted), False)
            return np.bincount(owners[hits.to_numpy(zero_copy_only=False)], minlength=rows) > 0
        hits = pc.is_in(self._comparable(values), value_set=self.accepted)
        return pc.fill_null(hits, False).to_numpy(zero_copy_only=False)

    def _comparable(self, values: pa.Array) -> pa.Array:
        if self.spec.kind == "pn":
            return pc.struct_field(values, "Alphabetic")
        return values.cast(self.accepted.type)


def parse_condition(attribute: str, written: list[str]) -> Condition:
    """A condition from the attribute's text and its accepted values as written in the YAML."""
    steps = parse_path(attribute)
    if len(steps) != 1 or not isinstance(steps[0], (Name, Tag)):
        raise PathError(
            f"where takes a top-level attribute (a keyword or a tag), not {attribute!r}"
        )
    step = steps[0]
    spec = (
        spec_for_keyword(step.text) if isinstance(step, Name) else spec_for_key(f"{step.tag:08X}")
    )
    if spec.category != "typed":
        raise PathError(
            f"where on {attribute}: only attributes of the data dictionary with a "
            "column can be compared"
        )
    if spec.kind == "seq":
        raise PathError(
            f"where on {spec.keyword}: a sequence has no value to compare (equality "
            "applies to top-level attributes)"
        )
    value_kind = "str" if spec.kind == "pn" else spec.kind
    accepted = []
    for text in written:
        value = PARSERS[value_kind](text)
        if value is INVALID or value is None:
            raise PathError(
                f"where {spec.keyword}: {text!r} is not a valid {spec.dictionary_vr} value"
            )
        accepted.append(value)
    return Condition(spec.keyword, spec, pa.array(accepted, KIND_TYPES[value_kind]))


def keep_rows(batch: pa.RecordBatch, conditions: list[Condition]) -> pa.Array | None:
    """The filter mask of ``batch``: all conditions hold, or the row is a delete. None: no where."""
    if not conditions:
        return None
    keep = np.ones(batch.num_rows, dtype=bool)
    for condition in conditions:
        keep &= condition.matches(batch)
    deletes = pc.fill_null(pc.equal(batch.column("_action"), "delete"), False)
    return from_numpy(keep | deletes.to_numpy(zero_copy_only=False))
