"""Benchmark of the DICOM JSON -> Arrow schema converter (``make bench-schema``).

Prints, for a synthetic corpus of realistic CT/MR instances (bench/schema_corpus.py):
- conversion throughput, JSON bytes in -> table out, through the native shredder and through
  the Python path (orjson + dicts), beside a naive orjson.loads + dict walk of the same bytes;
- the same with one odd value per 100 instances (a DS as a JSON string, a decimal comma, a
  duplicate key), each batch timed right after its plain twin;
- the same with DICOM_DEIDENTIFY=basic (native de-identification pass) beside =off;
- conversion throughput of ``convert_entries`` (instances/s, CPU and wall clock) beside a naive
  per-instance dict walk into ``pyarrow.Table.from_pylist`` measured in the same run, and
  beside bare ``orjson.dumps`` of the same metadata (a machine-independent yardstick);
- Parquet bytes per instance with and without ``_metadata`` beside zstd-compressed NDJSON of
  the same metadata (the natural floor);
- peak RSS of a fresh process converting 100,000 instances of one partition, written as
  streamed Parquet files, once from JSON bytes (the native path, as the Orthanc source hands
  them) and once from parsed dicts.

Usage: uv run python bench/bench_schema.py [--instances N] [--batch B] [--rss-instances M]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schema_corpus import synthetic_instances

from dicom_assets import native as native_code
from dicom_assets.config import DEFAULTS
from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.lake.atomic_files import ROW_GROUP_ROWS, write_parquet_atomically
from dicom_assets.lake.parquet_options import METADATA_ZSTD_LEVEL
from dicom_assets.lake.window_sync import grouped_by_rows
from dicom_assets.schema import ConversionOptions, convert_entries, shredded
from dicom_assets.schema.kinds import PARSERS
from dicom_assets.schema.layout import one_table
from dicom_assets.schema.values import INVALID
from dicom_assets.schema.vr import IDENTITY_KEYS, spec_for_key

T0 = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)


def _uid(metadata: dict, key: str) -> str:
    return metadata[key]["Value"][0]


def entries_for(metadatas: list[dict], first: int = 0) -> list[ChangeFeedEntry]:
    out = []
    for i, md in enumerate(metadatas, start=first):
        out.append(
            ChangeFeedEntry(
                sequence=i + 1,
                timestamp=T0 + dt.timedelta(milliseconds=i),
                action=ChangeAction.CREATE,
                study_instance_uid=_uid(md, "0020000D"),
                series_instance_uid=_uid(md, "0020000E"),
                sop_instance_uid=_uid(md, "00080018"),
                metadata=md,
            )
        )
    return out


def _naive_value(spec, value: list) -> Any:
    if spec.kind == "seq":
        return [_naive_item(item) for item in value]
    parse = PARSERS[spec.kind]
    parsed = [None if v is None else parse(v) for v in value]
    parsed = [None if p is INVALID else p for p in parsed]
    return parsed if spec.multi else parsed[0]


def _naive_item(item: dict) -> dict:
    row = {}
    for key, elem in item.items():
        spec = spec_for_key(key)
        if spec.category == "typed" and elem.get("Value"):
            row[spec.keyword] = _naive_value(spec, elem["Value"])
    return row


def naive_convert(entries: list[ChangeFeedEntry]) -> pa.Table:
    """The baseline: walk each instance's dict into a row, then let Arrow infer the table."""
    rows = []
    for entry in entries:
        md = entry.metadata
        row = {
            "_sequence": entry.sequence,
            "_timestamp": entry.timestamp,
            "_action": entry.action.value,
            "StudyInstanceUID": entry.study_instance_uid,
            "SeriesInstanceUID": entry.series_instance_uid,
            "SOPInstanceUID": entry.sop_instance_uid,
        }
        for key, value in _naive_item(
            {k: v for k, v in md.items() if k not in IDENTITY_KEYS}
        ).items():
            row[key] = value
        row["_metadata"] = orjson.dumps(md).decode()
        rows.append(row)
    return pa.Table.from_pylist(rows)


