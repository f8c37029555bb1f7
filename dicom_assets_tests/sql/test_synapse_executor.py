"""The executor's ordering, skipping, reporting and secret handling, on a real local database.

Synapse is not reachable here, so the executor runs against DuckDB through its DB-API
connection, with statements written in DuckDB's dialect that mirror the Synapse script's kinds
(a probe per object, a context statement without probe, a secret placeholder, a table that is
re-created when its columns change, views with fingerprints). What this does not cover is
listed in docs/synapse.md ("What is tested where").
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import duckdb
import pytest

from dicom_assets.sql.synapse_config import SynapseConfig
from dicom_assets.sql.synapse_executor import (
    SQL_TOKEN_SCOPE,
    SynapseScriptError,
    _bind_secret,
    apply_synapse_script,
    synapse_connection,
    synapse_connection_string,
)
from dicom_assets.sql.synapse_script import SynapseStatement, build_synapse_script
from dicom_assets_tests.sql.test_synapse_script import known_lake

SECRET = "pa$$-w0rd'; DROP TABLE x; --"


class RecordingConnection:
    """A real DuckDB connection that remembers the SQL text it was asked to run."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.executed: list[str] = []

    def cursor(self) -> RecordingConnection:
        return self

    def execute(self, sql: str, parameters=()):
        self.executed.append(sql)
        return self.connection.execute(sql, list(parameters))

    def fetchone(self):
        return self.connection.fetchone()

    def commit(self) -> None:
        pass  # DuckDB runs each statement in its own transaction unless told otherwise

    def close(self) -> None:
        pass


def _exists(catalog_query: str) -> str:
    return f"SELECT CASE WHEN EXISTS ({catalog_query}) THEN 'present' END"


def _view(name: str, select: str, mark: str) -> SynapseStatement:
    return SynapseStatement(
        kind="view",
        name=f"dicom.{name}",
        sql=(
            f"CREATE OR REPLACE VIEW dicom.{name} AS "
            f"SELECT *, '{mark}' AS _fingerprint FROM ({select})"
        ),
        probe=f"SELECT CASE WHEN contains(sql, '{mark}') THEN '{mark}' ELSE 'outdated' END "
        f"FROM duckdb_views() WHERE schema_name = 'dicom' AND view_name = '{name}'",
        desired_state=mark,
    )


def duckdb_script(columns: list[tuple[str, str]]) -> list[SynapseStatement]:
    """The Synapse script's shape in DuckDB's dialect, for a table with these columns."""
    signature = ", ".join(f"{name} {kind.lower()}" for name, kind in columns)
    definition = ", ".join(f"{name} {kind}" for name, kind in columns)
    names = ", ".join(name for name, _ in columns)
    return [
        SynapseStatement(
            kind="schema",
            name="dicom",
            sql="CREATE SCHEMA IF NOT EXISTS dicom",
            probe=_exists("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'dicom'"),
            desired_state="present",
        ),
        SynapseStatement(kind="context", name="session", sql="SET TimeZone = 'UTC'"),
        SynapseStatement(
            kind="master_key",
            name="key holder",
            # Fails, like the T-SQL batch, when the secret is needed but not set.
            sql="CREATE TABLE IF NOT EXISTS dicom.key_holder AS "
            "WITH given AS (SELECT N'$(TEST_SECRET)'::VARCHAR AS secret) "
            "SELECT CASE WHEN secret IS NULL THEN error('TEST_SECRET is not set') "
            "ELSE secret END AS secret FROM given",
            probe=_exists(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = 'dicom' AND table_name = 'key_holder'"
            ),
            desired_state="present",
            secret_env="TEST_SECRET",
        ),
        SynapseStatement(
            kind="external_table",
            name="dicom.instances",
            sql=f"CREATE OR REPLACE TABLE dicom.instances ({definition})",
            probe="SELECT string_agg(column_name || ' ' || lower(data_type), ', ' "
            "ORDER BY ordinal_position) FROM information_schema.columns "
            "WHERE table_schema = 'dicom' AND table_name = 'instances'",
            desired_state=signature,
            column_count=len(columns),
        ),
        _view("current_instances", f"SELECT {names} FROM dicom.instances", f"fp-{len(columns)}"),
        _view("series", "SELECT count(*) AS instances FROM dicom.current_instances", "fp-series"),
    ]


COLUMNS = [("_sequence", "BIGINT"), ("SOPInstanceUID", "VARCHAR")]
WIDER = [*COLUMNS, ("Modality", "VARCHAR")]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "executor.duckdb"


def _run(path: Path, statements, environ) -> tuple[list[str], list[str]]:
    with duckdb.connect(str(path)) as raw:
        connection = RecordingConnection(raw)
        changes = apply_synapse_script(connection, statements, environ)
        return changes, connection.executed


def test_first_run_creates_in_order_and_binds_the_secret(database: Path) -> None:
    changes, executed = _run(database, duckdb_script(COLUMNS), {"TEST_SECRET": SECRET})
    assert changes == [
        "created schema dicom",
        "created master_key key holder",
        "created external_table dicom.instances",
        "created view dicom.current_instances",
        "created view dicom.series",
    ]
    assert not any(SECRET in sql for sql in executed)
    with duckdb.connect(str(database)) as check:
        assert check.execute("SELECT secret FROM dicom.key_holder").fetchall() == [(SECRET,)]
        assert [r[0] for r in check.execute("DESCRIBE dicom.current_instances").fetchall()] == [
            "_sequence",
            "SOPInstanceUID",
            "_fingerprint",
        ]


