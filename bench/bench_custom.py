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

What is timed is the window's work only: read + derive + write, from the call to the commit.
Process start and imports (dagster, pyarrow, deltalake, pydicom: seconds here, where Python has
no cached bytecode) are timed apart and not counted: a run worker pays them once per run, and a
backfill derives every window of its range in that one run. The derivations run twice in their
process: the first call (cold: what a fresh run worker does, counted) and a second (warm).
Prints instances/s (wall clock), the CPU seconds of the process over the same span (all threads:
on a loaded machine wall clock grows with the load, CPU time much less), peak RSS (VmHWM) of
each, and the load average before and after.

Usage: uv run python bench/bench_custom.py [--instances N] [--lake FOLDER]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
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
    """One measurement in this fresh process: imports first (timed apart: a run worker imports
    the code location once per run, whatever the number of windows), then the window's work."""
    imported = time.perf_counter()
    from dicom_assets.custom import parse_template
    from dicom_assets.lake.change_log import read_window
    from dicom_assets.resources import LakeResource

    lake = LakeResource(url=lake_url)
    text = TEMPLATE + (PRIVATE if kind == "custom + private" else "")
    template = parse_template(text, "bench.yaml", "bench")
    result = {"imports": time.perf_counter() - imported, "imports_rss_mib": peak_rss_mib()}
    if kind.startswith("custom"):
        result |= {"runs": [derive_window(lake, template) for _ in range(2)]}
    else:
        started, cpu = time.perf_counter(), time.process_time()
        if kind == "read all columns":
            rows, read = 0, read_window(lake, PARTITION).num_rows
        else:
            rows, read = naive(read_window(lake, PARTITION, template.source_columns()))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        result |= {"runs": [{"seconds": seconds, "cpu": cpu, "rows": rows, "read": read}]}
    print(json.dumps(result | {"peak_rss_mib": peak_rss_mib()}))


def derive_window(lake, template) -> dict:
    """What ``dicom_custom_<name>`` does for the window: read, derive, commit (wall and CPU)."""
    from dicom_assets.custom.lake_io import rebuild_windows
    from dicom_assets.partitions import window_of

    started, cpu = time.perf_counter(), time.process_time()
    written = rebuild_windows(lake, template, *window_of(PARTITION))
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rows": written.summary.rows,
        "read": written.changes_read,
        "phases": written.seconds,
    }


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
        # Every run starts from no custom table (a reused --lake keeps only the change log): the
        # first derivation creates the table, the second overwrites its window, as re-runs do.
        shutil.rmtree(Path(lake_url) / "result" / "Dicom_Customized", ignore_errors=True)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for kind in ("custom", "custom + private", "read all columns", "naive per row"):
            report(kind, run(kind, lake_url), arguments.instances)
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report(kind: str, result: dict, instances: int) -> None:
    """One line per run: the first (cold, as in a fresh run worker) and, for the derivations,
    a second in the same process (warm: kernels loaded, memory pools grown)."""
    for number, run_ in enumerate(result["runs"]):
        assert run_["read"] == instances, result
        label = kind if number == 0 else "  same, again (warm)"
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in run_.get("phases", {}).items())
        print(
            f"{label:22s} {instances / run_['seconds']:>9,.0f} instances/s  "
            f"{run_['seconds']:5.2f} s (CPU {run_['cpu']:5.2f} s)  rows out {run_['rows']:,}"
            + (f"  ({phases})" if phases else "")
        )
    print(
        f"{'':22s} peak RSS {result['peak_rss_mib']:,.0f} MiB (after imports "
        f"{result['imports_rss_mib']:,.0f} MiB; imports {result['imports']:.1f} s, not counted)"
    )


if __name__ == "__main__":
    main()
