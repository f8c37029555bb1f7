"""``dicom-assets synapse-sql`` on real lakes: a local folder and an abfs lake on Azurite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from dicom_assets.cli import main
from dicom_assets.lake.change_log import write_window
from dicom_assets.resources import LakeResource
from dicom_assets.sql.lake_schema import read_table_schema
from dicom_assets.sql.synapse.config import SynapseConfig
from dicom_assets.sql.synapse.script import build_synapse_script, render_script
from dicom_assets_tests.sql.lake_files import START, part_table
from dicom_assets_tests.sql.tsql_lexer import assert_matches_golden

LOCATION = "https://dicomacct.dfs.core.windows.net/dicom"
ROWS = [
    {"action": "create", "study": "1.2", "series": "1.2.3", "sop": "1.2.3.4", "modality": "CT"},
    {"action": "delete", "study": "1.2", "series": "1.2.3", "sop": "1.2.3.4"},
]


def _write_lake(lake_url: str) -> None:
    """A lake's Delta table with one window of rows, written the way the product writes it."""
    write_window(
        LakeResource(url=lake_url).table(),
        START.strftime("%Y-%m-%d-%H:00"),
        part_table(1, ROWS),
        "append",
    )


def test_prints_the_script_for_a_local_lake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    _write_lake(str(lake))
    code = main(
        [
            "synapse-sql",
            "--lake",
            str(lake),
            "--data-source-url",
            LOCATION,
            "--lake-prefix",
            "lakes/main",
            "--database",
            "imaging",
        ]
    )
    output = capsys.readouterr()
    assert code == 0, output.err
    assert_matches_golden("cli_local_lake.sql", output.out)
    # The CLI prints exactly what the asset would build for that lake.
    columns, _ = read_table_schema(LakeResource(url=str(lake)))
    config = SynapseConfig(
        data_source_location=LOCATION, lake_prefix="lakes/main", database="imaging"
    )
    assert output.out == render_script(build_synapse_script(columns, config))


def test_console_script_is_installed(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write_lake(str(lake))
    script = Path(sys.executable).parent / "dicom-assets"
    result = subprocess.run(
        [str(script), "synapse-sql", "--data-source-url", LOCATION, "--lake", "lake"],
        cwd=tmp_path,  # a relative --lake means the caller's directory
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE EXTERNAL TABLE [dicom].[instances]" in result.stdout
    assert "[Modality] VARCHAR(64)" in result.stdout


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "needs --data-source-url"),
        (["--data-source-url", "https://a.dfs.core.windows.net/c'; --"], "may only contain"),
        (["--data-source-url", LOCATION, "--database", "bad\nname"], "control characters"),
    ],
)
def test_errors_are_reported_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    lake = tmp_path / "lake"
    _write_lake(str(lake))
    assert main(["synapse-sql", "--lake", str(lake), *arguments]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_empty_lake_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synapse-sql", "--lake", str(tmp_path), "--data-source-url", LOCATION]) == 2
    assert "no Delta table" in capsys.readouterr().err


def test_abfs_lake_derives_the_data_source(
    azurite_connection_string: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fs = fsspec.filesystem("abfs", connection_string=azurite_connection_string)
    fs.mkdir("clilake")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_connection_string)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
    monkeypatch.setenv("DICOM_LAKE_URL", "abfs://clilake/prod")
    _write_lake("abfs://clilake/prod")
    monkeypatch.setenv("SYNAPSE_DATABASE", "dicom_prod")
    assert main(["synapse-sql"]) == 0
    script = capsys.readouterr().out
    assert "LOCATION = N'https://devstoreaccount1.dfs.core.windows.net/clilake'" in script
    assert "LOCATION = N'prod/result/Dicom/'" in script
    assert "FORMAT_TYPE = DELTA" in script
    assert "USE [dicom_prod];" in script
    assert "[Modality] VARCHAR(64)" in script
