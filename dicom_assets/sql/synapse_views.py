"""T-SQL for the current-state views over ``dicom.instances``.

The rules are the DuckDB views' rules (``dicom_assets/sql/duckdb_views.py``), with the same
view and column names:

- ``current_instances``: per ``SOPInstanceUID`` the row ranked 1 by
  ``ROW_NUMBER() OVER (PARTITION BY SOPInstanceUID ORDER BY _sequence DESC)``, kept only when its
  ``_action`` is not ``'delete'``; all table columns.
- ``series``: ``current_instances`` grouped by ``StudyInstanceUID, SeriesInstanceUID``:
  ``Modality`` (MIN), ``instances`` (row count), ``first_change``/``last_change``
  (MIN/MAX ``_timestamp``).
- ``studies``: grouped by ``StudyInstanceUID``: ``series`` (distinct series), ``instances``,
  ``modalities`` (distinct modalities, sorted, comma-separated), ``first_change``,
  ``last_change``.

Each definition carries a fingerprint comment (a hash of its text): the executor compares it
with ``OBJECT_DEFINITION`` to leave unchanged views alone.
"""

from __future__ import annotations

import hashlib

from dicom_assets.sql.synapse_quoting import quote_ascii_literal, quote_identifier, quote_qualified
from dicom_assets.sql.synapse_types import TableColumn

FINGERPRINT_MARKER = "-- dicom-assets definition "
# DICOM JSON key of Modality (0008,0060): the fallback when the table has no Modality column.
_MODALITY_JSON = "JSON_VALUE([_metadata], " + quote_ascii_literal('$."00080060".Value[0]') + ")"


def fingerprint(body: str) -> str:
    """Short, stable hash of a view body."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def _with_fingerprint(header: str, body: str) -> tuple[str, str]:
    """(full CREATE OR ALTER statement, fingerprint) for a view."""
    mark = fingerprint(header + body)
    return f"{header}\n{FINGERPRINT_MARKER}{mark}\n{body}", mark


def current_instances_view(schema: str, columns: list[TableColumn]) -> tuple[str, str]:
    return current_view(schema, "instances", "current_instances", columns)


def current_view(schema: str, table: str, view: str, columns: list[TableColumn]) -> tuple[str, str]:
    """The latest row per SOP instance of ``schema.table``, deleted instances excluded."""
    names = ",\n       ".join(quote_identifier(column.name) for column in columns)
    header = f"CREATE OR ALTER VIEW {quote_qualified(schema, view)}\nAS"
    # Reconciliation's delete rows carry -(sequence of the create they end): by absolute value
    # they rank with that create, and the delete wins the tie; a later re-create outranks both.
    body = f"""-- The latest change per SOP instance wins; an instance whose latest change is a delete is gone.
SELECT {names}
FROM (
    SELECT *,
           ROW_NUMBER() OVER (
               PARTITION BY [SOPInstanceUID] ORDER BY ABS([_sequence]) DESC, [_sequence] ASC
           ) AS [_latest]
    FROM {quote_qualified(schema, table)}
) AS [ranked]
WHERE [_latest] = 1 AND [_action] <> {quote_ascii_literal("delete")};"""  # noqa: E501 (SQL kept on one line)
    return _with_fingerprint(header, body)


def _modality(columns: list[TableColumn]) -> str:
    if any(column.name == "Modality" for column in columns):
        return "[Modality]"
    return _MODALITY_JSON


def series_view(schema: str, columns: list[TableColumn]) -> tuple[str, str]:
    header = f"CREATE OR ALTER VIEW {quote_qualified(schema, 'series')}\nAS"
    body = f"""SELECT [StudyInstanceUID],
       [SeriesInstanceUID],
       MIN({_modality(columns)}) AS [Modality],
       COUNT_BIG(*) AS [instances],
       MIN([_timestamp]) AS [first_change],
       MAX([_timestamp]) AS [last_change]
FROM {quote_qualified(schema, "current_instances")}
GROUP BY [StudyInstanceUID], [SeriesInstanceUID];"""
    return _with_fingerprint(header, body)


def studies_view(schema: str, columns: list[TableColumn]) -> tuple[str, str]:
    current = quote_qualified(schema, "current_instances")
    header = f"CREATE OR ALTER VIEW {quote_qualified(schema, 'studies')}\nAS"
    # STRING_AGG has no DISTINCT in T-SQL: aggregate the distinct (study, modality) pairs first.
    body = f"""WITH [study_modalities] AS (
    SELECT [StudyInstanceUID],
           STRING_AGG([Modality], ',') WITHIN GROUP (ORDER BY [Modality]) AS [modalities]
    FROM (
        SELECT DISTINCT [StudyInstanceUID], {_modality(columns)} AS [Modality]
        FROM {current}
    ) AS [pairs]
    WHERE [Modality] IS NOT NULL
    GROUP BY [StudyInstanceUID]
)
SELECT [current].[StudyInstanceUID],
       COUNT_BIG(DISTINCT [current].[SeriesInstanceUID]) AS [series],
       COUNT_BIG(*) AS [instances],
       MAX([study_modalities].[modalities]) AS [modalities],
       MIN([current].[_timestamp]) AS [first_change],
       MAX([current].[_timestamp]) AS [last_change]
FROM {current} AS [current]
LEFT JOIN [study_modalities]
    ON [study_modalities].[StudyInstanceUID] = [current].[StudyInstanceUID]
GROUP BY [current].[StudyInstanceUID];"""
    return _with_fingerprint(header, body)


def view_definitions(schema: str, columns: list[TableColumn]) -> list[tuple[str, str, str]]:
    """(view name, statement, fingerprint) in dependency order."""
    return [
        ("current_instances", *current_instances_view(schema, columns)),
        ("series", *series_view(schema, columns)),
        ("studies", *studies_view(schema, columns)),
    ]
