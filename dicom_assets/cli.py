"""The ``dicom-assets`` console script.

``dicom-assets synapse-sql`` prints the T-SQL script that the ``dicom_external_tables`` asset runs
on Synapse serverless, for a given lake, so that DBAs can review it or run it themselves.
``dicom-assets check-templates <folder>`` validates a folder of custom-table templates the way
loading the definitions does, naming file, line and reason of every problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dicom_assets.config import SettingError, is_remote_url, setting_value
from dicom_assets.lake.resource import LakeResource
from dicom_assets.sql.lake_schema import read_table_schema
from dicom_assets.sql.synapse.config import (
    MAX_EXTERNAL_TABLE_COLUMNS,
    SynapseConfig,
    location_for_lake,
)
from dicom_assets.sql.synapse.script import build_synapse_script, render_script


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dicom-assets", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    synapse = commands.add_parser(
        "synapse-sql",
        help="print the Synapse serverless T-SQL script for a lake",
        description="Print the T-SQL script (GO-separated batches) that creates or updates the "
        "Synapse serverless database, external table dicom.instances and the current-state "
        "views for the lake's actual columns.",
    )
    synapse.add_argument(
        "--lake",
        help="lake root: a folder, or abfss://<container>@<account>.dfs.core.windows.net/<prefix> "
        "(default: DICOM_LAKE_URL, else data/lake under the project)",
    )
    synapse.add_argument(
        "--database", help="Synapse database (default: SYNAPSE_DATABASE, else dicomdb)"
    )
    synapse.add_argument(
        "--data-source-url",
        help="external data source location, https://<account>.dfs.core.windows.net/<container> "
        "(default: derived from an Azure --lake; required for a local lake)",
    )
    synapse.add_argument(
        "--lake-prefix",
        help="the lake's folder inside the data source location (default: derived from an Azure "
        "--lake, else the container root)",
    )
    synapse.add_argument(
        "--max-columns",
        type=int,
        default=MAX_EXTERNAL_TABLE_COLUMNS,
        help=f"external table column limit (default {MAX_EXTERNAL_TABLE_COLUMNS})",
    )
    check = commands.add_parser(
        "check-templates",
        help="validate a folder of custom-table templates (<name>.yaml)",
        description="Validate every <name>.yaml template of a folder as loading the definitions "
        "does (DICOM_CUSTOM_SCHEMAS); print file:line: reason for each problem.",
    )
    check.add_argument(
        "folder", nargs="?", help="folder of templates (default: DICOM_CUSTOM_SCHEMAS)"
    )
    migrate = commands.add_parser(
        "migrate-lake",
        help="convert a lake of the previous version (Parquet folders) into the Delta table",
        description="Commit every result/Dicom/YYYY/MM/DD/HH/ window of Parquet files of the "
        "previous version to the Delta table result/Dicom/, one commit per window with its last "
        "synced sequence. The DICOM server is not called. Safe to re-run.",
    )
    migrate.add_argument("--lake", help="lake root (default: DICOM_LAKE_URL, else data/lake)")
    migrate.add_argument(
        "--remove-old",
        action="store_true",
        help="delete the old Parquet files and _state.json once every window is migrated",
    )
    commands.add_parser(
        "partitions-start",
        help="print the DICOM_PARTITIONS_START that fits the server's feed",
        description="Ask the change feed (DICOM_SERVER_URL, DICOM_SERVER_KIND, ...) for its "
        "first entry and print the hourly window it falls in, as DICOM_PARTITIONS_START=...: "
        "set it once when deploying, so the partitions start where the data starts.",
    )
    return parser


def check_templates(arguments: argparse.Namespace) -> str:
    """A summary of the folder's valid templates; ``TemplateError`` lists the problems."""
    from dicom_assets.custom import load_templates

    folder = arguments.folder or setting_value("DICOM_CUSTOM_SCHEMAS")
    if not folder:
        raise ValueError("name a folder of templates, or set DICOM_CUSTOM_SCHEMAS")
    templates = load_templates(Path(folder).expanduser())
    lines = [
        f"{t.name}: {len(t.columns)} columns"
        + (f", where {', '.join(c.keyword for c in t.conditions)}" if t.conditions else "")
        for t in templates
    ]
    return "\n".join(lines + [f"{len(templates)} templates OK"]) + "\n"


