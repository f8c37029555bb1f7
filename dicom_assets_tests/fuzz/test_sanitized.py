"""The regression corpus and the native-vs-Python property tests, run against the extensions
built with AddressSanitizer and UndefinedBehaviorSanitizer, every input's trailing NUL poisoned
(see sanitizer.py). Any sanitizer report fails the test. About a minute and a half on 2 cores."""

import re
import subprocess
import sys

from dicom_assets_tests.fuzz import sanitizer

INNER_TESTS = [
    "dicom_assets_tests/fuzz/test_corpus.py",
    "dicom_assets_tests/schema/test_shredded.py",
    "dicom_assets_tests/schema/test_shredded_regressions.py",
    "dicom_assets_tests/deid/test_native.py",
    "dicom_assets_tests/deid/test_fuzz_deid.py",
]


def test_corpus_and_property_tests_are_clean_under_sanitizers():
    sanitizer.build()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "dicom_assets_tests.fuzz.asan_plugin",
            *INNER_TESTS,
        ],
        cwd=sanitizer.ROOT,
        env=sanitizer.environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = run.stdout + run.stderr
    reports = [
        line
        for line in output.splitlines()
        if any(marker in line for marker in sanitizer.REPORT_MARKERS)
    ]
    assert not reports, output[-8000:]
    assert run.returncode == 0, output[-8000:]
    called = re.search(
        r"sanitized extensions called: shred (\d+), split (\d+), temporal (\d+), deid (\d+)",
        run.stdout,
    )
    assert called and all(int(n) > 0 for n in called.groups()), run.stdout[-2000:]
