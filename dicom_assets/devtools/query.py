"""``make query``: a few answers from the DuckDB file the views are registered in."""

from __future__ import annotations

import sys

import duckdb

from dicom_assets.config import resolve_local_path, setting_value

QUESTIONS = {
    "Instances per modality": """
        SELECT coalesce(Modality, '(none)') AS modality, count(*) AS instances
        FROM dicom.current_instances GROUP BY ALL ORDER BY instances DESC""",
    "Studies": """
        SELECT StudyInstanceUID, series, instances, modalities, last_change
        FROM dicom.studies ORDER BY instances DESC LIMIT 10""",
    "Changes by action and hour (UTC)": """
        SELECT date_trunc('hour', _timestamp) AS hour, _action, count(*) AS changes
        FROM dicom.instances GROUP BY ALL ORDER BY hour, _action""",
}


def main() -> int:
    path = resolve_local_path(setting_value("DICOM_DUCKDB_PATH"))
    if not path.exists():
        print(
            f"{path} does not exist yet: run `make demo` and wait for the first sync.",
            file=sys.stderr,
        )
        return 1
    with duckdb.connect(str(path), read_only=True) as connection:
        for title, sql in QUESTIONS.items():
            print(f"\n== {title}")
            print(connection.sql(sql))
    return 0


if __name__ == "__main__":
    sys.exit(main())