def pydicom_convert(entries: list[ChangeFeedEntry]) -> pa.Table:
    """The other baseline the issue names: ``pydicom.Dataset.from_json`` per instance."""
    import pydicom

    rows = []
    for entry in entries:
        dataset = pydicom.Dataset.from_json(entry.metadata)
        row: dict[str, Any] = {"_sequence": entry.sequence, "_timestamp": entry.timestamp}
        for elem in dataset:
            if elem.VR not in ("SQ", "OB", "OW", "UN") and elem.keyword:
                value = elem.value
                row[elem.keyword] = (
                    [str(v) for v in value] if isinstance(value, list) else str(value)
                )
        row["_metadata"] = orjson.dumps(entry.metadata).decode()
        rows.append(row)
    return pa.Table.from_pylist(rows)


def timed(function: Callable[[], Any]) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def parse_floor_orjson(ndjson: list[bytes]) -> float:
    """CPU seconds of only parsing the JSON bytes into Python objects (GC paused, as the
    converter does): no converter that starts from Python dicts can beat this."""
    gc.disable()
    try:
        _, cpu, _ = timed(lambda: [orjson.loads(b) for b in ndjson])
    finally:
        gc.enable()
    return cpu


def parse_floor_duckdb(ndjson: list[bytes]) -> float:
    """CPU seconds of DuckDB's native JSON reader (yyjson) turning the NDJSON into raw
    ``struct<vr, Value>`` columns with a known schema: a native floor, before any typing."""
    import duckdb

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "instances.ndjson"
        path.write_bytes(b"\n".join(ndjson))
        connection = duckdb.connect()
        source = f"read_json('{path}', format='newline_delimited', maximum_object_size=1e8"
        described = connection.sql(
            f"DESCRIBE SELECT * FROM {source}, sample_size=-1, map_inference_threshold=-1)"
        ).fetchall()
        columns = "{" + ", ".join(f"'{name}': '{type_}'" for name, type_, *_ in described) + "}"
        _, cpu, _ = timed(
            lambda: connection.sql(f"SELECT * FROM {source}, columns={columns})").to_arrow_table()
        )
        connection.close()
    return cpu


def _odd_text(metadata: dict) -> bytes:
    thickness = metadata["00180050"]["Value"][0]
    return orjson.dumps({**metadata, "00180050": {"vr": "DS", "Value": [str(thickness)]}})


def _odd_comma(metadata: dict) -> bytes:
    thickness = str(float(metadata["00180050"]["Value"][0])).replace(".", ",")
    return orjson.dumps({**metadata, "00180050": {"vr": "DS", "Value": [thickness]}})


def _odd_duplicate(metadata: dict) -> bytes:
    payload = orjson.dumps(metadata)
    return payload[:-1] + b',"00080060":{"vr":"CS","Value":["CT"]}}'  # a second Modality


# (name, the odd payload of an instance, whether the shredder sets it aside)
ODD_VALUES: list[tuple[str, Callable[[dict], bytes], bool]] = [
    ("DS as JSON string", _odd_text, False),
    ("DS with decimal comma", _odd_comma, False),
    ("duplicate key", _odd_duplicate, True),
]


def _with_odd_values(
    entries: list[ChangeFeedEntry], metadatas: list[dict], odd: Callable[[dict], bytes], batch: int
) -> list[list[ChangeFeedEntry]]:
    """The entries in batches, every 100th (from the 50th) with ``odd``'s payload."""
    changed = [
        dataclasses.replace(e, metadata=odd(md)) if i % 100 == 50 else e
        for i, (e, md) in enumerate(zip(entries, metadatas))
    ]
    return [changed[i : i + batch] for i in range(0, len(changed), batch)]


def _paired_odd(
    byte_batches: list[list[ChangeFeedEntry]], odd: Callable[[dict], bytes], metadatas: list[dict]
) -> tuple[float, float, int]:
    """CPU seconds of the plain batches and of the same batches with odd values, and the rows
    the Python path converted. Each odd batch is timed right after its plain twin, best of
    three per batch: on a shared machine the load drifts within a run more than 20 %."""
    entries = [e for b in byte_batches for e in b]
    odd_batches = _with_odd_values(entries, metadatas, odd, len(byte_batches[0]))
    plain_best = [float("inf")] * len(byte_batches)
    odd_best = [float("inf")] * len(byte_batches)
    python_rows = 0
    for _ in range(3):
        python_rows = 0
        for i, (plain_batch, odd_batch) in enumerate(zip(byte_batches, odd_batches)):
            _, plain_cpu, _ = timed(lambda b=plain_batch: convert_entries(b))
            result, odd_cpu, _ = timed(lambda b=odd_batch: convert_entries(b))
            plain_best[i] = min(plain_best[i], plain_cpu)
            odd_best[i] = min(odd_best[i], odd_cpu)
            python_rows += result.rows_by_reader.get("python", 0)
    return sum(plain_best), sum(odd_best), python_rows


