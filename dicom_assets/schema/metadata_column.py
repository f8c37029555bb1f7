"""The ``_metadata`` column built from the instances' JSON texts without per-row copies."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Arrow's string type addresses at most 2 GiB per array: bigger batches become chunks.
CHUNK_BYTES = 1 << 30


def _string_array(texts: list[bytes | None]) -> pa.Array:
    n = len(texts)
    lengths = np.fromiter((0 if t is None else len(t) for t in texts), np.int64, n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    valid = np.fromiter((t is not None for t in texts), bool, n)
    validity = None if valid.all() else pa.array(valid, pa.bool_()).buffers()[1]
    data = pa.py_buffer(b"".join(t for t in texts if t is not None))
    # The texts are orjson's (or ASCII-escaped stdlib) output: valid UTF-8 by construction.
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), data])


def metadata_column(texts: list[bytes | None]) -> pa.Array | pa.ChunkedArray:
    """One string per row (null for deletes), as one array or, past 1 GiB, chunks."""
    total = sum(len(t) for t in texts if t is not None)
    if total < CHUNK_BYTES:
        return _string_array(texts)
    chunks, start, size = [], 0, 0
    for row, text in enumerate(texts):
        length = 0 if text is None else len(text)
        if size + length > CHUNK_BYTES and row > start:
            chunks.append(_string_array(texts[start:row]))
            start, size = row, 0
        size += length
    chunks.append(_string_array(texts[start:]))
    return pa.chunked_array(chunks, pa.string())
