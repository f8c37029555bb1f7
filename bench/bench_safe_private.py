"""What ``retain-safe-private`` costs (docs/performance.md, "De-identification: safe private").

JSON bytes in -> table out for the schema corpus (bench/schema_corpus.py: every instance carries
a vendor private block, creators ``ACME_ACQU_01``/``ACME_PARM_01``, which Table E.3.10-1 does
not list), in the same run, passes alternated, best of three, CPU seconds of the process:

- ``DICOM_DEIDENTIFY=off``; ``basic``; ``basic`` + ``retain-safe-private``;
- ``basic`` + ``retain-safe-private`` on the same corpus with its first creator renamed
  ``GEMS_ACQU_01`` (listed), as a GE scanner's instances are: those go to the reference path.

Each basic pass starts with a new key's empty caches, as a sync of new instances does.
Usage: uv run python bench/bench_safe_private.py [--instances N] [--batch B]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_schema import entries_for, timed
from schema_corpus import synthetic_instances

from dicom_assets.deid import Deidentifier, DeidSettings
from dicom_assets.schema import ConversionOptions, convert_entries

KEY = "bench-key-" + "k" * 40


def _batches(instances: int, batch: int, creator: bytes | None) -> list[list]:
    metadatas = list(synthetic_instances(instances))
    entries = []
    for entry, md in zip(entries_for(metadatas), metadatas, strict=True):
        payload = orjson.dumps(md)
        if creator is not None:
            payload = payload.replace(b'"ACME_ACQU_01"', creator)
        entries.append(dataclasses.replace(entry, metadata=payload))
    return [entries[i : i + batch] for i in range(0, len(entries), batch)]


def _pass(batches: list[list], options: str | None) -> tuple[float, float]:
    """CPU seconds of one conversion pass, and the share of payloads the native pass took."""
    if options is None:
        return timed(lambda: [convert_entries(b) for b in batches])[1], 0.0
    deidentifier = Deidentifier(DeidSettings.parse("basic", options, KEY))
    conversion = ConversionOptions(deidentifier=deidentifier)
    shares = []

    def run() -> None:
        for b in batches:
            convert_entries(b, conversion)
            shares.append(deidentifier.native_share)

    return timed(run)[1], sum(shares) / len(shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    acme = _batches(args.instances, args.batch, None)
    gems = _batches(args.instances, args.batch, b'"GEMS_ACQU_01"')
    variants = {
        "off": (acme, None),
        "basic": (acme, ""),
        "basic, retain-safe-private (no listed creator)": (acme, "retain-safe-private"),
        "basic, retain-safe-private (GEMS_ACQU_01 creator)": (gems, "retain-safe-private"),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(3):
        for name, (batches, options) in variants.items():
            cpu, share = _pass(batches, options)
            if name not in best or cpu < best[name][0]:
                best[name] = (cpu, share)
    off = best["off"][0]
    print(f"{args.instances} instances, batches of {args.batch}, best of 3 (CPU)")
    for name, (cpu, share) in best.items():
        print(
            f"{name:52} {args.instances / cpu:10,.0f} /s   vs off {off / cpu:5.2f}"
            f"   native share {share:4.0%}"
        )


if __name__ == "__main__":
    main()
