import pyarrow as pa

from dicom_assets.lake.window_sync import grouped_by_rows
from dicom_assets.schema import ConvertedBatch


def _batch(rows: int) -> ConvertedBatch:
    return ConvertedBatch(table=pa.table({"_sequence": pa.array(range(rows), pa.int64())}))


def test_batches_are_grouped_until_a_group_holds_enough_rows():
    sizes = [3, 4, 0, 9, 2, 1]
    groups = list(grouped_by_rows(iter(_batch(n) for n in sizes), 7))
    assert [[b.table.num_rows for b in group] for group in groups] == [[3, 4], [0, 9], [2, 1]]


def test_no_batch_no_group():
    assert list(grouped_by_rows(iter([]), 10)) == []
