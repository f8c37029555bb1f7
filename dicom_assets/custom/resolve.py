"""What a parsed path means: the lake column it starts from, the operations that reach the value,
and the value's Arrow type, all from the project's VR table (``schema/vr.py``).

A path that ends in ``[*]``, or reaches a multi-valued attribute without ``[n]``, gives a list
column: every value it reaches in the row, in order (``Seq[*].Attr`` holds one value per item).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
from pydicom.datadict import keyword_dict

from dicom_assets.custom.paths import Every, Index, Name, PrivateTag, Step, Tag, parse_path
from dicom_assets.lake.staging import delta_type  # the lake's stored form of a type
from dicom_assets.schema.kinds import KIND_TYPES, VR_KINDS
from dicom_assets.schema.vr import IDENTITY_KEYS, TagSpec, spec_for_key

PN_GROUPS = tuple(field.name for field in KIND_TYPES["pn"])
# VRs a private value may be declared as (``vr:``): every VR with a scalar column type.
DECLARABLE_VRS = tuple(sorted(vr for vr, kind in VR_KINDS.items() if kind in KIND_TYPES))


class PathError(ValueError):
    """A path that parses but means nothing the lake holds (the message says why)."""


# --- operations, applied in order by evaluate.py --------------------------------------------------
@dataclass(frozen=True)
class Column:
    """Start from a top-level column of the change log."""

    name: str


@dataclass(frozen=True)
class PrivateValue:
    """Start from the ``_private`` entry of a private or unknown element (its value as text).
    ``creator`` None with ``tag``: match the tag as written; else group + creator + offset."""

    group: int
    offset: int
    creator: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Element:
    """The n-th value of a list (null when the list is shorter)."""

    n: int


@dataclass(frozen=True)
class Explode:
    """Every value of a list: the path from here on yields several values per row."""


@dataclass(frozen=True)
class Field:
    """A field of a struct (an attribute of a sequence item, or a PN component group)."""

    name: str


@dataclass(frozen=True)
class SplitValues:
    """A private value's text split into its values at backslashes."""


@dataclass(frozen=True)
class ParseAs:
    """Private text values parsed as the ``kind`` of a declared VR (same parsers as the lake)."""

    kind: str


Operation = Column | PrivateValue | Element | Explode | Field | SplitValues | ParseAs


@dataclass(frozen=True)
class ResolvedPath:
    text: str
    operations: tuple[Operation, ...]
    # The column's type (a list type when ``is_list``): the VR table's, in the form the lake
    # stores it (as the change log's columns), so custom and change-log columns always agree.
    value_type: pa.DataType
    vr: str  # the VR that typed the value ("" for a private value's text)
    keyword: str = ""  # the attribute the path ends at ("" for a private element)

    @property
    def source_column(self) -> str:
        first = self.operations[0]
        return first.name if isinstance(first, Column) else "_private"

    @property
    def is_list(self) -> bool:
        return any(isinstance(op, Explode) for op in self.operations)


@lru_cache(maxsize=1)
def _keywords_by_lower() -> dict[str, str]:
    return {keyword.lower(): keyword for keyword in keyword_dict}


def suggest_keyword(word: str) -> str | None:
    """The closest real keyword of pydicom's data dictionary (case first, then spelling)."""
    exact = _keywords_by_lower().get(word.lower())
    if exact is not None:
        return exact
    matches = difflib.get_close_matches(word, list(keyword_dict), n=1, cutoff=0.6)
    return matches[0] if matches else None


def spec_for_keyword(word: str) -> TagSpec:
    """The spec of a keyword, or :class:`PathError` naming the closest real keyword."""
    tag = keyword_dict.get(word)
    if tag is None:
        hint = suggest_keyword(word)
        raise PathError(
            f"unknown keyword {word!r}" + (f" (did you mean {hint!r}?)" if hint else "")
        )
    return spec_for_key(f"{tag:08X}")


def _typed_spec(spec: TagSpec, written: str) -> TagSpec:
    if spec.category == "bulk":
        raise PathError(
            f"{written} has VR {spec.dictionary_vr}: binary values are kept only in "
            "_metadata, not as a column"
        )
    if spec.category != "typed":
        raise PathError(f"{written} is not an attribute of the data dictionary")
    return spec


def _head(step: Step, vr: str | None) -> tuple[list[Operation], TagSpec | None]:
    """Operations that reach the first element; a spec for dictionary attributes, None for
    private and unknown elements (whose value is text, or ``vr``'s kind)."""
    if isinstance(step, PrivateTag):
        return [PrivateValue(step.group, step.offset, creator=step.creator)], None
    if isinstance(step, Name):
        spec = spec_for_keyword(step.text)
    elif isinstance(step, Tag):
        spec = spec_for_key(f"{step.tag:08X}")
        if spec.category in ("private", "unknown"):
            return [PrivateValue(step.tag >> 16, step.tag & 0xFF, tag=spec.key)], None
    else:
        raise PathError("a path starts with an attribute, not a selector")
    written = spec.keyword
    spec = _typed_spec(spec, written)
    if vr is not None:
        raise PathError(
            f"vr is only for private or unknown elements; {written} has VR "
            f"{spec.dictionary_vr} in the data dictionary"
        )
    if spec.key in IDENTITY_KEYS:
        raise PathError(f"{written} is already a fixed column of every custom table")
    return [Column(spec.keyword)], spec


