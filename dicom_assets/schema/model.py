"""The converter's options and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dicom_assets.feed_entry import ChangeFeedEntry


@dataclass(frozen=True)
class ConversionOptions:
    """Switches that bound what goes into typed columns (everything always stays in ``_metadata``).

    - ``typed_sequence_exclusions``: sequence keywords never typed, at any depth. The per-frame
      functional groups of enhanced multi-frame objects hold one item per frame (thousands), so
      typing them would multiply a partition's size and memory for little analytic value.
    - ``max_sequence_depth``: sequences nested deeper than this (top-level sequence = depth 1)
      are left out of the struct of their parent item.
    - ``max_sequence_items``: a sequence with more items than this is not typed (its column or
      field is null for that row and its keyword is listed in ``_invalid``); ``None`` = no cap.
    - ``max_private_value_chars``: a private value (rendered as text) longer than this is null in
      ``_private`` (binary blobs in ``InlineBinary`` are usually the culprits).
    - ``vectorised``: type columns with Arrow compute (default). ``False`` reads every element
      with the reference reader instead: the same table, several times slower; for diagnosis.
    - ``native``: read metadata given as JSON bytes with the native shredder when it is built
      (default). ``False`` parses it into Python dicts first: the same table, slower.
    - ``deidentifier``: a :class:`dicom_assets.deid.Deidentifier` applied to every entry before
      anything else reads it (DICOM_DEIDENTIFY=basic); ``None``: entries are taken as they come.
    """

    typed_sequence_exclusions: frozenset[str] = frozenset({"PerFrameFunctionalGroupsSequence"})
    max_sequence_depth: int = 16
    max_sequence_items: int | None = 10_000
    max_private_value_chars: int = 4096
    vectorised: bool = True
    native: bool = True
    deidentifier: Any = None


@dataclass
class QuarantinedInstance:
    """An entry whose payload could not be understood at all; it is not a row of the table."""

    entry: ChangeFeedEntry
    reason: str
    raw_payload: str  # the payload as JSON text, or its repr when it is not JSON-able


@dataclass
class ConvertedBatch:
    """The rows of one batch of change-feed entries, in input order, plus what was set aside."""

    table: pa.Table
    quarantined: list[QuarantinedInstance] = field(default_factory=list)
    invalid_values: int = 0  # values nulled because they did not read as their VR
    # Rows per reader: "native" (the shredder) and "python" (parsed dicts); see schema/mixed.py.
    rows_by_reader: dict[str, int] = field(default_factory=dict)
