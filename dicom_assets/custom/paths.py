"""The path language of a template column: its syntax, parsed into steps (no dictionary yet).

    path     := head selector? ("." step selector?)*
    head     := KEYWORD | "(" gggg "," eeee ")" | ggggeeee | "(" gggg "," "CREATOR" "," ee ")"
    step     := KEYWORD | "(" gggg "," eeee ")" | ggggeeee       (an attribute of a sequence item,
                                                                  or a person-name component group)
    selector := "[" n "]" | "[*]"                                 (n: 0-based)

``resolve.py`` gives the steps their meaning (which attribute, which type).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class PathSyntaxError(ValueError):
    """A path that does not follow the grammar; the message says where and why."""


@dataclass(frozen=True)
class Name:
    """A keyword (``KVP``) or a person-name component group (``Alphabetic``)."""

    text: str


@dataclass(frozen=True)
class Tag:
    """A tag written as ``(gggg,eeee)`` or ``ggggeeee``."""

    tag: int


@dataclass(frozen=True)
class PrivateTag:
    """A private element by its creator: group, creator text, element offset in the block."""

    group: int
    creator: str
    offset: int


@dataclass(frozen=True)
class Index:
    """``[n]``: the n-th value (0-based) of a multi-valued attribute or sequence."""

    n: int


@dataclass(frozen=True)
class Every:
    """``[*]``: every value, or every item of a sequence."""


Step = Name | Tag | PrivateTag | Index | Every

_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_GROUP_ELEMENT = re.compile(r"\(\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)")
_PRIVATE = re.compile(r'\(\s*([0-9A-Fa-f]{4})\s*,\s*"([^"]*)"\s*,\s*([0-9A-Fa-f]{2})\s*\)')
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}(?![A-Za-z0-9_])")
_SELECTOR = re.compile(r"\[\s*(\d+|\*)\s*\]")


def _element(text: str, at: int, allow_private: bool) -> tuple[Step, int]:
    """The attribute (or component group) that starts at ``at``, and where it ends."""
    if allow_private and (match := _PRIVATE.match(text, at)):
        group = int(match.group(1), 16)
        creator = match.group(2)
        if group % 2 == 0:
            raise PathSyntaxError(
                f'({match.group(1)},"{creator}",{match.group(3)}): a private group is odd'
            )
        if not creator.strip():
            raise PathSyntaxError("a private creator cannot be empty")
        return PrivateTag(group, creator, int(match.group(3), 16)), match.end()
    if match := _PRIVATE.match(text, at):
        raise PathSyntaxError(
            "a private element by creator can only start a path (the lake "
            "keeps private elements of sequence items in _metadata only)"
        )
    if match := _GROUP_ELEMENT.match(text, at):
        return Tag(int(match.group(1) + match.group(2), 16)), match.end()
    if match := _HEX8.match(text, at):
        return Tag(int(match.group(0), 16)), match.end()
    if match := _KEYWORD.match(text, at):
        return Name(match.group(0)), match.end()
    found = text[at : at + 12] or "the end"
    raise PathSyntaxError(
        f"expected a keyword, (gggg,eeee) or ggggeeee at character {at + 1}, found {found!r}"
    )


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a path, e.g. ``AnatomicRegionSequence[0].CodeValue`` ->
    ``(Name, Index(0), Name)``. Raises :class:`PathSyntaxError`."""
    if not isinstance(text, str) or not text.strip():
        raise PathSyntaxError("the path is empty")
    text = text.strip()
    steps: list[Step] = []
    at = 0
    while True:
        step, at = _element(text, at, allow_private=not steps)
        steps.append(step)
        while match := _SELECTOR.match(text, at):
            steps.append(Every() if match.group(1) == "*" else Index(int(match.group(1))))
            at = match.end()
        if at == len(text):
            return tuple(steps)
        if text[at] != ".":
            if text[at] == "[":
                raise PathSyntaxError(
                    f"bad selector at character {at + 1}: use [n] (0-based) or [*]"
                )
            raise PathSyntaxError(f"unexpected {text[at]!r} at character {at + 1}")
        at += 1