def _private_path(
    operations: list[Operation], rest: tuple[Step, ...], vr: str | None, text: str
) -> ResolvedPath:
    if vr is not None and vr not in DECLARABLE_VRS:
        raise PathError(f"unknown VR {vr!r} (one of {', '.join(DECLARABLE_VRS)})")
    selectors = list(rest)
    if any(not isinstance(s, (Index, Every)) for s in selectors) or len(selectors) > 1:
        raise PathError("a private element's value can only be followed by one [n] or [*]")
    if selectors:
        operations += [
            SplitValues(),
            Explode() if isinstance(selectors[0], Every) else Element(selectors[0].n),
        ]
    kind = VR_KINDS[vr] if vr else "str"
    if vr:
        operations.append(ParseAs(kind))
    base = KIND_TYPES[kind]
    value_type = pa.list_(base) if selectors and isinstance(selectors[0], Every) else base
    return ResolvedPath(text, tuple(operations), delta_type(value_type), vr or "")


@dataclass
class _Walk:
    """Where a path's steps have got to: the attribute reached, and how its values were chosen."""

    spec: TagSpec
    operations: list[Operation]
    pn_group: str | None = None
    indexed: bool = False  # the current attribute's values were selected by [n] or [*]

    def where(self) -> str:
        keyword = self.spec.keyword
        return keyword if self.pn_group is None else f"{keyword}.{self.pn_group}"

    def step(self, step: Step) -> None:
        if isinstance(step, (Index, Every)):
            self.select(step)
        elif self.spec.kind == "pn" and self.pn_group is None and isinstance(step, Name):
            self.name_group(step)
        else:
            self.descend(step)

    def select(self, step: Index | Every) -> None:
        spec = self.spec
        if self.pn_group is not None or self.indexed or not (spec.multi or spec.kind == "seq"):
            raise PathError(f"{self.where()} has one value (VM {spec.vm or '1'}): no [n] or [*]")
        self.operations.append(Element(step.n) if isinstance(step, Index) else Explode())
        self.indexed = True

    def name_group(self, step: Name) -> None:
        if step.text not in PN_GROUPS:
            raise PathError(
                f"{self.spec.keyword} is a person name: its component groups are "
                f"{', '.join(PN_GROUPS)}, not {step.text!r}"
            )
        if self.spec.multi and not self.indexed:
            self.operations.append(Explode())
            self.indexed = True
        self.operations.append(Field(step.text))
        self.pn_group = step.text

    def descend(self, step: Step) -> None:
        if self.spec.kind != "seq":
            raise PathError(f"{self.where()} is not a sequence: nothing to descend into with '.'")
        if not self.indexed:
            raise PathError(
                f"{self.spec.keyword} is a sequence: choose its items with [n] or [*] before '.'"
            )
        child = _item_attribute(step)
        self.spec = _typed_spec(child, child.keyword)
        self.operations.append(Field(self.spec.keyword))
        self.indexed = False

    def value_type(self) -> pa.DataType:
        """The column's type once every step is taken (adds the last Explode if needed)."""
        spec = self.spec
        if spec.kind == "seq":
            raise PathError(
                f"{spec.keyword} is a sequence: the path must end at an attribute of "
                f"its items, e.g. {spec.keyword}[0].CodeValue"
            )
        if self.pn_group is not None:
            base: pa.DataType = pa.string()
        else:
            base = KIND_TYPES[spec.kind]
            if spec.multi and not self.indexed:
                self.operations.append(Explode())
        exploded = any(isinstance(op, Explode) for op in self.operations)
        return pa.list_(base) if exploded else base


def _item_attribute(step: Step) -> TagSpec:
    """The spec of an attribute of a sequence item (dictionary attributes only)."""
    if isinstance(step, Name):
        return spec_for_keyword(step.text)
    if isinstance(step, Tag):
        child = spec_for_key(f"{step.tag:08X}")
        if child.category in ("private", "unknown"):
            raise PathError(
                f"({step.tag >> 16:04X},{step.tag & 0xFFFF:04X}) inside a sequence"
                " item: the lake keeps only dictionary attributes of items"
            )
        return child
    raise PathError("a private element by creator can only start a path")


def resolve_path(text: str, vr: str | None = None) -> ResolvedPath:
    """Resolve a path's text; raises :class:`PathError` (or its syntax error) with the reason."""
    steps = parse_path(text)
    operations, spec = _head(steps[0], vr)
    if spec is None:
        return _private_path(operations, steps[1:], vr, text)
    walk = _Walk(spec, operations)
    for step in steps[1:]:
        walk.step(step)
    value_type = walk.value_type()
    return ResolvedPath(
        text,
        tuple(walk.operations),
        delta_type(value_type),
        walk.spec.dictionary_vr,
        walk.spec.keyword,
    )
