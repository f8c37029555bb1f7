"""How the lake's Parquet files are encoded: one place, for delta-rs and for pyarrow writers.

Figures behind each choice: docs/performance.md, "Parquet size".
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

# Typed columns are small once dictionary-encoded; zstd's default level is enough for them.
TYPED_ZSTD_LEVEL = 3
# `_metadata` is most of a file. Level 12 makes it ~25 % smaller than level 3 for ~40 µs of
# CPU per instance, far less than fetching or converting it costs.
METADATA_ZSTD_LEVEL = 12
# zstd compresses each page on its own: larger `_metadata` pages let it find the repeats
# between the instances of a series.
DATA_PAGE_BYTES = 8 << 20
METADATA = "_metadata"
# Rows per Parquet row group: large groups compress `_metadata` better.
ROW_GROUP_ROWS = 10_000


def leaf_paths(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """Parquet's column paths (``Seq.list.element.Field``) with their leaf types: the Parquet
    writer applies per-column options by these paths, not by top-level names."""
    out: list[tuple[str, pa.DataType]] = []

    def walk(path: str, type_: pa.DataType) -> None:
        if pa.types.is_struct(type_):
            for field in type_:
                walk(f"{path}.{field.name}", field.type)
        elif pa.types.is_list(type_) or pa.types.is_large_list(type_):
            walk(f"{path}.list.element", type_.value_type)
        else:
            out.append((path, type_))

    for field in schema:
        walk(field.name, field.type)
    return out


def _grows_steadily(path: str, type_: pa.DataType) -> bool:
    """Clocks and counters that grow row by row within a series: their deltas are tiny."""
    return path in ("_sequence", "_timestamp") or ("." not in path and pa.types.is_timestamp(type_))


def parquet_write_options(schema: pa.Schema) -> dict[str, Any]:
    """Keyword arguments for ``pyarrow.parquet.ParquetWriter``/``write_table`` for ``schema``.

    - dictionary encoding for every leaf column but ``_metadata`` (unique JSON per row) and
      the steadily growing clocks, which are DELTA_BINARY_PACKED instead (~2 bytes per
      instance instead of ~8; every reader of the lake decodes it: DuckDB, Spark, polars);
    - zstd everywhere, harder on ``_metadata``; 8 MiB data pages.
    """
    leaves = leaf_paths(schema)
    delta = [path for path, type_ in leaves if _grows_steadily(path, type_)]
    return {
        "compression": "zstd",
        "compression_level": {
            path: METADATA_ZSTD_LEVEL if path == METADATA else TYPED_ZSTD_LEVEL
            for path, _ in leaves
        },
        "use_dictionary": [path for path, _ in leaves if path != METADATA and path not in delta],
        "column_encoding": dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
        "data_page_size": DATA_PAGE_BYTES,
    }


def writer_properties(schema: pa.Schema):
    """The same choices for delta-rs' Parquet writer (``deltalake.WriterProperties``): zstd,
    dictionaries except for ``_metadata`` and the steadily growing clocks, which are
    DELTA_BINARY_PACKED. delta-rs takes one zstd level for all columns, so ``_metadata`` gets
    the typed columns' level (docs/performance.md, "Parquet size")."""
    from deltalake import ColumnProperties, WriterProperties

    columns = {METADATA: ColumnProperties(dictionary_enabled=False)}
    for field in schema:
        if _grows_steadily(field.name, field.type):
            columns[field.name] = ColumnProperties(
                dictionary_enabled=False, encoding="DELTA_BINARY_PACKED"
            )
    return WriterProperties(
        compression="ZSTD",
        compression_level=TYPED_ZSTD_LEVEL,
        data_page_size_limit=DATA_PAGE_BYTES,
        max_row_group_size=ROW_GROUP_ROWS,
        column_properties=columns,
    )
