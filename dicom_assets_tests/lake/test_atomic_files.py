"""The writer on a local disk and on Azurite: complete files or nothing, streamed uploads."""

from __future__ import annotations

import os
import tracemalloc

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from azure.storage.blob import BlobServiceClient

from dicom_assets.lake.atomic_files import (
    stream_parquet_atomically,
    write_parquet_atomically,
    write_text_atomically,
)
from dicom_assets.lake.blob_filesystem import LakeBlobFileSystem

SCHEMA = pa.schema([("n", pa.int64()), ("payload", pa.binary())])
MIB = 2**20


def chunk(index: int, size: int = MIB // 2, rows: int = 64) -> pa.Table:
    """Incompressible rows, so that the file is as large as the data."""
    return pa.table(
        {
            "n": [index * rows + r for r in range(rows)],
            "payload": [os.urandom(size // rows) for _ in range(rows)],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def blob_fs(azurite):
    container = azurite.new_container("writer")
    fs = LakeBlobFileSystem(connection_string=azurite.connection_string(), blocksize=MIB, retries=0)
    client = BlobServiceClient.from_connection_string(azurite.connection_string())
    yield fs, container, client.get_container_client(container)
    client.close()


def _blob_names(container_client, uncommitted: bool = False) -> set[str]:
    include = ["uncommittedblobs"] if uncommitted else None
    return {blob.name for blob in container_client.list_blobs(include=include)}


def test_streamed_parquet_is_invisible_until_complete_while_blocks_are_uploaded(blob_fs):
    fs, container, container_client = blob_fs
    path = f"{container}/result/Dicom/2026/11/25/17/part-000000000001-0000.parquet"
    seen_while_writing = []

    def tables():
        for index in range(8):
            yield chunk(index)
            if index == 5:  # 3 MiB written with 1 MiB blocks: some blocks must be on the server
                blob = container_client.get_blob_client(path.split("/", 1)[1])
                committed, uncommitted = blob.get_block_list("all")
                seen_while_writing.append(
                    (_blob_names(container_client), len(committed), len(uncommitted))
                )

    size = stream_parquet_atomically(fs, path, SCHEMA, tables())
    ((visible, committed, uncommitted),) = seen_while_writing
    assert visible == set(), "a reader saw the file before it was complete"
    assert committed == 0 and uncommitted >= 2, "row groups were not uploaded as they came"
    assert size > 4 * MIB
    table = pq.read_table(path, filesystem=fs)
    assert table.num_rows == 8 * 64
    assert table["n"].to_pylist() == list(range(8 * 64))


@pytest.mark.parametrize("where", ["local", "azurite"])
def test_a_failed_write_publishes_nothing(where, tmp_path, request):
    if where == "local":
        fs, folder, listing = fsspec.filesystem("file"), str(tmp_path / "w"), None
        fs.makedirs(folder)
    else:
        fs, container, container_client = request.getfixturevalue("blob_fs")
        folder, listing = f"{container}/w", container_client

    def failing_tables():
        for index in range(4):
            yield chunk(index)
        raise ConnectionError("the DICOM server went away mid-window")

    with pytest.raises(ConnectionError):
        stream_parquet_atomically(fs, f"{folder}/part-1.parquet", SCHEMA, failing_tables())
    assert not fs.exists(f"{folder}/part-1.parquet")
    if listing is None:
        assert os.listdir(folder) == []  # no temporary file left either
    else:
        assert _blob_names(listing) == set()
    # The next attempt writes the same name normally.
    write_parquet_atomically(fs, f"{folder}/part-1.parquet", chunk(0))
    assert pq.read_table(f"{folder}/part-1.parquet", filesystem=fs).num_rows == 64


def test_memory_does_not_grow_with_the_file(blob_fs):
    fs, container, _ = blob_fs
    total_chunks = 48  # 24 MiB of incompressible rows

    tracemalloc.start()
    try:
        size = stream_parquet_atomically(
            fs, f"{container}/big.parquet", SCHEMA, (chunk(index) for index in range(total_chunks))
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 20 * MIB
    # One 1 MiB block in the buffer (plus its copy while it is sent) and one chunk being built;
    # a writer that kept the file would peak above 20 MiB.
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_text_files_are_complete_on_both(tmp_path, blob_fs):
    fs, container, _ = blob_fs
    for target_fs, path in [
        (fsspec.filesystem("file"), str(tmp_path / "a" / "_state.json")),
        (fs, f"{container}/a/_state.json"),
    ]:
        write_text_atomically(target_fs, path, '{"last_sequence": 7}')
        assert target_fs.cat_file(path) == b'{"last_sequence": 7}'
    assert os.listdir(tmp_path / "a") == ["_state.json"]
