"""Recommended Parquet writer settings for converted tables (sizes: docs/performance.md)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

ZSTD_LEVEL = 3


def parquet_write_options(schema: pa.Schema) -> dict[str, Any]:
    """Keyword arguments for ``pyarrow.parquet.write_table``/``ParquetWriter`` for ``schema``.

    - zstd for every column;
    - ``_metadata`` (unique JSON per row) without dictionary encoding: it never repeats;
    - ``_sequence``, ``_timestamp`` and top-level time/date-time columns with
      DELTA_BINARY_PACKED: they grow steadily within a series, so their deltas are tiny
      (saves ~10 bytes per instance against plain encoding);
    - 1 MiB data pages, so zstd sees enough of ``_metadata`` at a time.
    """
    delta = [
        f.name for f in schema
        if f.name in ("_sequence", "_timestamp")
        or pa.types.is_time64(f.type) or pa.types.is_timestamp(f.type)
    ]
    dictionary = [f.name for f in schema if f.name != "_metadata" and f.name not in delta]
    return {
        "compression": "zstd",
        "compression_level": ZSTD_LEVEL,
        "use_dictionary": dictionary,
        "column_encoding": dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
        "data_page_size": 1 << 20,
    }
