"""Cursor semantics of ``dicom_change_feed_sensor`` without a server: late windows, the cursor
held at a window not open yet, and the cursor's stored form."""

from __future__ import annotations

import datetime as dt

from dicom_assets.sensors import SensorCursor, parse_cursor, plan_windows
from dicom_assets.sources.entries import FeedChange

UTC = dt.UTC
KEYS = {f"2026-11-25-{hour:02d}:00" for hour in range(8, 13)}


def _at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 25, hour, minute, tzinfo=UTC)


def test_late_change_in_a_past_window_asks_for_that_window():
    changes = [FeedChange(10, _at(12, 1)), FeedChange(11, _at(9, 59)), FeedChange(12, _at(12, 2))]
    plan = plan_windows(changes, next_cursor=12, valid_keys=KEYS)
    assert plan.last_by_window == {"2026-11-25-12:00": 12, "2026-11-25-09:00": 11}
    assert plan.cursor == 12


def test_change_in_a_window_not_open_yet_holds_the_cursor():
    changes = [FeedChange(20, _at(12, 59)), FeedChange(21, _at(13, 0)), FeedChange(22, _at(12, 59))]
    plan = plan_windows(changes, next_cursor=22, valid_keys=KEYS)
    assert plan.cursor == 20  # 21 comes again next tick, and 22 with it
    assert plan.last_by_window == {"2026-11-25-12:00": 20}


def test_changes_before_the_first_partition_are_counted():
    plan = plan_windows([FeedChange(1, _at(3))], next_cursor=1, valid_keys=KEYS)
    assert (plan.too_early, plan.last_by_window, plan.cursor) == (1, {}, 1)


def test_cursor_round_trip_and_old_format():
    state = SensorCursor(sequence=9, pending={"2026-11-25-12:00": 9})
    assert SensorCursor.load(state.dump()) == state
    # A cursor written before reconciliation became a job of its own still loads.
    assert SensorCursor.load('{"sequence": 4, "reconciled_at": 5.5}') == SensorCursor(sequence=4)
    assert SensorCursor.load('{"sequence": 4}') == SensorCursor(sequence=4)
    assert parse_cursor(None) == 0
