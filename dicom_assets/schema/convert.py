"""DICOM JSON change-feed entries -> one typed Arrow table (the lake's row format)."""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from dicom_assets import native
from dicom_assets.schema.batch_table import batch_table
from dicom_assets.schema.mixed import (
    NotMergeable,
    merged,
    native_holds,
    python_holds,
    read_natively,
)
from dicom_assets.schema.model import ConversionOptions, ConvertedBatch, QuarantinedInstance
from dicom_assets.schema.python_elements import PythonElements
from dicom_assets.schema.row_head import RowHead, Unreadable, parsed, payload_text, read_head
from dicom_assets.schema.survey import Survey

log = logging.getLogger(__name__)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Conversion allocates millions of short-lived objects and frees them all at the end;
    generational GC passes over them would cost more than the conversion itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _quarantine(entry: Any, reason: str) -> QuarantinedInstance:
    return QuarantinedInstance(
        entry=entry, reason=reason, raw_payload=payload_text(getattr(entry, "metadata", entry))
    )


def _read_heads(
    entries: Sequence[Any], parse: bool
) -> tuple[list[tuple[Any, RowHead]], list[QuarantinedInstance]]:
    heads: list[tuple[Any, RowHead]] = []
    quarantined: list[QuarantinedInstance] = []
    for entry in entries:
        try:
            heads.append((entry, read_head(entry, parse=parse)))
        except Unreadable as exc:
            quarantined.append(_quarantine(entry, str(exc)))
        except Exception as exc:  # noqa: BLE001 - an odd entry must not fail the batch
            quarantined.append(_quarantine(entry, f"unreadable entry: {exc!r:.200}"))
    return heads, quarantined


def _python_source(
    heads: list[tuple[Any, RowHead]],
    quarantined: list[QuarantinedInstance],
    options: ConversionOptions,
) -> tuple[list[int], list[RowHead], PythonElements]:
    """Heads with parsed metadata (payloads parsed now; unparsable ones quarantined), with
    their positions in ``heads``."""
    survey = Survey()
    kept: list[RowHead] = []
    positions: list[int] = []
    for position, (entry, head) in enumerate(heads):
        if head.payload is not None:
            try:
                head = parsed(head)
            except Unreadable as exc:
                quarantined.append(_quarantine(entry, str(exc)))
                continue
        if head.metadata is not None:
            survey.add(head.metadata)
        kept.append(head)
        positions.append(position)
    return (
        positions,
        kept,
        PythonElements(
            [h.metadata for h in kept], [h.metadata_json for h in kept], survey, options
        ),
    )


def convert_entries(
    entries: Sequence[Any], options: ConversionOptions | None = None
) -> ConvertedBatch:
    """Convert change-feed entries to a table with one row per readable entry, in input order.

    Never raises: values that do not read as their VR are nulled and listed in ``_invalid``;
    entries that cannot be understood at all are returned in ``quarantined`` instead of a row.
    Metadata given as JSON bytes is read by the native shredder when it is built; an instance
    it cannot read exactly is converted by the Python path alone (``rows_by_reader`` counts
    both). The result is the same table either way. Larger batches convert faster per
    instance (Arrow's per-column costs are shared).
    """
    options = options or ConversionOptions()
    if options.deidentifier is not None:  # before anything reads, logs or quarantines them
        entries = options.deidentifier.entries(entries, native=options.native)
    shred = options.native and options.vectorised and native.available()
    with _gc_paused():
        pairs, quarantined = _read_heads(entries, parse=not shred)
        parts: list[tuple[list[int], pa.Table, Any]] = []
        invalid_values = 0
        python_rows, reasons = list(range(len(pairs))), []
        if shred:
            shredded_parts, python_rows, reasons = read_natively(pairs, options)
            for rows, source in shredded_parts:
                table, invalid = batch_table([pairs[i][1] for i in rows], source, options)
                parts.append((rows, table, native_holds(source)))
                invalid_values += invalid
        native_rows = sum(table.num_rows for _, table, _ in parts)
        if python_rows or not parts:
            positions, heads, source = _python_source(
                [pairs[i] for i in python_rows], quarantined, options
            )
            table, invalid = batch_table(heads, source, options)
            parts.append(
                (
                    [python_rows[p] for p in positions],
                    table,
                    python_holds([h.metadata for h in heads]),
                )
            )
            invalid_values += invalid
        if reasons:
            log.info(
                "%d of %d instances converted by the Python path, the rest natively "
                "(first reason: %s)",
                len(reasons),
                len(pairs),
                reasons[0],
            )
        try:
            table = merged(parts)
        except (NotMergeable, pa.ArrowException) as exc:  # rare: one Python conversion instead
            log.info(
                "native and Python parts do not merge exactly (%s): the batch is "
                "converted by the Python path",
                exc if isinstance(exc, NotMergeable) else type(exc).__name__,
            )
            return convert_entries(entries, dataclasses.replace(options, native=False))
    return ConvertedBatch(
        table=table,
        quarantined=quarantined,
        invalid_values=invalid_values,
        rows_by_reader={"native": native_rows, "python": table.num_rows - native_rows},
    )
