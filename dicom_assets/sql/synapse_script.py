"""The T-SQL script that sets Synapse serverless up over the lake, as ordered statements.

Each statement is one batch that is safe to run again: it creates its object only when it is
missing (the external table: also when its columns differ from the lake's, by dropping and
re-creating it; views: ``CREATE OR ALTER``). Each also carries a *probe*, a query returning one
value that tells the executor whether the batch would change anything, so the asset can skip
no-op batches and report what it created or altered. ``render_script`` prints the same batches
separated by ``GO`` for DBAs; the only difference when the asset runs them is that the sqlcmd
variable holding the master key password is bound as a query parameter (see
``synapse_executor``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dicom_assets.sql.lake_schema import LakeColumn
from dicom_assets.sql.synapse_config import SynapseConfig
from dicom_assets.sql.synapse_quoting import quote_identifier, quote_literal, quote_qualified
from dicom_assets.sql.synapse_types import ColumnSelection, TableColumn, select_columns
from dicom_assets.sql.synapse_views import FINGERPRINT_MARKER, view_definitions

PRESENT = "present"
_MASTER_KEY_NAME = "##MS_DatabaseMasterKey##"
_BINARY_COLLATION = "Latin1_General_100_BIN2"


@dataclass(frozen=True)
class SynapseStatement:
    """One batch of the script.

    ``probe`` (if any) is a query returning one value; when it equals ``desired_state`` the
    batch would change nothing. A NULL/missing value means the object does not exist yet.
    ``secret_env`` names the environment variable referenced as ``N'$(NAME)'`` in ``sql``.
    """

    kind: str
    name: str
    sql: str
    probe: str | None = None
    desired_state: str | None = None
    secret_env: str | None = None
    column_count: int | None = None


def secret_placeholder(env_name: str) -> str:
    """The sqlcmd variable literal a secret appears as in the printed script."""
    return f"N'$({env_name})'"


def _exists_probe(condition: str) -> str:
    return f"SELECT CASE WHEN {condition} THEN N'{PRESENT}' END;"


def _catalog_has(catalog: str, name: str) -> str:
    return f"EXISTS (SELECT 1 FROM {catalog} WHERE [name] = {quote_literal(name)})"


def table_signature(columns: list[TableColumn]) -> str:
    """``name type, ...`` in column order, as the signature query below renders sys.columns."""
    return ", ".join(f"{column.name} {column.type_name}" for column in columns)


def signature_query(table: str) -> str:
    """The existing table's columns as ``name type, ...`` (NULL when there is no table)."""
    return (
        "SELECT STRING_AGG(CONVERT(NVARCHAR(MAX), [name]) + N' ' + TYPE_NAME([user_type_id]), "
        "N', ') WITHIN GROUP (ORDER BY [column_id])\n"
        f"FROM sys.columns WHERE [object_id] = OBJECT_ID({quote_literal(table)})"
    )


def _database(config: SynapseConfig) -> SynapseStatement:
    exists = f"DB_ID({quote_literal(config.database)}) IS NOT NULL"
    return SynapseStatement(
        kind="database",
        name=config.database,
        sql=f"IF DB_ID({quote_literal(config.database)}) IS NULL\n"
        f"    CREATE DATABASE {quote_identifier(config.database)};",
        probe=_exists_probe(exists),
        desired_state=PRESENT,
    )


def _master_key(config: SynapseConfig) -> SynapseStatement:
    env = config.master_key_password_env
    message = quote_literal(
        f"The database has no master key: set the environment variable {env} to create one."
    )
    exists = _catalog_has("sys.symmetric_keys", _MASTER_KEY_NAME)
    sql = f"""IF NOT {exists}
BEGIN
    DECLARE @master_key_password NVARCHAR(4000) = {secret_placeholder(env)};
    IF @master_key_password IS NULL OR @master_key_password = N''
        THROW 50001, {message}, 1;
    -- CREATE MASTER KEY takes no variables: quote the password into dynamic SQL.
    DECLARE @create_master_key NVARCHAR(MAX) = N'CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'''
        + REPLACE(@master_key_password, N'''', N'''''') + N'''';
    EXEC (@create_master_key);
END;"""
    return SynapseStatement(
        kind="master_key",
        name="database master key",
        sql=sql,
        probe=_exists_probe(exists),
        desired_state=PRESENT,
        secret_env=env,
    )


