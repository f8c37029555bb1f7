"""Source errors with de-identification on: UIDs become pseudonyms, nothing chained."""

from __future__ import annotations

import pytest

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.deid.errors import RedactedSourceError, redacted_errors

STUDY = "1.2.826.0.1.3680043.8.498.4477.1.0.0"


def _failing():
    yield ["first batch"]
    raise ConnectionError(
        f"404 for http://127.0.0.1:8042/dicom-web/studies/{STUDY}/series/{STUDY}.1/metadata"
        "?includefield=all; Orthanc 0b1c2d3e-0b1c2d3e-0b1c2d3e-0b1c2d3e-0b1c2d3e said 'Quixlander'"
    )


def test_source_errors_are_redacted_and_not_chained():
    deid = Deidentifier(DeidSettings.parse("basic", "", "e" * 40))
    batches = redacted_errors(_failing(), deid)
    assert next(batches) == ["first batch"]
    with pytest.raises(RedactedSourceError) as raised:
        next(batches)
    message = str(raised.value)
    assert STUDY not in message and "Quixlander" not in message and "0b1c2d3e" not in message
    assert deid.pseudonyms.uid(STUDY) in message and "ConnectionError: 404" in message
    assert raised.value.__cause__ is None and raised.value.__context__ is None
