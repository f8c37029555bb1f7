"""The lake IO manager: a thin Dagster shell over the lake package.

Writing: a :class:`WindowSync` becomes one Delta commit (window_commit.py). Reading: a
downstream asset's input is its window(s) of the change log (change_log.read_window), as an
Arrow table or a polars frame, by the input's annotation. Storage failures surface as one
``LakeStorageError`` without secrets.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

import polars as pl
import pyarrow as pa
from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext

from dicom_assets.lake.change_log import read_window
from dicom_assets.lake.layout import DICOM_FOLDER
from dicom_assets.lake.resource import LakeResource
from dicom_assets.lake.window_commit import commit_window_sync
from dicom_assets.lake.window_sync import WindowSync


class DicomLakeIOManager(ConfigurableIOManager):
    """IO manager of ``dicom_instances``: the Delta table ``<lake>/result/Dicom/``."""

    lake: LakeResource

    def handle_output(self, context: OutputContext, obj: WindowSync) -> None:
        with self.lake.storage_errors():
            report = commit_window_sync(self.lake, obj)
        table = self.lake.table(DICOM_FOLDER)
        metadata = report.metadata(self.lake.url_of(self.lake.dicom_root()))
        metadata["table_uri"] = MetadataValue.path(table.uri)
        metadata["lake"] = MetadataValue.text(self.lake.describe())  # names only, no secret
        context.add_output_metadata(metadata)
        context.log.info(f"synced window {obj.partition_key}: {report.summary()}")

    def load_input(self, context: InputContext) -> Any:
        with self.lake.storage_errors():
            keys = context.asset_partition_keys if context.has_asset_partitions else []
            windows = {key: read_window(self.lake, key) for key in keys}
        wanted = _frame_type(getattr(context.dagster_type, "typing_type", None))
        if not windows:
            raise ValueError("dicom_instances is partitioned: load it by window")
        converted = {key: _as(wanted, table) for key, table in windows.items()}
        if len(converted) == 1 and not _is_mapping(context):
            return next(iter(converted.values()))
        return converted


def _as(wanted: Any, table: pa.Table) -> Any:
    if wanted in (pl.DataFrame, pl.LazyFrame):
        frame = pl.from_arrow(table)
        return frame.lazy() if wanted is pl.LazyFrame else frame
    return table


def _is_mapping(context: InputContext) -> bool:
    annotation = getattr(context.dagster_type, "typing_type", None)
    return typing.get_origin(annotation) in (dict, typing.Mapping, collections.abc.Mapping)


def _frame_type(annotation: Any) -> Any:
    """The frame type a downstream input asks for: ``pl.DataFrame`` for one partition, or the
    value type of ``dict[str, pl.DataFrame]`` for a range of partitions."""
    if typing.get_origin(annotation) in (dict, typing.Mapping, collections.abc.Mapping):
        arguments = typing.get_args(annotation)
        return arguments[1] if len(arguments) == 2 else None
    return annotation