def throughput(instances: int, batch: int) -> dict[str, float]:
    metadatas = list(synthetic_instances(instances))
    entries = entries_for(metadatas)
    ndjson = [orjson.dumps(md) for md in metadatas]
    batches = [entries[i : i + batch] for i in range(0, len(entries), batch)]
    convert_entries(batches[0][:200])  # warm caches (dictionary look-ups, imports)
    tables, cpu, wall = timed(lambda: [convert_entries(b).table for b in batches])
    small = [entries[i : i + 1000] for i in range(0, len(entries), 1000)]
    _, small_cpu, _ = timed(lambda: [convert_entries(b) for b in small])
    naive_count = min(instances, 5000)
    _, naive_cpu, naive_wall = timed(lambda: naive_convert(entries[:naive_count]))
    _, dumps_cpu, _ = timed(lambda: [orjson.dumps(md) for md in metadatas])
    pydicom_count = min(instances, 1000)
    _, pydicom_cpu, _ = timed(lambda: pydicom_convert(entries[:pydicom_count]))

    parse_cpu = parse_floor_orjson(ndjson)
    duckdb_cpu = parse_floor_duckdb(ndjson)

    # Bytes in -> table out, as the issue defines conversion: entries carry the JSON bytes.
    byte_entries = [dataclasses.replace(e, metadata=b) for e, b in zip(entries, ndjson)]
    byte_batches = [byte_entries[i : i + batch] for i in range(0, len(byte_entries), batch)]
    native = native_code.available()
    if native:
        convert_entries(byte_batches[0][:200])
    native_tables, native_cpu, native_wall = timed(
        lambda: [convert_entries(b).table for b in byte_batches]
    )
    assert all(t.num_rows == len(b) for t, b in zip(native_tables, byte_batches))
    del native_tables
    # Again: the first pass also pays the page faults of the heap growing to a batch's size.
    _, native_again_cpu, _ = timed(lambda: [convert_entries(b).table for b in byte_batches])
    _, shred_cpu, _ = timed(
        lambda: (
            [shredded.Shredded([e.metadata for e in b], ConversionOptions()) for b in byte_batches]
            if native
            else None
        )
    )
    _, bytes_cpu, bytes_wall = timed(
        lambda: [convert_entries(b, ConversionOptions(native=False)) for b in byte_batches]
    )
    # One odd value per 100 instances, three kinds: a DS written as a JSON string (valid, as
    # some servers write it) and a decimal comma (invalid) are read natively; a duplicate key
    # sets the instance aside for the Python path (per instance: the rest stays native).
    odd = {
        kind: _paired_odd(byte_batches, odd_payload, metadatas)
        for kind, odd_payload, _ in ODD_VALUES
    }
    for kind, _, set_aside in ODD_VALUES:
        expected = len(byte_entries) // 100 if set_aside else 0
        assert odd[kind][2] == expected, (kind, odd[kind][2])
    deid = deidentified_throughput(byte_batches)

    def naive_from_bytes() -> pa.Table:
        gc.disable()  # as the converter does: GC passes over fresh objects cost more than parsing
        try:
            parsed = [orjson.loads(e.metadata) for e in byte_entries[:naive_count]]
        finally:
            gc.enable()
        return naive_convert(entries_for(parsed))

    _, naive_bytes_cpu, _ = timed(naive_from_bytes)
    return {
        "instances": instances,
        "batch": batch,
        "attributes_per_instance": sum(len(md) for md in metadatas) / instances,
        "json_bytes_per_instance": sum(len(b) for b in ndjson) / instances,
        "convert_per_s_cpu": instances / cpu,
        "convert_per_s_wall": instances / wall,
        "convert_per_s_cpu_batches_of_1000": instances / small_cpu,
        "naive_per_s_cpu": naive_count / naive_cpu,
        "naive_per_s_wall": naive_count / naive_wall,
        "speedup_vs_naive_cpu": (instances / cpu) / (naive_count / naive_cpu),
        "pydicom_from_json_per_s_cpu": pydicom_count / pydicom_cpu,
        "speedup_vs_pydicom_from_json_cpu": (instances / cpu) / (pydicom_count / pydicom_cpu),
        "convert_cost_in_orjson_dumps": cpu / dumps_cpu,
        "native_shredder_built": native,
        "bytes_in_per_s_cpu (native shredder)": instances / native_cpu,
        "bytes_in_per_s_wall (native shredder)": instances / native_wall,
        "bytes_in_per_s_cpu (native shredder, second pass)": instances / native_again_cpu,
        "shredder_alone_per_s_cpu": instances / shred_cpu if native else 0.0,
        **{
            f"bytes_in_per_s_cpu (native, one {kind} per 100 instances)": instances / odd_cpu
            for kind, (_, odd_cpu, _) in odd.items()
        },
        **{
            f"odd_batch_speed_vs_native_paired ({kind})": plain_cpu / odd_cpu
            for kind, (plain_cpu, odd_cpu, _) in odd.items()
        },
        "bytes_in_per_s_cpu (python path: orjson + dicts)": instances / bytes_cpu,
        "bytes_in_per_s_wall (python path: orjson + dicts)": instances / bytes_wall,
        "naive_bytes_in_per_s_cpu (orjson.loads + dict walk)": naive_count / naive_bytes_cpu,
        "speedup_bytes_in_vs_naive_bytes_in_cpu": (instances / native_cpu)
        / (naive_count / naive_bytes_cpu),
        "speedup_bytes_in_vs_naive_dict_walk_cpu": (instances / native_cpu)
        / (naive_count / naive_cpu),
        **deid,
        "parse_floor_orjson_loads_gc_paused_per_s_cpu": instances / parse_cpu,
        "parse_floor_duckdb_read_json_per_s_cpu": instances / duckdb_cpu,
        "tables": tables,
        "ndjson": ndjson,
    }


