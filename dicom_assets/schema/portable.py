"""The Arrow types a lake table may hold: those every engine reads as written, with default
settings (Spark 3.x, Delta Lake reader version 1 as Synapse serverless reads it, Fabric, polars,
DuckDB, pyarrow). docs/schema.md, "Types every engine reads", says why each other type is out.

The converter only produces these (vr.KIND_TYPES and the fixed columns); :func:`check_portable`
lets a writer refuse a table that would break a reader instead of committing it.
"""

from __future__ import annotations

import pyarrow as pa

# Leaf types the lake writes. Everything else is refused, in particular: Parquet TIME (Spark 3
# and Delta refuse it), zone-less timestamps (Delta's timestamp_ntz needs reader version 3),
# unsigned integers, float16, durations, and the null type of a column that never had a value.
PORTABLE_LEAF_TYPES: frozenset[pa.DataType] = frozenset(
    {
        pa.string(),
        pa.int64(),
        pa.float64(),
        pa.date32(),
        pa.timestamp("us", tz="UTC"),
    }
)


class NotPortable(TypeError):
    """A table holds a type some reader of the lake cannot read with default settings."""


def non_portable_fields(schema: pa.Schema) -> list[str]:
    """``path: type`` of every leaf (struct fields and list items included) whose type is not
    in :data:`PORTABLE_LEAF_TYPES`; empty when the whole schema is portable."""
    found: list[str] = []

    def walk(path: str, data_type: pa.DataType) -> None:
        if pa.types.is_struct(data_type):
            if data_type.num_fields == 0:  # Parquet cannot store an empty struct
                found.append(f"{path}: {data_type}")
            for field in data_type:
                walk(f"{path}.{field.name}", field.type)
        elif pa.types.is_list(data_type):
            walk(f"{path}[]", data_type.value_type)
        elif data_type not in PORTABLE_LEAF_TYPES:
            found.append(f"{path}: {data_type}")

    for field in schema:
        walk(field.name, field.type)
    return found


def check_portable(schema: pa.Schema) -> None:
    """Raise :class:`NotPortable` naming every field of ``schema`` that is not portable."""
    found = non_portable_fields(schema)
    if found:
        raise NotPortable("types not every reader of the lake can read: " + ", ".join(found))