def migrate(arguments: argparse.Namespace) -> str:
    from dicom_assets.lake.migrate import migrate_lake

    lake = LakeResource(url=_lake_url(arguments.lake))
    with lake.storage_errors():
        report = migrate_lake(lake, remove_old=arguments.remove_old, progress=print)
    return (
        f"migrated {report.windows} windows ({report.rows} rows, {report.duplicates_dropped} "
        f"duplicate rows dropped), {report.skipped} already migrated, "
        f"{report.files_removed} old files removed\n"
    )


def partitions_start() -> str:
    """``DICOM_PARTITIONS_START=<window of the feed's first change>``."""
    from dicom_assets.config import validate_settings
    from dicom_assets.partitions import first_change_window
    from dicom_assets.wiring import dicom_server_resource

    validate_settings()
    server = dicom_server_resource(setting_value)
    window = first_change_window(server.change_feed())
    if window is None:
        raise ValueError("the change feed is empty: set DICOM_PARTITIONS_START to today, 00:00")
    return f"DICOM_PARTITIONS_START={window}\n"


def _lake_url(argument: str | None) -> str:
    if argument is None:
        return setting_value("DICOM_LAKE_URL")
    # A path typed on the command line means the caller's directory, not the project's.
    return argument if is_remote_url(argument) else str(Path(argument).expanduser().resolve())


def _synapse_config(arguments: argparse.Namespace, lake_url: str) -> SynapseConfig:
    location, prefix = arguments.data_source_url, arguments.lake_prefix
    if location is None:
        if not is_remote_url(lake_url):
            raise ValueError("a local lake needs --data-source-url (the lake's Azure location)")
        location, derived_prefix = location_for_lake(
            lake_url, setting_value("AZURE_STORAGE_ACCOUNT_NAME") or None
        )
        prefix = derived_prefix if prefix is None else prefix
    return SynapseConfig(
        data_source_location=location,
        lake_prefix=prefix or "",
        database=arguments.database or setting_value("SYNAPSE_DATABASE"),
        max_columns=arguments.max_columns,
    )


def synapse_sql(arguments: argparse.Namespace) -> str:
    """The rendered script for the lake and options in ``arguments``."""
    lake = LakeResource(url=_lake_url(arguments.lake))
    config = _synapse_config(arguments, lake.url)
    with lake.storage_errors():
        columns, total_rows = read_table_schema(lake)
    if total_rows == 0 and not columns:
        raise ValueError(f"no Delta table at {lake.url_of(lake.dicom_root())}: sync first")
    statements = build_synapse_script(columns, config)
    return render_script(statements + _custom_statements(lake, config))


def _custom_statements(lake: LakeResource, config) -> list:
    """The custom tables' objects (DICOM_CUSTOM_SCHEMAS) whose Delta tables exist already."""
    from dicom_assets.assets.custom_tables import load_custom_templates
    from dicom_assets.custom.lake_io import custom_table
    from dicom_assets.sql.synapse.custom import custom_statements

    templates = load_custom_templates(setting_value("DICOM_CUSTOM_SCHEMAS"))
    with lake.storage_errors():
        written = [t for t in templates if custom_table(lake, t.name).open_if_exists()]
    return custom_statements(config, written)


def main(argv: Sequence[str] | None = None) -> int:
    from dicom_assets.custom import TemplateError

    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "synapse-sql":
            sys.stdout.write(synapse_sql(arguments))
        elif arguments.command == "check-templates":
            sys.stdout.write(check_templates(arguments))
        elif arguments.command == "migrate-lake":
            sys.stdout.write(migrate(arguments))
        elif arguments.command == "partitions-start":
            sys.stdout.write(partitions_start())
    except TemplateError as error:
        print(error, file=sys.stderr)
        return 1
    except (ValueError, SettingError) as error:
        print(f"dicom-assets {arguments.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
