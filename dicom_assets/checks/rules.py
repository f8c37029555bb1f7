"""The rules of the per-window checks, as pure functions from what a window holds to a result.

Every failing result names what is wrong (sequences, rows, files, values) in table metadata,
so that the Dagster UI answers "which ones?" without anyone reading logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from dicom_assets.checks.listing import change_row, listed, listed_row, rows_with_sequences
from dicom_assets.checks.uids import BROKEN, MAX_UID_LENGTH, uid_problem
from dicom_assets.checks.window_data import UID_COLUMNS, WindowContents
from dicom_assets.sources.entries import FeedChange

# A change stamped this long before its window's sync started must be in the lake. Closer to
# the start it may have been committed after the sync read the feed (Orthanc stamps whole
# seconds; Azure's timestamps and sequences may disagree by a few seconds), so it is "pending":
# the sensor hands it to the next run.
PENDING_SLACK = timedelta(seconds=10)
_WELL_FORMED_UID = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"


@dataclass(frozen=True)
class FeedWindow:
    """What the change feed lists in a window: its changes (sequence and timestamp), or only
    their number when the feed can merely count."""

    count: int
    changes: list[FeedChange] | None = None


def completeness(
    contents: WindowContents,
    feed: FeedWindow,
    synced_before: datetime,
    feed_forgets_deleted: bool,
) -> AssetCheckResult:
    """Rows (plus quarantined changes) of the window = the feed's changes in the window.

    A change the feed lists and the lake lacks is *missing* (ERROR) when the window's sync should
    have seen it: its sequence is at or below the window's last synced sequence, or it was
    stamped well before the sync started; otherwise it is *pending* (reported, not a failure).
    A change the lake holds and the feed does not list fails with WARN, except on feeds that
    forget the changes of deleted instances (Orthanc), where it is expected after deletions.
    """
    held = contents.feed_sequences | set(contents.quarantined)
    metadata: dict[str, Any] = {
        "feed_changes": MetadataValue.int(feed.count),
        "lake_rows": MetadataValue.int(contents.rows.num_rows),
        "reconciled_deletes": MetadataValue.int(
            len(contents.sequences) - len(contents.feed_sequences)
        ),
        "quarantined": MetadataValue.int(len(contents.quarantined)),
        "window_last_synced_sequence": MetadataValue.int(contents.last_sequence),
    }
    if feed.changes is None:
        # Count-only feed: the difference can be measured but not named.
        metadata["lake_changes"] = MetadataValue.int(len(held))
        passed = feed.count == len(held)
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.ERROR
            if feed.count > len(held)
            else AssetCheckSeverity.WARN,
            description=None
            if passed
            else (f"the feed lists {feed.count} changes in the window, the lake holds {len(held)}"),
            metadata=metadata,
        )
    by_sequence = {change.sequence: change for change in feed.changes}
    cutoff = synced_before - PENDING_SLACK
    absent = sorted((c for s, c in by_sequence.items() if s not in held), key=lambda c: c.sequence)
    missing = [c for c in absent if c.sequence <= contents.last_sequence or c.timestamp < cutoff]
    pending = [c for c in absent if c not in missing]
    extra = sorted(held - by_sequence.keys())
    extra_rows = rows_with_sequences(contents, extra)
    metadata.update(
        {
            "missing": MetadataValue.int(len(missing)),
            "pending": MetadataValue.int(len(pending)),
            "not_in_feed": MetadataValue.int(len(extra)),
        }
    )
    change_columns = {"sequence": "int", "timestamp": "string"}
    if missing:
        metadata["missing_changes"] = listed([change_row(c) for c in missing], change_columns)
    if pending:
        metadata["pending_changes"] = listed([change_row(c) for c in pending], change_columns)
    if extra:
        metadata["not_in_feed_rows"] = listed(
            extra_rows,
            {"sequence": "int", "action": "string", "SOPInstanceUID": "string", "file": "string"},
        )
    extra_fails = bool(extra) and not feed_forgets_deleted
    passed = not missing and not extra_fails
    parts = []
    if missing:
        parts.append(
            f"{len(missing)} changes of the feed are missing: "
            f"sequences {_ranges(c.sequence for c in missing)}"
        )
    if extra_fails:
        parts.append(f"{len(extra)} rows are not in the feed's window: sequences {_ranges(extra)}")
    if pending:
        parts.append(f"{len(pending)} recent changes pending (next sensor run)")
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR if missing else AssetCheckSeverity.WARN,
        description="; ".join(parts)
        or f"all {len(by_sequence)} changes of the window are in the lake",
        metadata=metadata,
    )


def unique_sequences(contents: WindowContents) -> AssetCheckResult:
    """No two rows of the window share a ``_sequence`` (and none lacks one)."""
    sequences = contents.rows["_sequence"]
    counts = pc.value_counts(sequences.drop_null()) if contents.rows.num_rows else pa.array([])
    duplicated = sorted(item["values"].as_py() for item in counts if item["counts"].as_py() > 1)
    null_rows = contents.rows.filter(pc.is_null(sequences))
    wrong = rows_with_sequences(contents, duplicated) + [
        listed_row(r) for r in null_rows.to_pylist()
    ]
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(contents.rows.num_rows),
        "duplicated_sequences": MetadataValue.int(len(duplicated)),
        "rows_without_sequence": MetadataValue.int(null_rows.num_rows),
    }
    if wrong:
        metadata["wrong_rows"] = listed(
            wrong,
            {"sequence": "int", "action": "string", "SOPInstanceUID": "string", "file": "string"},
        )
    parts = []
    if duplicated:
        parts.append(f"{len(duplicated)} sequences appear more than once: {_ranges(duplicated)}")
    if null_rows.num_rows:
        parts.append(f"{null_rows.num_rows} rows have no _sequence")
    return AssetCheckResult(
        passed=not wrong,
        description="; ".join(parts) or "every row has its own _sequence",
        metadata=metadata,
    )


def identity(contents: WindowContents) -> AssetCheckResult:
    """The three UIDs are present and well-formed on every row (see :mod:`uids` for grades)."""
    table = contents.rows
    suspects = pa.array([False] * table.num_rows, pa.bool_())
    for column in UID_COLUMNS:
        values = table[column]
        good = pc.and_(
            pc.match_substring_regex(values, _WELL_FORMED_UID),
            pc.less_equal(pc.utf8_length(values), MAX_UID_LENGTH),
        )
        suspects = pc.or_(suspects, pc.invert(pc.fill_null(good, False)))
    wrong: list[dict[str, Any]] = []
    broken = 0
    for row in table.filter(suspects).to_pylist():
        for column in UID_COLUMNS:
            problem = uid_problem(row[column])
            if problem is None:
                continue
            broken += problem[0] == BROKEN
            wrong.append(
                {
                    **listed_row(row),
                    "column": column,
                    "value": row[column],
                    "grade": problem[0],
                    "problem": problem[1],
                }
            )
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(table.num_rows),
        "bad_values": MetadataValue.int(len(wrong)),
        "broken_values": MetadataValue.int(broken),
    }
    if wrong:
        metadata["bad_uids"] = listed(
            wrong,
            {
                "sequence": "int",
                "column": "string",
                "value": "string",
                "grade": "string",
                "problem": "string",
                "file": "string",
            },
        )
    description = "every row has three well-formed UIDs"
    if wrong:
        description = (
            f"{len(wrong)} bad UIDs ({broken} broken) in rows with sequences "
            f"{_ranges(row['sequence'] for row in wrong if row['sequence'] is not None)}"
        )
    return AssetCheckResult(
        passed=not wrong,
        severity=AssetCheckSeverity.ERROR if broken else AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


def quarantine_share(contents: WindowContents, max_share: float) -> AssetCheckResult:
    """Quarantined changes of the window: a warning above 0, an error above ``max_share`` of
    the window's changes."""
    quarantined = len(contents.quarantined)
    total = quarantined + len(contents.feed_sequences - set(contents.quarantined))
    share = quarantined / total if total else 0.0
    metadata: dict[str, Any] = {
        "quarantined": MetadataValue.int(quarantined),
        "changes": MetadataValue.int(total),
        "share": MetadataValue.float(round(share, 6)),
        "max_share": MetadataValue.float(max_share),
    }
    if quarantined:
        metadata["quarantined_changes"] = listed(
            [
                vars(record)
                for record in sorted(contents.quarantined.values(), key=lambda r: r.sequence)
            ],
            {"sequence": "int", "sop_instance_uid": "string", "reason": "string", "file": "string"},
        )
    return AssetCheckResult(
        passed=quarantined == 0,
        severity=AssetCheckSeverity.ERROR if share > max_share else AssetCheckSeverity.WARN,
        description=(
            f"{quarantined} of {total} changes quarantined "
            f"({share:.2%}; error above {max_share:.2%}): "
            f"sequences {_ranges(contents.quarantined)}"
            if quarantined
            else "no change quarantined"
        ),
        metadata=metadata,
    )


def _ranges(sequences: Iterable[int], limit: int = 20) -> str:
    """``3, 7-9, 12`` (at most ``limit`` ranges, then ``…``): sequences a person can read."""
    values = sorted(set(sequences))
    ranges: list[str] = []
    index = 0
    while index < len(values) and len(ranges) < limit:
        end = index
        while end + 1 < len(values) and values[end + 1] == values[end] + 1:
            end += 1
        ranges.append(str(values[index]) if end == index else f"{values[index]}-{values[end]}")
        index = end + 1
    return ", ".join(ranges) + (", …" if index < len(values) else "")
