"""Change-feed entries of synthetic instances, for the lake tests that write windows directly."""

from __future__ import annotations

import datetime as dt

from dicom_assets.devtools.samples import synthetic_instances, synthetic_study
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry


def synthetic_creates(first_sequence: int, count: int, start: dt.datetime) -> list[ChangeFeedEntry]:
    """Creates of ``count`` instances of one synthetic series (study number ``first_sequence``),
    sequences from ``first_sequence`` on, a minute apart from ``start``."""
    study = synthetic_study(first_sequence, series=1, instances_per_series=count)
    entries = []
    for offset, dataset in enumerate(synthetic_instances(study)):
        dataset.PixelData = b""  # keep the JSON small: bulk data is not a column anyway
        entries.append(
            ChangeFeedEntry(
                sequence=first_sequence + offset,
                timestamp=start + dt.timedelta(minutes=offset),
                action=ChangeAction.CREATE,
                study_instance_uid=dataset.StudyInstanceUID,
                series_instance_uid=dataset.SeriesInstanceUID,
                sop_instance_uid=dataset.SOPInstanceUID,
                metadata=dataset.to_json_dict(
                    bulk_data_threshold=1, bulk_data_element_handler=lambda e: "bulk"
                ),
            )
        )
    return entries
