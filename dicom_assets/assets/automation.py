"""The automation conditions that make the SQL layer and the custom tables follow every sync.

``dicom_sql_automation_sensor`` (sql_automation.py) evaluates them every few seconds.

``any_deps_updated()`` is true only on the one tick that first sees a new materialization of a
dependency. Combined with ``~in_progress()`` as is, a sync that finished while the downstream run
was still going was seen on a tick that could not request, and never again: the views (or a
custom table's window) then missed that sync until the next one. So the update is remembered
until the asset is next *requested* (``.since(newly_requested())``): a dependency updated during
a run requests one more run after it. The reset is on the request, not on the materialization,
because a run that started before the sync cannot have seen it.
"""

from typing import Any

from dagster import AutomationCondition, asset

# ``any_deps_match(newly_updated())`` rather than ``any_deps_updated()``: the latter ORs in
# ``will_be_requested()``, and an OR drops the materialization timestamps that ``since`` needs to
# tell a sync that finished after the last request from one it already covered.
DEPS_UPDATED_SINCE_LAST_REQUEST = (
    AutomationCondition.any_deps_match(AutomationCondition.newly_updated())
    .with_label("any_deps_updated")
    .since(AutomationCondition.newly_requested())
)

# dicom_external_tables, dicom_custom_sql: re-register after any new window was written, once no
# run of the asset itself is going; unlike ``eager()`` this does not wait for every hourly
# partition of the history to exist. ``missing()``: the first registration needs no sync.
REFRESH_AFTER_SYNC = (
    DEPS_UPDATED_SINCE_LAST_REQUEST | AutomationCondition.missing()
) & ~AutomationCondition.in_progress()


def sql_layer_asset(**kwargs: Any):
    """``@asset`` for an asset of the SQL layer (DuckDB views or Synapse objects over the lake),
    re-registered by ``REFRESH_AFTER_SYNC``; ``kwargs``: its own name, deps, group..."""
    return asset(
        automation_condition=REFRESH_AFTER_SYNC,
        kinds={"duckdb", "synapse", "sql"},
        owners=["team:dicom-assets"],
        **kwargs,
    )


# dicom_custom_<name>: the same window, after every sync of it (the dependency maps partition to
# partition), but not for the whole history when a template appears (no ``missing()``: backfill
# that from the UI).
AFTER_EVERY_SYNC = (
    DEPS_UPDATED_SINCE_LAST_REQUEST
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
)
