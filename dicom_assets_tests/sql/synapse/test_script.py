"""The generated T-SQL: golden files for a lake of known schema, statement order and probes,
and hostile names that must stay inside their quotes."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from dicom_assets.sql.lake_schema import LakeColumn
from dicom_assets.sql.synapse.config import SynapseConfig
from dicom_assets.sql.synapse.script import (
    build_synapse_script,
    render_script,
    secret_placeholder,
    table_signature,
)
from dicom_assets.sql.synapse.types import select_columns
from dicom_assets_tests.sql.lake_files import CODE_ITEM, PN
from dicom_assets_tests.sql.tsql_lexer import (
    assert_matches_golden,
    shape,
    tokens,
    unquote_identifier,
    unquote_string,
)

CONFIG = SynapseConfig(
    data_source_location="https://dicomacct.dfs.core.windows.net/dicom", lake_prefix="lake"
)


def known_lake() -> list[LakeColumn]:
    """A lake with one column of every kind the lake writes, 1,000 rows."""
    return [
        LakeColumn("_sequence", pa.int64(), 1000),
        LakeColumn("_timestamp", pa.timestamp("us", tz="UTC"), 1000),
        LakeColumn("_action", pa.string(), 1000),
        LakeColumn("StudyInstanceUID", pa.string(), 1000),
        LakeColumn("SeriesInstanceUID", pa.string(), 1000),
        LakeColumn("SOPInstanceUID", pa.string(), 1000),
        LakeColumn("Modality", pa.string(), 990),
        LakeColumn("PatientName", PN, 980),
        LakeColumn("StudyDate", pa.date32(), 970),
        LakeColumn("StudyTime", pa.string(), 960),
        LakeColumn("AcquisitionDateTime", pa.timestamp("us", tz="UTC"), 400),
        LakeColumn("ImageType", pa.list_(pa.string()), 950),
        LakeColumn("PixelSpacing", pa.list_(pa.float64()), 900),
        LakeColumn("Rows", pa.int64(), 995),
        LakeColumn("SliceThickness", pa.float64(), 800),
        LakeColumn("ProcedureCodeSequence", pa.list_(CODE_ITEM), 20),
        LakeColumn("_private", pa.string(), 30),
        LakeColumn("_invalid", pa.string(), 2),
        LakeColumn("_metadata", pa.string(), 990),
    ]


def test_golden_script_for_known_lake() -> None:
    assert_matches_golden(
        "synapse_script.sql", render_script(build_synapse_script(known_lake(), CONFIG))
    )


def test_golden_script_capped_columns() -> None:
    # Ten columns: the nine contract columns plus the single most present attribute (Rows, 995
    # rows, ahead of Modality's 990). Modality is left out, so the views read it from _metadata
    # with JSON_VALUE.
    config = SynapseConfig(
        data_source_location="https://dicomacct.dfs.core.windows.net/dicom",
        database="dicom_test",
        max_columns=10,
    )
    script = render_script(build_synapse_script(known_lake(), config))
    assert_matches_golden("synapse_script_capped.sql", script)
    assert "[Rows] BIGINT" in script and "[Modality] VARCHAR" not in script
    assert "JSON_VALUE([_metadata], '$.\"00080060\".Value[0]')" in script


def test_statement_order_and_probes() -> None:
    statements = build_synapse_script(known_lake(), CONFIG)
    assert [(s.kind, s.name) for s in statements] == [
        ("database", "dicomdb"),
        ("context", "dicomdb"),
        ("master_key", "database master key"),
        ("credential", "dicom_lake_identity"),
        ("data_source", "dicom_lake"),
        ("file_format", "dicom_delta"),
        ("schema", "dicom"),
        ("external_table", "dicom.instances"),
        ("view", "dicom.current_instances"),
        ("view", "dicom.series"),
        ("view", "dicom.studies"),
    ]
    for statement in statements:
        assert (statement.probe is None) == (statement.kind == "context")
        assert (statement.desired_state is None) == (statement.kind == "context")
    table = statements[7]
    assert table.column_count == 19
    assert table.desired_state == table_signature(select_columns(known_lake(), 1020).columns)
    assert table.desired_state.startswith("_sequence bigint, _timestamp datetime2, _action varchar")
    # The secret appears once, as a sqlcmd variable, and only in the master key batch.
    placeholder = secret_placeholder("SYNAPSE_MASTER_KEY_PASSWORD")
    assert [s.kind for s in statements if placeholder in s.sql] == ["master_key"]
    assert statements[2].secret_env == "SYNAPSE_MASTER_KEY_PASSWORD"


def test_views_encode_the_duckdb_rules() -> None:
    views = {s.name: s.sql for s in build_synapse_script(known_lake(), CONFIG) if s.kind == "view"}
    current = views["dicom.current_instances"]
    assert (
        "PARTITION BY [SOPInstanceUID] ORDER BY ABS([_sequence]) DESC, [_sequence] ASC" in current
    )
    assert "WHERE [_latest] = 1 AND [_action] <> 'delete'" in current
    assert "[_latest]" not in current.split("FROM (")[0]  # the rank is not a view column
    series = views["dicom.series"]
    for fragment in (
        "MIN([Modality]) AS [Modality]",
        "COUNT_BIG(*) AS [instances]",
        "MIN([_timestamp]) AS [first_change]",
        "MAX([_timestamp]) AS [last_change]",
        "GROUP BY [StudyInstanceUID], [SeriesInstanceUID]",
    ):
        assert fragment in series
    studies = views["dicom.studies"]
    for fragment in (
        "COUNT_BIG(DISTINCT [current].[SeriesInstanceUID]) AS [series]",
        "STRING_AGG([Modality], ',') WITHIN GROUP (ORDER BY [Modality])",
        "SELECT DISTINCT",
        "GROUP BY [current].[StudyInstanceUID]",
    ):
        assert fragment in studies


def test_widened_lake_changes_only_table_and_current_view() -> None:
    before = build_synapse_script(known_lake(), CONFIG)
    after = build_synapse_script(
        [*known_lake()[:-3], LakeColumn("BodyPartExamined", pa.string(), 5), *known_lake()[-3:]],
        CONFIG,
    )
    changed = [
        b.name
        for b, a in zip(before, after)
        if (b.sql, b.desired_state) != (a.sql, a.desired_state)
    ]
    assert changed == ["dicom.instances", "dicom.current_instances"]


HOSTILE_COLUMNS = [
    "x]; DROP DATABASE master; --",
    "a'b",
    "']); EXEC('SELECT 1'); --",
    "*/ GO /*",
    "N'",
]


def _scripts_with(names: list[str], **config) -> str:
    lake = known_lake()
    extra = [LakeColumn(name, pa.string(), 999) for name in names]
    lake = [*lake[:-3], *extra, *lake[-3:]]
    base = {"data_source_location": "https://dicomacct.dfs.core.windows.net/dicom"}
    return render_script(build_synapse_script(lake, SynapseConfig(**base, **config)))


def test_hostile_names_cannot_change_the_script_structure() -> None:
    hostile_config = {
        "database": "db]; DROP DATABASE x; --",
        "schema": "s'; --",
        "credential_name": "c]]",
        "data_source_name": "d') --",
        "file_format_name": "f/*",
    }
    benign_config = {
        "database": "db",
        "schema": "s",
        "credential_name": "c",
        "data_source_name": "d",
        "file_format_name": "f",
    }
    hostile = _scripts_with(HOSTILE_COLUMNS, **hostile_config)
    benign = _scripts_with([f"Benign{i}" for i in range(len(HOSTILE_COLUMNS))], **benign_config)
    # Same tokens kinds and keywords in the same order: no name ended its identifier or literal.
    assert shape(hostile) == shape(benign)
    identifiers = {
        unquote_identifier(text) for kind, text in tokens(hostile) if kind == "identifier"
    }
    assert set(HOSTILE_COLUMNS) <= identifiers
    assert {"db]; DROP DATABASE x; --", "s'; --", "c]]", "d') --", "f/*"} <= identifiers
    # Dynamic SQL nests a quoted identifier inside a literal: unwrap both levels.
    schema_batch = next(b for b in hostile.split("\nGO\n") if "-- schema:" in b)
    literal = [text for kind, text in tokens(schema_batch) if kind == "string"][-1]
    assert [
        (k, t if k != "identifier" else unquote_identifier(t))
        for k, t in tokens(unquote_string(literal))
    ] == [("word", "CREATE"), ("word", "SCHEMA"), ("identifier", "s'; --")]
    # Object names inside OBJECT_ID(N'...') literals unwrap to the same names.
    object_literals = [
        unquote_string(t) for k, t in tokens(hostile) if k == "string" and t.startswith("N'[")
    ]
    assert "[s'; --].[instances]" in object_literals


def test_no_batch_separator_or_sqlcmd_variable_from_names() -> None:
    script = _scripts_with(HOSTILE_COLUMNS, database="GO")
    # sqlcmd splits on lines that are just GO; only our separators are such lines.
    assert sum(1 for line in script.splitlines() if line.strip().upper() == "GO") == 11
    assert re.findall(r"\$\([A-Za-z_]+\)", script) == ["$(SYNAPSE_MASTER_KEY_PASSWORD)"]


def test_names_with_sqlcmd_variables_are_left_out() -> None:
    script = _scripts_with(["$(SYNAPSE_MASTER_KEY_PASSWORD)"])
    assert script.count("$(SYNAPSE_MASTER_KEY_PASSWORD)") == 1
    with pytest.raises(ValueError):
        SynapseConfig(data_source_location="https://a.dfs.core.windows.net/c", database="$(X)")


def test_printed_script_is_the_statements_in_order() -> None:
    """The asset runs exactly the batches the CLI prints: each one verbatim, between GO lines."""
    statements = build_synapse_script(known_lake(), CONFIG)
    batches = render_script(statements).split("\nGO\n")
    assert batches[-1] == ""
    for statement, batch in zip(statements, batches[:-1], strict=True):
        assert batch.endswith(f"-- {statement.kind}: {statement.name}\n{statement.sql}")


@pytest.mark.parametrize("broken", ["quote_identifier", "quote_literal"])
def test_structure_check_catches_broken_quoting(broken: str, monkeypatch) -> None:
    """The injection test above can fail: with quoting that forgets to double the closing
    character, hostile names change the token structure."""
    from dicom_assets.sql.synapse import quoting, script, views

    def naive(value: str) -> str:
        return f"[{value}]" if broken == "quote_identifier" else f"N'{value}'"

    for module in (quoting, script, views):
        if hasattr(module, broken):
            monkeypatch.setattr(module, broken, naive)
    with pytest.raises(AssertionError):
        test_hostile_names_cannot_change_the_script_structure()
