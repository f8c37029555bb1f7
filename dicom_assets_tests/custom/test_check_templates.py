"""``dicom-assets check-templates`` and the definitions load: the same file:line: reason lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dicom_assets.cli import main
from dicom_assets.config import PROJECT_ROOT

BAD = "description: x\ncolumns:\n  kvp: KVp\n  kvp: KVP\n"


def test_valid_folder_is_summarised(capsys):
    assert main(["check-templates", str(PROJECT_ROOT / "examples" / "custom_schemas")]) == 0
    out = capsys.readouterr().out
    assert "ct_acquisition: 29 columns, where Modality" in out
    assert "study_overview:" in out and out.rstrip().endswith("templates OK")


def test_bad_folder_names_file_line_and_reason(tmp_path: Path, capsys):
    (tmp_path / "ct.yaml").write_text(BAD)
    assert main(["check-templates", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        (
            f"{tmp_path}/ct.yaml:3: column 'kvp': bad path 'KVp': unknown keyword 'KVp' "
            "(did you mean 'KVP'?)"
        ),
        f"{tmp_path}/ct.yaml:4: columns: 'kvp' appears twice",
    ]


def test_default_folder_is_the_setting(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("DICOM_CUSTOM_SCHEMAS", raising=False)
    assert main(["check-templates"]) == 2
    assert "set DICOM_CUSTOM_SCHEMAS" in capsys.readouterr().err
    monkeypatch.setenv("DICOM_CUSTOM_SCHEMAS", str(tmp_path / "missing"))
    assert main(["check-templates"]) == 1
    assert "no such folder of templates" in capsys.readouterr().err


def _load_definitions(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DICOM_CUSTOM_SCHEMAS": str(folder)}
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import dicom_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )


def test_definitions_fail_with_the_same_lines(tmp_path: Path, capsys):
    (tmp_path / "ct.yaml").write_text(BAD)
    main(["check-templates", str(tmp_path)])
    lines = capsys.readouterr().err.splitlines()
    loaded = _load_definitions(tmp_path)
    assert loaded.returncode != 0
    assert f"DICOM_CUSTOM_SCHEMAS={tmp_path}: invalid templates" in loaded.stderr
    assert all(line in loaded.stderr for line in lines)


def test_definitions_hold_one_asset_per_template(monkeypatch):
    monkeypatch.setenv("DICOM_CUSTOM_SCHEMAS", str(PROJECT_ROOT / "examples" / "custom_schemas"))
    code = (
        "from dicom_assets.definitions import defs\n"
        "graph = defs.resolve_asset_graph()\n"
        "for key in sorted(k.to_user_string() for k in graph.get_all_asset_keys()):\n"
        "    node = graph.get(defs.resolve_all_asset_keys()[0].__class__.from_user_string(key))\n"
        "    print(key, node.group_name, node.partitions_def is not None,\n"
        "          node.automation_condition is not None,\n"
        "          sorted(p.to_user_string() for p in node.parent_keys))\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    ).stdout
    assert "dicom_custom_ct_acquisition dicom_custom True True ['dicom_instances']" in out
    assert "dicom_custom_study_overview dicom_custom True True ['dicom_instances']" in out


def test_synapse_sql_adds_the_custom_objects_of_written_tables(tmp_path: Path, capsys, monkeypatch):
    from dicom_assets.custom import parse_template
    from dicom_assets.custom.lake_io import rebuild_windows
    from dicom_assets.lake.change_log import write_window
    from dicom_assets.partitions import window_of
    from dicom_assets.resources import LakeResource
    from dicom_assets_tests.sql.lake_files import START, part_table

    lake = LakeResource(url=str(tmp_path / "lake"))
    key = START.strftime("%Y-%m-%d-%H:00")
    rows = [
        {"action": "create", "study": "1.2", "series": "1.2.3", "sop": "1.2.3.4", "modality": "CT"}
    ]
    write_window(lake.table(), key, part_table(1, rows), "append")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "written.yaml").write_text("columns:\n  modality: Modality\n")
    (folder / "not_yet.yaml").write_text("columns:\n  modality: Modality\n")
    written = parse_template("columns:\n  modality: Modality\n", "written.yaml", "written")
    rebuild_windows(lake, written, *window_of(key))
    arguments = [
        "synapse-sql",
        "--lake",
        lake.url,
        "--data-source-url",
        "https://dicomacct.dfs.core.windows.net/dicom",
    ]

    monkeypatch.delenv("DICOM_CUSTOM_SCHEMAS", raising=False)
    assert main(arguments) == 0
    assert "dicom_custom" not in capsys.readouterr().out

    monkeypatch.setenv("DICOM_CUSTOM_SCHEMAS", str(folder))
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "CREATE EXTERNAL TABLE [dicom_custom].[written]" in out
    assert "LOCATION = N'result/Dicom_Customized/written/'" in out
    assert "CREATE OR ALTER VIEW [dicom_custom].[current_written]" in out
    assert "not_yet" not in out  # no Delta table yet: Synapse could not create it
