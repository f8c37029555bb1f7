"""PS3.15 Table E.3.10-1 "Safe Private Attributes" as data, and which private elements it keeps.

The table ships as ``table_e3_10_1.json`` (see ``PROVENANCE.md``): one row per attribute with
its private creator, tag ``(gggg,xxee)`` (``xx``: the block the creator reserved, ``ee``: the
element's offset in it), VR, VM and meaning. The table carries no condition column: a listed
attribute is safe whatever its value.

With ``retain-safe-private`` the profile gives private tags the action ``Q`` ("decide with the
creator"), and :func:`private_actions` decides per dataset (the top level or one sequence item,
since a private creator reserves its block only within its own dataset):

- a data element ``(gggg,bbee)`` whose block ``bb`` is reserved by creator ``c`` at
  ``(gggg,00bb)`` is kept when ``(c, gggg, ee)`` is listed: ``U`` (keyed pseudonym) for a UI
  value unless UIDs are retained, ``C`` (cleaned of the instance's own identifiers, the table
  E.1-1 action of private attributes under this option) for text, ``K`` for anything else
  (numbers, binary, sequences, whose items are de-identified in turn);
- its creator element is kept (``K``) when at least one element of its block is;
- every other private element (unlisted ones, group lengths, creators of unused blocks,
  elements without a creator) is removed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

_TABLE = Path(__file__).with_name("table_e3_10_1.json")
_TAG = re.compile(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)")
_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN", "CS", "AE"})

# (private creator, group, offset in the block) of every listed attribute.
SafeKey = tuple[str, int, int]


@cache
def table_rows() -> tuple[dict, ...]:
    return tuple(json.loads(_TABLE.read_text(encoding="utf-8")))


@cache
def safe_keys() -> frozenset[SafeKey]:
    keys = set()
    for row in table_rows():
        match = _TAG.fullmatch(row["tag"])
        if match is None:
            raise ValueError(f"table_e3_10_1.json: unexpected tag {row['tag']!r}")
        keys.add((row["private_creator"], int(match[1], 16), int(match[2], 16)))
    return frozenset(keys)


@cache
def safe_creators() -> frozenset[str]:
    """Every private creator the table lists."""
    return frozenset(creator for creator, _, _ in safe_keys())


def _creator(element: Any) -> str | None:
    """The creator text of a private creator element (LO, trailing padding ignored)."""
    if type(element) is not dict or type(element.get("Value")) is not list:
        return None
    values = element["Value"]
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    return values[0].strip(" ")


def _kept_action(element: Any, retain_uids: bool) -> str:
    vr = element.get("vr") if type(element) is dict else None
    if vr == "UI":
        return "K" if retain_uids else "U"
    return "C" if vr in _TEXT_VRS else "K"


def _tag(key: str) -> int | None:
    try:
        return int(key, 16) if len(key) == 8 else None
    except ValueError:
        return None


def _blocks(dataset: dict) -> tuple[dict[tuple[int, int], tuple[str, str]], list[tuple[str, int]]]:
    """The creators of one dataset level by (group, block), and its private data elements."""
    creators: dict[tuple[int, int], tuple[str, str]] = {}  # (group, block) -> (key, creator)
    elements: list[tuple[str, int]] = []
    for key, value in dataset.items():
        tag = _tag(key)
        if tag is None or not (tag >> 16) & 1:
            continue
        element = tag & 0xFFFF
        if 0x10 <= element <= 0xFF:
            creator = _creator(value)
            if creator is not None:
                creators[(tag >> 16, element)] = (key, creator)
        elif element >= 0x1000:
            elements.append((key, tag))
    return creators, elements


def private_actions(dataset: dict, retain_uids: bool) -> dict[str, str]:
    """The action of every private key of one dataset level that is kept (others: removed)."""
    creators, elements = _blocks(dataset)
    actions: dict[str, str] = {}
    safe = safe_keys()
    for key, tag in elements:
        group, element = tag >> 16, tag & 0xFFFF
        reserved = creators.get((group, element >> 8))
        if reserved is None or (reserved[1], group, element & 0xFF) not in safe:
            continue
        actions[key] = _kept_action(dataset[key], retain_uids)
        actions[reserved[0]] = "K"
    return actions
