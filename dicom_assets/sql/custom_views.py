"""DuckDB views of the custom tables: ``dicom_custom.<name>`` and ``dicom_custom.current_<name>``.

``<name>`` is every row of the template's Delta table (``delta_scan``: the table's current
snapshot each time it is queried, so a view is registered once and stays current).
``current_<name>`` keeps the latest row per ``SOPInstanceUID`` by the same rule as
``dicom.current_instances`` (reconciliation deletes carry ``-sequence`` and win the tie), without
deleted instances: the rows of the instances the server holds now that pass the template's
``where``.
"""

from __future__ import annotations

SCHEMA = "dicom_custom"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def current_view_body(source: str) -> str:
    """The SELECT of a ``current_*`` view over ``source`` (a qualified view or table name)."""
    return f"""SELECT * EXCLUDE (_latest) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY SOPInstanceUID ORDER BY abs(_sequence) DESC, _sequence ASC
    ) AS _latest
    FROM {source}
) WHERE _latest = 1 AND _action <> 'delete'"""


def custom_view_statements(name: str, table_uri: str) -> list[tuple[str, str]]:
    """(view, statement) of one template's two views, over its Delta table at ``table_uri``."""
    table = f"{SCHEMA}.{name}"
    return [
        (
            table,
            (
                f"CREATE OR REPLACE VIEW {table} AS "
                f"SELECT * FROM delta_scan({_quote_literal(table_uri)})"
            ),
        ),
        (
            f"{SCHEMA}.current_{name}",
            f"CREATE OR REPLACE VIEW {SCHEMA}.current_{name} AS\n{current_view_body(table)}",
        ),
    ]