def _created_unless_listed(kind: str, catalog: str, name: str, create: str) -> SynapseStatement:
    """``create`` (one statement, its lines indented) run only if ``catalog`` lacks ``name``."""
    exists = _catalog_has(catalog, name)
    return SynapseStatement(
        kind=kind,
        name=name,
        sql=f"IF NOT {exists}\n    {create}",
        probe=_exists_probe(exists),
        desired_state=PRESENT,
    )


def _credential(config: SynapseConfig) -> SynapseStatement:
    return _created_unless_listed(
        "credential",
        "sys.database_scoped_credentials",
        config.credential_name,
        f"CREATE DATABASE SCOPED CREDENTIAL {quote_identifier(config.credential_name)}\n"
        "    WITH IDENTITY = 'Managed Identity';",
    )


def _data_source(config: SynapseConfig) -> SynapseStatement:
    name = quote_literal(config.data_source_name)
    location = quote_literal(config.data_source_location)
    message = quote_literal(
        f"External data source {config.data_source_name} points to another location; "
        "drop it and the tables that use it to move the lake."
    )
    sql = f"""IF NOT EXISTS (SELECT 1 FROM sys.external_data_sources WHERE [name] = {name})
    CREATE EXTERNAL DATA SOURCE {quote_identifier(config.data_source_name)}
    WITH (
        LOCATION = {location},
        CREDENTIAL = {quote_identifier(config.credential_name)}
    );
ELSE IF NOT EXISTS (SELECT 1 FROM sys.external_data_sources WHERE [name] = {name} AND [location] = {location})
    THROW 50002, {message}, 1;"""  # noqa: E501 (SQL kept on one line)
    return SynapseStatement(
        kind="data_source",
        name=config.data_source_name,
        sql=sql,
        probe=f"SELECT [location] FROM sys.external_data_sources WHERE [name] = {name};",
        desired_state=config.data_source_location,
    )


def _file_format(config: SynapseConfig) -> SynapseStatement:
    return _created_unless_listed(
        "file_format",
        "sys.external_file_formats",
        config.file_format_name,
        f"CREATE EXTERNAL FILE FORMAT {quote_identifier(config.file_format_name)}\n"
        "    WITH (FORMAT_TYPE = DELTA);",
    )


def schema_statement(schema: str) -> SynapseStatement:
    exists = f"SCHEMA_ID({quote_literal(schema)}) IS NOT NULL"
    # CREATE SCHEMA must open its batch, hence EXEC: the name is quoted, then the whole text.
    create = quote_literal(f"CREATE SCHEMA {quote_identifier(schema)}")
    return SynapseStatement(
        kind="schema",
        name=schema,
        sql=f"IF SCHEMA_ID({quote_literal(schema)}) IS NULL\n    EXEC ({create});",
        probe=_exists_probe(exists),
        desired_state=PRESENT,
    )


def _schema(config: SynapseConfig) -> SynapseStatement:
    return schema_statement(config.schema)


def _external_table(config: SynapseConfig, columns: list[TableColumn]) -> SynapseStatement:
    return external_table_statement(
        config, config.schema, "instances", config.instances_location, columns
    )


