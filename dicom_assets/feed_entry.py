"""The one shape every change feed is read into, whatever the server: what ``sources/`` hands
on and ``schema/`` converts. It imports nothing of the project, so both may import it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ChangeAction(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class ChangeFeedEntry:
    """One entry of a DICOM server's change feed, with the instance's DICOM JSON when it exists.

    ``metadata`` is the instance's DICOM JSON model (PS3.18 F.2): its JSON bytes as the server
    sent them (read natively by the converter) or a dict keyed by tag (``"0020000D"``). Deletes
    carry the three UIDs and no metadata.
    """

    sequence: int
    timestamp: datetime  # timezone-aware, UTC
    action: ChangeAction
    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    # JSON bytes or a dict; anything else the server sent is kept so the converter can
    # quarantine it.
    metadata: bytes | dict[str, Any] | Any | None = None
    # Server-specific extras kept for diagnostics (e.g. Azure's ``state``, Orthanc's resource ID).
    extras: dict[str, Any] = field(default_factory=dict)