def deidentified_throughput(byte_batches: list[list[ChangeFeedEntry]]) -> dict[str, float]:
    """JSON bytes in -> table out with DICOM_DEIDENTIFY=off and =basic, alternating, best of
    three each (the machine is shared). Each basic pass starts with a new key's empty caches,
    as a sync meeting new instances does: every distinct UID costs its HMAC."""
    instances = sum(len(b) for b in byte_batches)
    key = "bench-key-" + "k" * 40
    off, basic = [], []
    for _ in range(3):
        off.append(timed(lambda: [convert_entries(b) for b in byte_batches])[1])
        deidentifier = Deidentifier(DeidSettings.parse("basic", "", key))
        options = ConversionOptions(deidentifier=deidentifier)
        basic.append(timed(lambda o=options: [convert_entries(b, o) for b in byte_batches])[1])
    native_share = deidentifier.native_share
    sample = byte_batches[0][:1000]
    deidentifier = Deidentifier(DeidSettings.parse("basic", "", key))
    reference_cpu = timed(lambda: deidentifier.entries(sample, native=False))[1]
    return {
        "bytes_in_per_s_cpu (DICOM_DEIDENTIFY=off)": instances / min(off),
        "bytes_in_per_s_cpu (DICOM_DEIDENTIFY=basic, native pass)": instances / min(basic),
        "deidentify_basic_vs_off (>= 0.7)": min(off) / min(basic),
        "deidentify_native_share_of_payloads": native_share,
        "deidentify_reference_path_alone_per_s_cpu": len(sample) / reference_cpu,
    }