def external_table_statement(
    config: SynapseConfig, schema: str, name: str, location: str, columns: list[TableColumn]
) -> SynapseStatement:
    """An external table over the Delta table at ``location`` (relative to the data source),
    re-created when its columns differ from ``columns``."""
    table = quote_qualified(schema, name)
    signature = table_signature(columns)
    definitions = ",\n        ".join(
        f"{quote_identifier(column.name)} {column.sql_type}" for column in columns
    )
    sql = f"""-- Re-created when the lake's columns differ from the table's (a partition added columns).
DECLARE @existing_columns NVARCHAR(MAX) = (
{signature_query(table)}
);
IF @existing_columns IS NOT NULL
   AND @existing_columns COLLATE {_BINARY_COLLATION}
       <> {quote_literal(signature)} COLLATE {_BINARY_COLLATION}
    DROP EXTERNAL TABLE {table};
IF OBJECT_ID({quote_literal(table)}) IS NULL
    CREATE EXTERNAL TABLE {table} (
        {definitions}
    )
    WITH (
        LOCATION = {quote_literal(location)},
        DATA_SOURCE = {quote_identifier(config.data_source_name)},
        FILE_FORMAT = {quote_identifier(config.file_format_name)}
    );"""  # noqa: E501 (SQL kept on one line)
    return SynapseStatement(
        kind="external_table",
        name=f"{schema}.{name}",
        sql=sql,
        probe=signature_query(table) + ";",
        desired_state=signature,
        column_count=len(columns),
    )


def _view(config: SynapseConfig, name: str, sql: str, mark: str) -> SynapseStatement:
    return view_statement(config.schema, name, sql, mark)


def view_statement(schema: str, name: str, sql: str, mark: str) -> SynapseStatement:
    """``CREATE OR ALTER VIEW`` ``sql``, skipped when the view carries fingerprint ``mark``."""
    view = quote_literal(quote_qualified(schema, name))
    probe = (
        f"SELECT CASE WHEN OBJECT_ID({view}) IS NULL THEN NULL\n"
        f"            WHEN CHARINDEX({quote_literal(FINGERPRINT_MARKER + mark)}, "
        f"OBJECT_DEFINITION(OBJECT_ID({view}))) > 0 THEN {quote_literal(mark)}\n"
        "            ELSE N'outdated' END;"
    )
    return SynapseStatement(
        kind="view", name=f"{schema}.{name}", sql=sql, probe=probe, desired_state=mark
    )


def build_synapse_script(
    columns: list[LakeColumn], config: SynapseConfig
) -> list[SynapseStatement]:
    """The ordered statements for a lake with these columns (see ``read_lake_schema``)."""
    selection = select_synapse_columns(columns, config)
    statements = [
        *prelude_statements(config),
        _schema(config),
        _external_table(config, selection.columns),
    ]
    for name, sql, mark in view_definitions(config.schema, selection.columns):
        statements.append(_view(config, name, sql, mark))
    return statements


def prelude_statements(config: SynapseConfig) -> list[SynapseStatement]:
    """Database, its context, master key, credential, data source and file format: what every
    external table of the lake needs first."""
    return [
        _database(config),
        SynapseStatement(
            kind="context", name=config.database, sql=f"USE {quote_identifier(config.database)};"
        ),
        _master_key(config),
        _credential(config),
        _data_source(config),
        _file_format(config),
    ]


def select_synapse_columns(columns: list[LakeColumn], config: SynapseConfig) -> ColumnSelection:
    """The external table's columns and the lake columns left out (``synapse_types`` rule)."""
    return select_columns(columns, config.max_columns)


def render_script(statements: list[SynapseStatement]) -> str:
    """The script as a DBA runs it: batches separated by ``GO``, each under a comment."""
    secrets = sorted({s.secret_env for s in statements if s.secret_env})
    lines = [
        (
            "-- Synapse serverless SQL objects over the DICOM lake, generated by "
            "`dicom-assets synapse-sql`."
        ),
        "-- Safe to run again: every batch creates or alters only what is missing or changed.",
        "-- Run it connected to master with sqlcmd (or SSMS in SQLCMD mode), e.g.",
        "--   sqlcmd -S <workspace>-ondemand.sql.azuresynapse.net -d master -G -i dicom.sql",
    ]
    if secrets:
        lines.append(
            "-- sqlcmd takes these variables from the environment (used only to create a "
            "missing master key): " + ", ".join(secrets)
        )
    for statement in statements:
        lines += ["", f"-- {statement.kind}: {statement.name}", statement.sql, "GO"]
    return "\n".join(lines) + "\n"
