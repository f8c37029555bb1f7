"""Errors raised while reading the server must not carry patient data into Dagster's event log.

A failed WADO-RS call names the study, series and instance by their original UIDs (in the URL
and often in the server's answer). With de-identification on, the sync's feed is wrapped by
:func:`redacted_errors`: any exception becomes a :class:`RedactedSourceError` whose message has
every UID replaced by its keyed pseudonym and every other long identifier-like token cut out,
raised without its cause chain (Dagster stores chained exceptions too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_UID = re.compile(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d.])")
# Orthanc IDs (hashes of PatientID and UIDs), quoted values and query strings.
_OTHER = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}|'[^']*'|\"[^\"]*\"|\?[^\s]*", re.IGNORECASE)
MAX_MESSAGE = 500


class RedactedSourceError(RuntimeError):
    """A source failure, its message cleaned of identifiers (de-identification is on)."""


def redact(text: str, deidentifier: Any) -> str:
    text = _UID.sub(lambda match: deidentifier.pseudonyms.uid(match.group(0)), text)
    return _OTHER.sub("<redacted>", text)[:MAX_MESSAGE]


def redacted_errors(batches: Iterator[Any], deidentifier: Any) -> Iterator[Any]:
    """``batches``, with any exception turned into a :class:`RedactedSourceError`."""
    while True:
        message = None
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - re-raised below, cleaned
            message = f"{type(exc).__name__}: {redact(str(exc), deidentifier)}"
        if message is not None:
            raise RedactedSourceError(message)  # outside the except block: no chained cause
        yield batch