def sizes(instances: int, workdir: Path) -> dict[str, float]:
    """Bytes per instance of the files the lake writes for one window synced in full: batches of
    the lake's DICOM_BATCH_SIZE, grouped into part files of ROW_GROUP_ROWS rows, written by the
    lake's own writer with the lake's Parquet options."""
    metadatas = list(synthetic_instances(instances))
    ndjson = b"\n".join(orjson.dumps(md) for md in metadatas)
    entries = entries_for(metadatas)
    del metadatas
    batch = int(DEFAULTS["DICOM_BATCH_SIZE"])
    converted = [convert_entries(entries[i : i + batch]) for i in range(0, len(entries), batch)]
    fs = LocalFileSystem()

    def lake_bytes(drop_metadata: bool) -> int:
        total = 0
        for index, group in enumerate(grouped_by_rows(iter(converted), ROW_GROUP_ROWS)):
            table = one_table([b.table for b in group])
            if drop_metadata:
                table = table.drop_columns(["_metadata"])
            total += write_parquet_atomically(fs, f"{workdir}/part-{index}.parquet", table)
        return total

    with_metadata, without_metadata = lake_bytes(False), lake_bytes(True)
    # What a near-real-time sensor run writes: a delta file of a few changes.
    small_file = write_parquet_atomically(fs, f"{workdir}/delta.parquet", converted[0].table[:10])
    floor = len(pa.Codec("zstd", compression_level=3).compress(ndjson))
    floor_same_level = len(pa.Codec("zstd", compression_level=METADATA_ZSTD_LEVEL).compress(ndjson))
    return {
        "parquet_bytes_per_instance_with_metadata": with_metadata / instances,
        "parquet_bytes_per_instance_without_metadata": without_metadata / instances,
        "ndjson_zstd3_bytes_per_instance (floor)": floor / instances,
        "with_metadata_vs_floor": with_metadata / floor,
        f"ndjson_zstd{METADATA_ZSTD_LEVEL}_bytes_per_instance": floor_same_level / instances,
        f"with_metadata_vs_zstd{METADATA_ZSTD_LEVEL}_ndjson": with_metadata / floor_same_level,
        "parquet_bytes_per_instance_in_a_delta_file_of_10": small_file / 10,
    }


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM rather than ru_maxrss: Linux carries ru_maxrss over
    fork+exec, so a child would report its (larger) parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(instances: int, batch: int, outdir: str, as_bytes: bool) -> None:
    """Convert ``instances`` lazily in batches and write them as the lake does (part files of
    ROW_GROUP_ROWS rows); print the peak RSS. ``as_bytes``: entries carry JSON bytes, as the
    Orthanc source hands them (native path), else parsed dicts (dict path)."""
    stream = synthetic_instances(instances)
    started = time.perf_counter()

    def converted():
        written = 0
        while written < instances:
            chunk = [md for _, md in zip(range(batch), stream)]
            entries = entries_for(chunk, written)
            if as_bytes:
                entries = [
                    dataclasses.replace(e, metadata=orjson.dumps(e.metadata)) for e in entries
                ]
            del chunk
            yield convert_entries(entries)
            written += len(entries)

    fs, rows = LocalFileSystem(), 0
    for index, group in enumerate(grouped_by_rows(converted(), ROW_GROUP_ROWS)):
        table = one_table([b.table for b in group])
        write_parquet_atomically(fs, f"{outdir}/part-{index:04d}.parquet", table)
        rows += table.num_rows
    print(
        json.dumps(
            {
                "instances": rows,
                "peak_rss_mib": peak_rss_mib(),
                "seconds": time.perf_counter() - started,
            }
        )
    )


def peak_rss(instances: int, batch: int) -> dict[str, float]:
    figures: dict[str, float] = {"rss_instances": instances, "rss_batch": batch}
    for path in ("bytes", "dicts"):
        with tempfile.TemporaryDirectory() as outdir:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--rss-child",
                    str(instances),
                    "--batch",
                    str(batch),
                    "--outdir",
                    outdir,
                    *(["--rss-bytes"] if path == "bytes" else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            files = list(Path(outdir).glob("*.parquet"))
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        assert rows == instances, (rows, instances)
        figures[f"rss_files ({path} in)"] = len(files)
        figures[f"peak_rss_mib ({path} in)"] = result["peak_rss_mib"]
        figures[f"rss_run_per_s_wall ({path} in)"] = instances / result["seconds"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rss-instances", type=int, default=100_000)
    # The lake's default batch (DICOM_BATCH_SIZE): Python dicts of DICOM JSON take ~150 KiB
    # per instance, so batches bound the memory.
    parser.add_argument("--rss-batch", type=int, default=int(DEFAULTS["DICOM_BATCH_SIZE"]))
    parser.add_argument("--rss-child", type=int)
    parser.add_argument("--outdir")
    parser.add_argument("--rss-bytes", action="store_true")
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.batch, args.outdir, args.rss_bytes)
        return
    figures = throughput(args.instances, args.batch)
    del figures["tables"], figures["ndjson"]
    with tempfile.TemporaryDirectory() as workdir:
        figures.update(sizes(args.instances, Path(workdir)))
    if args.rss_instances:
        figures.update(peak_rss(args.rss_instances, args.rss_batch))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(
            f"{key:<{width}}  {value:,.2f}"
            if isinstance(value, float)
            else f"{key:<{width}}  {value}"
        )


if __name__ == "__main__":
    main()
