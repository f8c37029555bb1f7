"""``make fuzz``: every target fuzzed in turn with the sanitized extensions, for a set time.

With gcc, libFuzzer's coverage and AddressSanitizer do not mix: libasan, which must be loaded
first, also defines libFuzzer's coverage hooks, and atheris's own libFuzzer then sees no
coverage at all (it warns so and fuzzes blind). So each target is fuzzed, coverage-guided, with
the UndefinedBehaviorSanitizer build, and every input it keeps (its whole corpus: seeds,
regressions and the new ones) is then replayed with the AddressSanitizer build, the bytes'
trailing NUL poisoned. (With clang one would use atheris's asan_with_fuzzer instead.)

Usage: python -m dicom_assets_tests.fuzz.run [--seconds N] [TARGET ...] (run with atheris
installed: the Makefile adds ``atheris==2.3.0`` with ``uv run --with``, outside the lock).
Each target starts from its seeds and its regression corpus, with the JSON dictionary; new
coverage goes to ``build/fuzz/<target>/``, crashes to ``build/fuzz/artifacts/``. Prints (and
writes to ``build/fuzz/report.md``) the executions per target; exits 1 on any finding. An input
that found a bug belongs in ``corpus/<target>/`` once fixed: ``make test`` replays it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from dicom_assets_tests.fuzz import sanitizer
from dicom_assets_tests.fuzz.targets import TARGETS

HERE = Path(__file__).parent
WORK = sanitizer.ROOT / "build" / "fuzz"


def _existing(*folders: Path) -> list[str]:
    """The folders that exist: libFuzzer exits at once on a missing corpus folder (a target
    with no regression input yet has none: git keeps no empty folder)."""
    return [str(folder) for folder in folders if folder.is_dir()]


def _python(build: str, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` from the project root with the ``build`` extensions (ubsan or
    asan) loaded; its output captured, its exit status for the caller to judge."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=sanitizer.ROOT,
        env=sanitizer.environment(build),
        capture_output=True,
        text=True,
        check=False,
    )


def fuzz(target: str, seconds: int) -> dict[str, str]:
    corpus = WORK / target
    artifacts = WORK / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run = _python(
        "ubsan",
        "dicom_assets_tests.fuzz.fuzz",
        target,
        f"-max_total_time={seconds}",
        f"-dict={HERE / 'dicom_json.dict'}",
        "-max_len=16384",
        "-timeout=60",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/{target}-",
        str(corpus),
        *_existing(HERE / "seeds" / target, HERE / "corpus" / target),
    )
    replay = _python(
        "asan",
        "dicom_assets_tests.fuzz.replay",
        target,
        str(corpus),
        str(HERE / "seeds" / target),
        str(HERE / "corpus" / target),
        str(artifacts),
    )
    output = run.stdout + run.stderr + "\n--- ASan replay ---\n" + replay.stdout + replay.stderr
    replayed = re.findall(r"replayed (\d+) inputs", replay.stdout)
    (WORK / f"{target}.log").write_text(output)
    executions = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    findings = [
        line
        for line in output.splitlines()
        if any(m in line for m in (*sanitizer.REPORT_MARKERS, "==ERROR", "Uncaught"))
    ]
    return {
        "target": target,
        "seconds": f"{time.monotonic() - started:.0f}",
        "executions": executions[-1] if executions else "?",
        "corpus": str(len(list(corpus.iterdir()))),
        "replayed under ASan": replayed[-1] if replayed else "?",
        "result": "nothing found"
        if run.returncode == replay.returncode == 0 and not findings
        else f"FINDING (exit {run.returncode}/{replay.returncode}): {findings[:1]}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    args = parser.parse_args()
    sanitizer.build("ubsan")
    sanitizer.build("asan")
    rows = [fuzz(target, args.seconds) for target in args.targets]
    lines = [
        (
            "| target | seconds | executions (UBSan, coverage-guided) | corpus files | "
            "replayed under ASan | result |"
        ),
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['target']} | {r['seconds']} | {r['executions']} | {r['corpus']} | "
        f"{r['replayed under ASan']} | {r['result']} |"
        for r in rows
    ]
    report = "\n".join(lines)
    (WORK / "report.md").write_text(report + "\n")
    print(report)
    sys.exit(0 if all(r["result"] == "nothing found" for r in rows) else 1)


if __name__ == "__main__":
    main()
