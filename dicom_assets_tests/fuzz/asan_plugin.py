"""pytest plugin (``-p dicom_assets_tests.fuzz.asan_plugin``): the session converts with the
sanitized extensions (see sanitizer.py); test_sanitized.py starts such a session."""

from dicom_assets_tests.fuzz import sanitizer


def pytest_configure(config) -> None:
    sanitizer.install()


def pytest_terminal_summary(terminalreporter) -> None:
    calls = ", ".join(f"{name} {count}" for name, count in sanitizer.CALLS.items())
    terminalreporter.write_line(f"sanitized extensions called: {calls}")