def test_second_run_changes_nothing_and_runs_only_probes(database: Path) -> None:
    _run(database, duckdb_script(COLUMNS), {"TEST_SECRET": SECRET})
    changes, executed = _run(database, duckdb_script(COLUMNS), {})  # no secret needed now
    assert changes == []
    statements = duckdb_script(COLUMNS)
    assert executed == [
        statements[0].probe,
        statements[1].sql,
        statements[2].probe,
        statements[3].probe,
        statements[4].probe,
        statements[5].probe,
    ]


def test_widened_schema_recreates_table_and_its_view_only(database: Path) -> None:
    _run(database, duckdb_script(COLUMNS), {"TEST_SECRET": SECRET})
    with duckdb.connect(str(database)) as raw:
        raw.execute("INSERT INTO dicom.instances VALUES (1, '1.2.3')")
    changes, _ = _run(database, duckdb_script(WIDER), {"TEST_SECRET": "another"})
    assert changes == [
        "altered external_table dicom.instances",
        "altered view dicom.current_instances",
    ]
    with duckdb.connect(str(database)) as check:
        assert [r[0] for r in check.execute("DESCRIBE dicom.current_instances").fetchall()] == [
            "_sequence",
            "SOPInstanceUID",
            "Modality",
            "_fingerprint",
        ]
        # The key holder was not touched: it still holds the first secret.
        assert check.execute("SELECT secret FROM dicom.key_holder").fetchall() == [(SECRET,)]


def test_missing_secret_fails_only_when_needed(database: Path) -> None:
    with pytest.raises(SynapseScriptError, match="master_key key holder failed"):
        _run(database, duckdb_script(COLUMNS), {})
    with duckdb.connect(str(database)) as check:
        tables = check.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dicom'"
        ).fetchall()
    assert tables == []  # stopped at the failing batch: nothing after it ran


def test_failure_stops_the_run_and_never_shows_the_secret(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    statements = duckdb_script(COLUMNS)
    # DuckDB echoes a value it cannot convert: the secret must be scrubbed from the error.
    statements[2] = SynapseStatement(
        kind="master_key",
        name="key holder",
        sql="SELECT CAST(N'$(TEST_SECRET)' AS INTEGER)",
        probe="SELECT NULL",
        desired_state="present",
        secret_env="TEST_SECRET",
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SynapseScriptError) as raised:
        _run(database, statements, {"TEST_SECRET": "hunter2-secret"})
    message = str(raised.value)
    assert "master_key key holder failed" in message and "Conversion Error" in message
    assert "hunter2-secret" not in message and "***" in message
    assert raised.value.__cause__ is None  # the driver error (which has it) is not chained
    assert "hunter2-secret" not in caplog.text
    with duckdb.connect(str(database)) as check:
        assert check.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dicom'"
        ).fetchone() == (0,)


def test_bind_secret_in_the_real_master_key_batch() -> None:
    config = SynapseConfig(data_source_location="https://a.dfs.core.windows.net/c")
    master_key = build_synapse_script(known_lake(), config)[2]
    sql, parameters = _bind_secret(master_key, {"SYNAPSE_MASTER_KEY_PASSWORD": SECRET})
    assert parameters == (SECRET,)
    assert "DECLARE @master_key_password NVARCHAR(4000) = ?;" in sql
    assert sql.count("?") == 1 and "$(" not in sql and SECRET not in sql
    assert _bind_secret(master_key, {})[1] == (None,)
    assert _bind_secret(master_key, {"SYNAPSE_MASTER_KEY_PASSWORD": ""})[1] == (None,)


def test_bind_secret_needs_exactly_one_placeholder() -> None:
    twice = SynapseStatement(kind="k", name="n", sql="SELECT '$(S)', '$(S)'", secret_env="S")
    with pytest.raises(ValueError):
        _bind_secret(twice, {"S": "x"})
    with pytest.raises(ValueError):
        _bind_secret(SynapseStatement(kind="k", name="n", sql="SELECT 1", secret_env="S"), {})


# --- connection ---------------------------------------------------------------------------------


def test_connection_string() -> None:
    assert synapse_connection_string("ws-ondemand.sql.azuresynapse.net", "dicomdb") == (
        "Server=tcp:ws-ondemand.sql.azuresynapse.net,1433;Database={dicomdb};"
        "Encrypt=yes;TrustServerCertificate=no;"
    )
    # Braces keep a hostile database name inside its value.
    assert "Database={db}};Server=evil};" in synapse_connection_string("h", "db};Server=evil")
    for endpoint in ("h;Server=evil", "h,1434", "", "tcp:h"):
        with pytest.raises(ValueError):
            synapse_connection_string(endpoint, "dicomdb")


class RecordingCredential:
    """An azure-identity style credential handing out a recognisable fake token."""

    TOKEN = "eyFAKE-TOKEN-must-never-be-logged"

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: object):
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.TOKEN, int(time.time()) + 3600)


def test_connection_asks_for_a_sql_token_and_never_shows_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once the socket is closed
    credential = RecordingCredential()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as raised:
        synapse_connection("localhost", "master", credential, port=port, login_timeout_seconds=1)
    if "Failed to load the driver" in str(raised.value):
        pytest.skip("mssql-python's ODBC driver needs libltdl7 (apt-get install libltdl7)")
    assert credential.scopes == [(SQL_TOKEN_SCOPE,)]
    assert "TCP Provider" in str(raised.value)  # it really tried to reach 127.0.0.1:port
    assert RecordingCredential.TOKEN not in repr(raised.value)
    assert RecordingCredential.TOKEN not in caplog.text
