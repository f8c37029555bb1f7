"""Benchmark of a custom table's materialization (``make bench-custom``).

A change log holding one window of N synthetic CT/MR instances (bench/schema_corpus.py, ~150
attributes, sequences and a private block each) is written as the product writes it. Then, each
in a fresh process (so that peak RSS is the work's own):

- ``custom``: what ``dicom_custom_<name>`` does for that window with a 12-column template (keyword,
  ``[n]``, ``[*]``, sequence items, PN groups, a tag, a ``where``): read the window's needed
  columns from the Delta change log, derive, commit one predicate overwrite;
- ``custom + private``: the same with two more columns read from ``_private``;
- baselines measured in the same run: ``read all columns`` (reading the whole window, what a
  derivation that does not select columns would pay before any work) and ``naive per row`` (the
  same 12 columns derived by a Python loop over ``to_pylist()`` rows of the needed columns).

Prints instances/s (wall clock, inside the process) and peak RSS (VmHWM) of each.

Usage: uv run python bench/bench_custom.py [--instances N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schema_corpus import synthetic_instances

TEMPLATE = """\
description: Bench, 12 columns.
where:
  Modality: [CT, MR]
columns:
  kvp: KVP
  slice_thickness: SliceThickness
  row_spacing: PixelSpacing[0]
  image_types: ImageType[*]
  region: AnatomicRegionSequence[0].CodeValue
  region_meanings: AnatomicRegionSequence[*].CodeMeaning
  family_name: PatientName.Alphabetic
  scanner: (0018,1000)
  operators: OperatorsName.Alphabetic
  study_date: StudyDate
  model: ManufacturerModelName
  body_part: BodyPartExamined
"""
PRIVATE = """\
  table_position:
    path: (0019,"ACME_ACQU_01",20)
    vr: DS
  recon: (0043,"ACME_PARM_01",30)
"""
PARTITION = "2026-11-24-10:00"
T0 = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)


def entries_for(metadatas: list[dict], first: int) -> list:
    """Creates 30 ms apart from the start of PARTITION (100,000 fit in its hour)."""
    from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry

    def uid(md: dict, key: str) -> str:
        return md[key]["Value"][0]

    return [
        ChangeFeedEntry(
            sequence=i + 1,
            timestamp=T0 + dt.timedelta(milliseconds=30 * i),
            action=ChangeAction.CREATE,
            study_instance_uid=uid(md, "0020000D"),
            series_instance_uid=uid(md, "0020000E"),
            sop_instance_uid=uid(md, "00080018"),
            metadata=md,
        )
        for i, md in enumerate(metadatas, start=first)
    ]


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def build_lake(lake_url: str, instances: int, batch: int = 2000) -> None:
    """One window of ``instances`` changes, converted and committed as a sync does."""
    from dicom_assets.lake.change_log import write_window
    from dicom_assets.resources import LakeResource
    from dicom_assets.schema import convert_entries

    stream = synthetic_instances(instances)

    def tables():
        done = 0
        while done < instances:
            chunk = [md for _, md in zip(range(batch), stream)]
            yield convert_entries(entries_for(chunk, done)).table
            done += len(chunk)

    write_window(LakeResource(url=lake_url).table(), PARTITION, tables(), "overwrite")


def child(kind: str, lake_url: str) -> None:
    from dicom_assets.custom import parse_template
    from dicom_assets.custom.lake_io import rebuild_windows
    from dicom_assets.lake.change_log import read_window
    from dicom_assets.partitions import window_of
    from dicom_assets.resources import LakeResource

    lake = LakeResource(url=lake_url)
    text = TEMPLATE + (PRIVATE if kind == "custom + private" else "")
    template = parse_template(text, "bench.yaml", "bench")
    started = time.perf_counter()
    phases: dict[str, float] = {}
    if kind.startswith("custom"):
        written = rebuild_windows(lake, template, [PARTITION], *window_of(PARTITION))
        rows, read, phases = written.summary.rows, written.changes_read, written.seconds
    elif kind == "read all columns":
        table = read_window(lake, PARTITION)
        rows, read = 0, table.num_rows
    else:
        rows, read = naive(read_window(lake, PARTITION, template.source_columns()))
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "rows": rows,
                "read": read,
                "peak_rss_mib": peak_rss_mib(),
                "phases": phases,
            }
        )
    )


def naive(table) -> tuple[int, int]:
    """The template's columns by a Python loop over rows (the obvious implementation)."""
    out = []
    for row in table.to_pylist():
        if row.get("Modality") not in ("CT", "MR") and row["_action"] != "delete":
            continue
        spacing, image_type = row.get("PixelSpacing"), row.get("ImageType")
        regions = row.get("AnatomicRegionSequence") or []
        name, operators = row.get("PatientName"), row.get("OperatorsName")
        out.append(
            {
                "kvp": row.get("KVP"),
                "slice_thickness": row.get("SliceThickness"),
                "row_spacing": spacing[0] if spacing else None,
                "image_types": image_type,
                "region": regions[0].get("CodeValue") if regions else None,
                "region_meanings": [r.get("CodeMeaning") for r in regions] or None,
                "family_name": name["Alphabetic"] if name else None,
                "scanner": row.get("DeviceSerialNumber"),
                "operators": [o["Alphabetic"] if o else None for o in operators]
                if operators
                else None,
                "study_date": row.get("StudyDate"),
                "model": row.get("ManufacturerModelName"),
                "body_part": row.get("BodyPartExamined"),
            }
        )
    return len(out), table.num_rows


def run(kind: str, lake_url: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--lake", lake_url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--child")
    parser.add_argument("--lake", help="reuse (or keep) the change log in this folder")
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.lake)
        return
    with tempfile.TemporaryDirectory() as folder:
        lake_url = arguments.lake or str(Path(folder) / "lake")
        if not (Path(lake_url) / "result" / "Dicom" / "_delta_log").exists():
            started = time.perf_counter()
            build_lake(lake_url, arguments.instances)
            print(
                f"change log of {arguments.instances:,} instances in one window written in "
                f"{time.perf_counter() - started:.1f} s"
            )
        for kind in ("custom", "custom + private", "read all columns", "naive per row"):
            result = run(kind, lake_url)
            assert result["read"] == arguments.instances, result
            rate = arguments.instances / result["seconds"]
            phases = ", ".join(f"{k} {v:.2f} s" for k, v in result["phases"].items())
            print(
                f"{kind:18s} {rate:>10,.0f} instances/s  {result['seconds']:6.2f} s  "
                f"peak RSS {result['peak_rss_mib']:6.0f} MiB  rows out {result['rows']:,}"
                + (f"  ({phases})" if phases else "")
            )


if __name__ == "__main__":
    main()
