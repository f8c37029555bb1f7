"""The lake's columns as SQL engines see them: one unified Arrow schema for every Parquet file
under ``<lake>/result/Dicom/``, and how many rows actually carry each column.

Only Parquet footers are read for flat columns (row counts and ``null_count`` statistics), so
scanning a lake of thousands of files costs one small read per file. Nested columns (PN
structs, lists, sequences) are the exception: Parquet statistics count leaf *values*, not rows
(a list of three values counts three, a null list and an empty list one null each), so for
those the first leaf column alone is read, and only in files whose statistics do not already
prove every row present.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from dicom_assets.lake.layout import PARTITION_COLUMN, PARTITION_TYPE


@dataclass(frozen=True)
class LakeColumn:
    """A top-level lake column, its unified Arrow type and the number of rows where it is not
    null (summed over all files; files without the column count as null)."""

    name: str
    arrow_type: pa.DataType
    rows_present: int


def parquet_files(fs: fsspec.AbstractFileSystem, dicom_root: str) -> list[str]:
    """Every ``*.parquet`` file below ``dicom_root``, sorted. Names starting with ``.`` or ``_``
    are skipped: writers use them for files in progress, and Synapse skips them too."""
    root = fs._strip_protocol(dicom_root).rstrip("/")
    if not fs.exists(root):
        return []
    files = []
    for path in fs.find(root, withdirs=False):
        name = posixpath.basename(path)
        # The prefix check keeps a sibling such as result/Dicom_Quarantine out on object stores
        # whose listings are prefix matches.
        if (
            path.startswith(root + "/")
            and name.endswith(".parquet")
            and not name.startswith((".", "_"))
        ):
            files.append(path)
    return sorted(files)


def is_list_like(data_type: pa.DataType) -> bool:
    """Any of Arrow's list types (they all write one repeated Parquet column per leaf)."""
    return (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
        or pa.types.is_list_view(data_type)
        or pa.types.is_large_list_view(data_type)
    )


def _leaf_count(data_type: pa.DataType) -> int:
    """How many Parquet leaf columns an Arrow type is written as."""
    if pa.types.is_struct(data_type):
        return sum(_leaf_count(data_type.field(i).type) for i in range(data_type.num_fields)) or 1
    if pa.types.is_map(data_type):
        return _leaf_count(data_type.key_type) + _leaf_count(data_type.item_type)
    if is_list_like(data_type):
        return _leaf_count(data_type.value_type)
    return 1


def _first_leaves(metadata: pq.FileMetaData, schema: pa.Schema) -> dict[str, int]:
    """Index of the first Parquet leaf column of every top-level field."""
    counts = [_leaf_count(field.type) for field in schema]
    if sum(counts) == metadata.num_columns:
        first, start = {}, 0
        for field, count in zip(schema, counts):
            first[field.name] = start
            start += count
        return first
    # An Arrow type written in an unexpected shape: fall back to the leaf paths.
    first = {}
    for index in range(metadata.num_columns):
        top = metadata.schema.column(index).path.split(".")[0]
        first.setdefault(top, index)
    return first


def _rows_present_in_file(parquet_file: pq.ParquetFile) -> dict[str, int]:
    metadata = parquet_file.metadata
    schema = parquet_file.schema_arrow
    present: dict[str, int] = {}
    for name, leaf in _first_leaves(metadata, schema).items():
        described = metadata.schema.column(leaf)
        if described.max_definition_level == 0:
            present[name] = metadata.num_rows  # a required column is in every row
            continue
        nested = described.max_repetition_level > 0 or described.max_definition_level > 1
        nulls = 0
        exact = True
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(leaf).statistics
            if statistics is None or not statistics.has_null_count:
                exact = False
                break
            nulls += statistics.null_count
        if nested and exact and nulls == 0:
            present[name] = metadata.num_rows  # no null anywhere below, so no null row either
        elif not nested and exact:
            present[name] = metadata.num_rows - nulls
        else:
            # The first leaf carries the top-level validity; reading it alone is cheap.
            column = parquet_file.read(columns=[described.path]).column(0)
            present[name] = len(column) - column.null_count
    return present


def delta_files(lake) -> list[str] | None:
    """The change log's active data files (paths on ``lake.filesystem()``), from its Delta log;
    None when the lake has no Delta table yet."""
    table = lake.table().open_if_exists()
    if table is None:
        return None
    files = []
    for uri in table.file_uris():
        path = unquote(uri.removeprefix("file://"))
        files.append(path.split("://", 1)[1] if "://" in path else path)
    return sorted(files)


def read_table_schema(lake) -> tuple[list[LakeColumn], int]:
    """:func:`read_lake_schema` of the change log's Delta table (its active files only), with
    the partition column ``_date`` (in every row; Delta keeps it in the log, not the files)."""
    files = delta_files(lake)
    if files is None:
        return [], 0
    columns, rows = read_lake_schema(lake.filesystem(), lake.dicom_root(), files=files)
    columns.append(LakeColumn(name=PARTITION_COLUMN, arrow_type=PARTITION_TYPE, rows_present=rows))
    return columns, rows


def read_lake_schema(
    fs: fsspec.AbstractFileSystem, dicom_root: str, files: list[str] | None = None
) -> tuple[list[LakeColumn], int]:
    """(columns in unified-schema order, total rows) for every Parquet file under ``dicom_root``
    (the ``<lake>/result/Dicom`` folder, as a path or URL of ``fs``).

    An empty or missing folder gives ``([], 0)``. Files whose column types disagree raise
    ``ValueError`` naming the file: the lake contract fixes a column's type forever.
    """
    unified: pa.Schema | None = None
    present: dict[str, int] = {}
    total_rows = 0
    for path in parquet_files(fs, dicom_root) if files is None else files:
        with fs.open(path, "rb") as handle:
            parquet_file = pq.ParquetFile(handle)
            schema = parquet_file.schema_arrow.remove_metadata()
            try:
                unified = schema if unified is None else pa.unify_schemas([unified, schema])
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise ValueError(
                    f"{path}: column types differ from earlier files: {error}"
                ) from error
            total_rows += parquet_file.metadata.num_rows
            for name, rows in _rows_present_in_file(parquet_file).items():
                present[name] = present.get(name, 0) + rows
    if unified is None:
        return [], 0
    columns = [
        LakeColumn(name=field.name, arrow_type=field.type, rows_present=present.get(field.name, 0))
        for field in unified
    ]
    return columns, total_rows
